"""JobWizard: datasets by io's detection, forms from the workflow's schema, the workflow's
typed errors inline, a real job submitted with its monitor."""

from __future__ import annotations

import ipywidgets as W
import pytest

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.jobs import JobState, get_workflow, list_jobs
from promethium_lab.jobs.testing import poll
from promethium_lab.widgets import JobMonitor, JobWizard, find_datasets

DEADLINE_S = 60  # only a guard against hanging: never a speed assertion


def test_datasets_are_found_by_io_detection(survey_root):
    (survey_root / "lines").mkdir()
    (survey_root / "lines" / "line1.SGY").write_bytes(b"x" * 10)
    (survey_root / "notes.txt").write_text("not seismic")
    (survey_root / "half.zarr.partial").mkdir()  # an unfinished store
    (survey_root / ".hidden.sgy").write_bytes(b"x")
    found = {d.path.relative_to(survey_root).as_posix(): d.kind
             for d in find_datasets(survey_root)}
    assert found == {"full.zarr": "zarr", "holed.zarr": "zarr", "lines/line1.SGY": "segy"}
    labels = [d.label for d in find_datasets(survey_root)]
    assert "holed.zarr (Zarr store)" in labels


def test_the_form_is_the_workflows_schema(survey_root):
    wizard = JobWizard(root=survey_root, task="reconstruct")
    schema = get_workflow("reconstruct").parameter_schema()
    shown = set(schema["properties"]) - {"source", "method"}  # dataset and method pickers
    assert set(wizard.fields) == shown
    assert isinstance(wizard.fields["overlap"].widget, W.IntText)
    assert wizard.fields["overlap"].widget.value == schema["properties"]["overlap"]["default"]
    assert isinstance(wizard.fields["overwrite"].widget, W.Checkbox)
    assert wizard.fields["blind"].widget.options[0] == ("auto", "auto")  # bool | None
    blind = wizard.fields["blind"]  # None is the choice "auto", not an empty dropdown
    assert blind.widget.label == "auto" and blind.widget.index == 0
    wizard.set_params(blind=True)
    assert blind.widget.label == "yes" and blind.read() is True
    wizard.set_params(blind=None)
    assert blind.widget.label == "auto" and "blind" not in wizard.validate()[1]
    assert isinstance(wizard.fields["chunks"].widget, W.Text)  # tuple[int, ...] | None
    assert wizard.fields["out"].widget.description == "out"  # optional: in memory
    assert "auto" in wizard.method_w.options and "pocs" in wizard.method_w.options
    assert wizard.method_fields == {}  # auto has no parameters of its own
    wizard.select(method="pocs")
    assert {"n_iter", "schedule", "p_max", "window"} <= set(wizard.method_fields)
    assert "overlap" not in wizard.method_fields  # the workflow's own overlap wins
    assert wizard.dataset_w.value.endswith("full.zarr")

    wizard.select(task="ingest")
    assert set(wizard.fields) == set(get_workflow("ingest").parameter_schema()["properties"]) \
        - {"path"}
    assert wizard.fields["store"].widget.description == "store *"  # required
    assert wizard.fields["store"].widget.value.endswith("full.zarr")  # suggested output
    assert wizard.method_w.layout.display == "none"
    with pytest.raises(PromethiumError, match="unknown task"):
        wizard.select(task="dance")


def test_impossible_parameters_get_the_workflows_typed_errors(survey_root):
    wizard = JobWizard(root=survey_root, task="reconstruct", dataset=survey_root / "holed.zarr",
                       method="pocs")

    wizard.fields["chunks"].widget.value = "64, many"  # typed by hand: not JSON
    with pytest.raises(PromethiumError, match="chunks='64, many' is not JSON"):
        wizard.validate()
    wizard.set_params(chunks=[64, "many"])  # reconstruct's chunks: tuple[int, ...] | None
    with pytest.raises(PromethiumError) as info:
        wizard.validate()
    err = info.value
    assert err.code == ErrorCode.INVALID_PARAMETER
    assert "chunks[1]" in err.message and "valid integer" in err.message
    assert err.hint.startswith("chunks takes tuple[int, ...] | None")
    assert "PL-PARAM-001: reconstruct: chunks[1]" in wizard.fields["chunks"].error.value
    assert "Hint: chunks takes" in wizard.errors

    wizard.set_params(chunks=None)  # back to the default
    with pytest.raises(PromethiumError, match="p_max='high' is not a number"):
        wizard.set_params(p_max="high")  # a pocs parameter (a FloatText)
    wizard.fields["overlap"].widget.value = 4
    with pytest.raises(PromethiumError, match="schedule=3 is not one of the choices"):
        wizard.set_params(schedule=3)  # pocs' schedule: 'exponential' or 'linear'
    wizard.set_params(window="wide")  # pocs' window: int, list, dict or None
    with pytest.raises(PromethiumError, match="method pocs: window in 'wide'"):
        wizard.validate()
    assert "window takes" in wizard.method_fields["window"].error.value

    wizard.set_params(schedule="linear", window=[16, 32])
    wizard.select(executor="not an address")
    with pytest.raises(PromethiumError, match="is not like tcp://host:8786"):
        wizard.validate()
    wizard.select(executor="kernel")
    task, params, executor = wizard.validate()
    assert (task, executor) == ("reconstruct", "kernel")
    assert params == {"source": str(survey_root / "holed.zarr"), "method": "pocs",
                      "overlap": 4, "schedule": "linear", "window": [16, 32]}
    assert wizard.errors == ""

    # what only the job machinery knows: export takes no such parameter
    wizard.select(task="export", dataset=survey_root / "full.zarr")
    wizard.set_params(bogus=1)
    with pytest.raises(PromethiumError) as info:
        wizard.submit()
    assert info.value.code == ErrorCode.INVALID_PARAMETER
    assert "export takes no parameter(s) ['bogus']" in wizard.errors
    assert "Hint: its parameters" in wizard.errors
    assert list_jobs() == []  # refused before any job was created


def test_submit_runs_a_real_job_and_shows_its_monitor(survey_root, tmp_path):
    out = tmp_path / "filled.zarr"
    wizard = JobWizard(root=survey_root, dataset=survey_root / "holed.zarr",
                       method="linear", executor="kernel", params={"out": str(out)})
    job = wizard.submit()
    assert isinstance(wizard.monitor, JobMonitor)
    assert wizard.monitor_box.children == (wizard.monitor.box,)
    assert job.wait(DEADLINE_S) == JobState.COMPLETED
    assert job.record.parameters == {"source": str(survey_root / "holed.zarr"),
                                     "method": "linear", "out": str(out)}
    assert out.is_dir() and job.record.executor == "kernel"
    poll(lambda: wizard.monitor.state == "completed" or None, "the monitor", DEADLINE_S)
    assert wizard.monitor.can_compare
    wizard.submit_w.click()  # the button: a second job, same form
    assert wizard.job.id != job.id
    assert wizard.job.wait(DEADLINE_S) == JobState.FAILED  # out exists now
    assert wizard.job.error["code"] == ErrorCode.OUTPUT_EXISTS.value
    poll(lambda: wizard.monitor.error or None, "the error in the monitor", DEADLINE_S)
    assert wizard.monitor.error["hint"]


def test_no_dataset_is_a_typed_error(tmp_path):
    wizard = JobWizard(root=tmp_path)
    assert wizard.datasets == []
    with pytest.raises(PromethiumError) as info:
        wizard.submit()
    assert info.value.code == ErrorCode.PATH_NOT_FOUND
    assert "no dataset is selected" in wizard.errors
