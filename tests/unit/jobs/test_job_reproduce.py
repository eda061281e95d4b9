"""``jobs.reproduce_notebook``: the notebook that re-runs a completed job, its values and
where it writes, run here cell by cell (the report path, through a kernel, is in
tests/integration/test_reproduce.py); and the typed errors for jobs it cannot reproduce."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.jobs import JobState, reproduce_notebook, submit
from promethium_lab.workflows.reproduce import REPRODUCED_SUFFIX, reproduced_path, result_hash

DATA = Path(os.environ.get("PROMETHIUM_TEST_DATA", "/work/shared/data"))
F3 = DATA / "f3_missing_traces_ibm.sgy"
DEADLINE_S = 60


def run_cells(path: Path) -> dict:
    """Execute the notebook's code cells in order in one namespace (no kernel)."""
    nb = nbformat.read(path, as_version=4)
    ns: dict = {}
    for cell in nb.cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, f"{path.name}:{cell.id}", "exec"), ns)
    return ns


def completed(kind: str, store, **params):
    job = submit(kind, job_store=store, **params)
    assert job.wait(DEADLINE_S) == JobState.COMPLETED, job.error
    return job


def test_the_notebook_holds_the_jobs_values_and_reruns_it(batches_kind, store, tmp_path):
    out = tmp_path / "run" / "batches.out"
    job = completed(batches_kind, store, n_batches=3, batch_s=0.0, out=str(out))
    nb_path = reproduce_notebook(job.id, tmp_path / "nb", job_store=store)
    assert nb_path == tmp_path / "nb" / f"reproduce_{job.id}.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["promethium"] == {"reproduces": job.id}
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    values: dict = {}
    exec(tagged[0].source, values)  # literal values only: nothing imported
    assert values["job_id"] == job.id and values["kind"] == batches_kind
    assert values["target"] == "promethium_lab.jobs.testing:batches" == job.record.target
    assert values["params"] == job.record.parameters
    again = tmp_path / "run" / f"batches{REPRODUCED_SUFFIX}.out"
    assert values["changes"] == {"out": str(again)}  # batches takes no overwrite=
    assert values["original_output"] == str(out)
    assert values["original_hash"] == result_hash(out) != None  # noqa: E711

    before = {p.name: p.read_bytes() for p in out.iterdir()}
    ns = run_cells(nb_path)
    assert ns["matches"] is True
    assert ns["reproduced_hash"] == values["original_hash"]
    assert sorted(p.name for p in again.iterdir()) == ["batch_0.npy", "batch_1.npy",
                                                      "batch_2.npy"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the job's untouched
    # the same job gives the same notebook, byte for byte
    text = nb_path.read_text()
    assert reproduce_notebook(job.id, nb_path, job_store=store) == nb_path
    assert nb_path.read_text() == text


def test_a_mapping_result_is_compared_through_the_record(batches_kind, store, tmp_path):
    job = completed(batches_kind, store, n_batches=2, batch_s=0.0, preview=False)
    assert job.record.artifacts == {"batches": 2}
    nb_path = reproduce_notebook(job.id, tmp_path / "r.ipynb", job_store=store)
    assert nb_path == tmp_path / "r.ipynb"
    ns = run_cells(nb_path)
    assert ns["changes"] == {} and ns["original_output"] is None
    assert ns["original_hash"] == result_hash({"batches": 2}) == ns["reproduced_hash"]
    assert ns["matches"] is True


def test_outputs_can_go_to_another_folder(batches_kind, store, tmp_path):
    out = tmp_path / "b.out"
    job = completed(batches_kind, store, n_batches=1, batch_s=0.0, out=str(out))
    elsewhere = tmp_path / "reproduced" / "here"
    nb_path = reproduce_notebook(job.id, tmp_path, job_store=store, output_dir=elsewhere)
    ns = run_cells(nb_path)
    assert ns["changes"] == {"out": str(elsewhere / "b.reproduced.out")}
    assert ns["matches"] is True and (elsewhere / "b.reproduced.out").is_dir()
    assert reproduced_path("/x/filled.zarr") == Path("/x/filled.reproduced.zarr")
    assert reproduced_path("/x/out.sgy", "/y") == Path("/y/out.reproduced.sgy")
    assert reproduced_path("/x/folder") == Path("/x/folder.reproduced")


def test_a_reconstruction_of_real_data_reproduces_and_its_input_must_stay(store, tmp_path):
    source = Path(shutil.copy2(F3, tmp_path / "f3.sgy"))
    out = tmp_path / "filled.zarr"
    job = completed("reconstruct", store, source=str(source), out=str(out), method="linear",
                    blind=False)
    nb_path = reproduce_notebook(job.id, tmp_path / "nb", job_store=store)
    ns = run_cells(nb_path)
    assert ns["changes"] == {"out": str(tmp_path / "filled.reproduced.zarr"), "overwrite": True}
    assert ns["matches"] is True and ns["reproduced_hash"].startswith("sha256:")
    assert ns["facts"]["reconstruction"]["chosen"] == "linear"
    ns = run_cells(nb_path)  # again: it replaces its own output, never the job's
    assert ns["matches"] is True
    source.unlink()
    with pytest.raises(PromethiumError) as info:
        reproduce_notebook(job.id, tmp_path / "nb", job_store=store)
    assert info.value.code == ErrorCode.PATH_NOT_FOUND
    assert str(source) in info.value.message and info.value.hint


def test_a_job_given_a_dataset_cannot_be_reproduced(store, tmp_path):
    from promethium_lab.workflows.ingest import open_survey

    job = completed("reconstruct", store, source=open_survey(F3).load(), method="linear",
                    blind=False)
    with pytest.raises(PromethiumError) as info:
        reproduce_notebook(job.id, tmp_path, job_store=store)
    assert info.value.code == ErrorCode.INVALID_PARAMETER
    assert "Python object for 'source'" in info.value.message
    assert "path" in info.value.hint


def test_unknown_and_unfinished_jobs_are_typed_errors(batches_kind, store, tmp_path):
    with pytest.raises(PromethiumError) as info:
        reproduce_notebook("feedfacecafe", tmp_path, job_store=store)
    assert info.value.code == ErrorCode.JOB_NOT_FOUND
    queued = store.create(batches_kind, {"n_batches": 1})
    with pytest.raises(PromethiumError) as info:
        reproduce_notebook(queued.id, tmp_path, job_store=store)
    assert info.value.code == ErrorCode.JOB_NOT_COMPLETED
    assert "is queued, not completed" in info.value.message
    assert f"promethium-lab jobs show {queued.id}" in info.value.hint
    failed = submit(batches_kind, job_store=store, n_batches=2, batch_s=0.0, fail_at=0)
    assert failed.wait(DEADLINE_S) == JobState.FAILED
    with pytest.raises(PromethiumError) as info:
        reproduce_notebook(failed.id, tmp_path, job_store=store)
    assert info.value.code == ErrorCode.JOB_NOT_COMPLETED
    assert "is failed, not completed (PL-INT-001" in info.value.message
    assert list(tmp_path.glob("*.ipynb")) == []


def test_a_notebook_path_under_a_file_is_a_typed_error(batches_kind, store, tmp_path):
    job = completed(batches_kind, store, n_batches=1, batch_s=0.0, preview=False)
    (tmp_path / "file").write_text("")
    with pytest.raises(PromethiumError) as info:
        reproduce_notebook(job.id, tmp_path / "file" / "nb.ipynb", job_store=store)
    assert info.value.code == ErrorCode.BAD_OUTPUT_PATH
