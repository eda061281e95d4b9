"""The path matrix: every reconstruction method × every way a user runs it × three real
surveys with absent traces, each result exported to SEG-Y and read back with segyio.

Methods: each classical one, each deep one, and ``auto``. Paths:

* **memory** — ``workflows.reconstruct`` on the SEG-Y file opened lazily with xarray,
  exported with ``workflows.export``;
* **cli** — ``promethium-lab reconstruct store out.zarr`` then ``promethium-lab export``
  in subprocesses;
* **kernel** — a ``reconstruct`` job on the kernel executor, store to store;
* **dask** — the same job on a real ``LocalCluster`` (two worker processes, 127.0.0.1).

Surveys (all from ``../shared/data``, with traces absent from the file as a field survey
has them): a 2-D stacked line (F3 inline 105 as a CDP line, its first second, a third of
its CDPs missing), a 3-D cube (F3 with 175 of 414 traces missing) and pre-stack shot
gathers (two Viking Graben shots, their first 1.2 s, a quarter of the channels missing).

Every method runs on every survey in memory and as a kernel job. The CLI and Dask paths,
which cost a process start or a cluster round trip each, take every method once and every
survey with three or four methods (a Latin square: method *i* goes through the CLI on
survey *i* mod 3 and through Dask on survey *i* + 1 mod 3), so each method meets each
path and each survey meets each path without running the whole product.

Every exported file must hold one trace per grid cell in grid order, the live traces
byte for byte as in the source (header and samples), and filled traces whose headers
carry the cell's key values, the sample count and interval and the interpolated-trace
identification code. The paths taken must give the same samples.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import segyio
import xarray as xr
from _jobs_helpers import DEADLINE_S
from _seismic_helpers import DATA, cli_env, run_cli

from promethium_lab.io.segy_headers import INTERPOLATED_TRACE_ID
from promethium_lab.io.store import open_store
from promethium_lab.jobs import DaskExecutor, submit
from promethium_lab.workflows.export import export
from promethium_lab.workflows.reconstruct import reconstruct

pytestmark = pytest.mark.slow

CLASSICAL = ("pwd", "mssa", "pocs", "linear", "nearest", "sinc")
DEEP = ("unet", "autoencoder", "pinn")
METHODS = (*CLASSICAL, *DEEP, "auto")
SURVEYS = ("line", "cube", "gather")
PATHS = ("memory", "cli", "kernel", "dask")
#: auto's blind test with one hiding: the paths are what is tested here (auto's choice is
#: tested in tests/unit/signal/test_reconstruct_auto.py)
PARAMS = {"auto": {"hidings": 1}}


def paths_for(survey: str, method: str) -> tuple[str, ...]:
    """The paths a survey and method take: memory and kernel always; the CLI and Dask on
    one survey per method each (see the module docstring)."""
    i, j = METHODS.index(method), SURVEYS.index(survey)
    extra = {"cli": i % 3 == j, "dask": (i + 1) % 3 == j}
    return tuple(p for p in PATHS if extra.get(p, True))


# ----------------------------------------------------------------------------- surveys


def _subset(src: Path, dst: Path, keep: np.ndarray, ns: int, edit=None) -> None:
    """Copy the SEG-Y ``src`` keeping the traces ``keep`` and their first ``ns`` samples
    (raw bytes; sample counts set, headers edited by ``edit(traces)`` where given): a
    survey whose absent traces are absent from the file."""
    raw = src.read_bytes()
    with segyio.open(src, ignore_geometry=True) as f:
        n, itemsize = f.tracecount, 4
    size = (len(raw) - 3600) // n
    assert size * n == len(raw) - 3600
    traces = np.frombuffer(raw, np.uint8, offset=3600).reshape(n, size)[keep]
    traces = traces[:, : 240 + ns * itemsize].copy()
    traces[:, 114:116] = np.frombuffer(np.array(ns, ">i2").tobytes(), np.uint8)
    if edit is not None:
        edit(traces)
    binary = bytearray(raw[:3600])
    binary[3220:3222] = np.array(ns, ">i2").tobytes()
    dst.write_bytes(bytes(binary) + traces.tobytes())


def _put_i4(traces: np.ndarray, byte: int, values: np.ndarray) -> None:
    traces[:, byte - 1 : byte + 3] = (
        np.asarray(values, ">i4").view(np.uint8).reshape(-1, 4))


def _as_line(traces: np.ndarray) -> None:
    """F3 inline → a 2-D line: CDP number (bytes 21) = crossline, no 3-D keys."""
    xl = traces[:, 192:196].copy().view(">i4").ravel()
    _put_i4(traces, 21, xl)
    _put_i4(traces, 189, np.zeros(len(traces)))
    _put_i4(traces, 193, np.zeros(len(traces)))


@pytest.fixture(scope="module")
def surveys(tmp_path_factory) -> dict[str, dict[str, Path]]:
    """``{name: {"file": SEG-Y, "store": ingested store}}``, ingested through the CLI."""
    root = tmp_path_factory.mktemp("matrix")
    rng = np.random.default_rng(7)
    line_drop = rng.choice(np.arange(1, 99), 33, replace=False)  # inline 105: 100 CDPs
    _subset(DATA / "f3_2inlines_ibm.sgy", root / "line.sgy",
            np.setdiff1d(np.arange(100), line_drop), 256, _as_line)  # 0-1020 ms
    gather_drop = rng.choice(np.arange(240), 60, replace=False)  # shots 3 and 4
    _subset(DATA / "viking_graben_4shots_ibm.segy", root / "gather.sgy",
            np.setdiff1d(np.arange(240), gather_drop), 300)  # 0-1196 ms
    (root / "cube.sgy").write_bytes((DATA / "f3_missing_traces_ibm.sgy").read_bytes())
    out = {}
    env = cli_env(PROMETHIUM_DATA_DIR=str(root / "data"))
    for name, geometry in (("line", "poststack2d"), ("cube", "poststack3d"),
                           ("gather", "shot")):
        store = root / f"{name}.zarr"
        done = run_cli("ingest", root / f"{name}.sgy", store, env=env)
        assert done.returncode == 0, done.stderr
        ds = open_store(store)
        assert ds.attrs["geometry"] == geometry
        assert 0 < int(ds["trace_mask"].sum()) < ds["trace_mask"].size  # holes to fill
        out[name] = {"file": root / f"{name}.sgy", "store": store}
    return out


@pytest.fixture(scope="module")
def dask_executor():
    """A real LocalCluster: two worker processes of one thread, on 127.0.0.1."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0", silence_logs=40) as cluster:
        ex = DaskExecutor(cluster.scheduler_address)
        ex.client.wait_for_workers(2)
        yield ex
        ex.close()


# ----------------------------------------------------------------------------- checks


def _traces(path: Path) -> tuple[np.ndarray, int]:
    """Raw trace blocks (header + samples) of a SEG-Y file as rows of bytes, and ns."""
    with segyio.open(path, ignore_geometry=True) as f:
        n, ns = f.tracecount, len(f.samples)
        ext = int(f.ext_headers)
    raw = np.fromfile(path, np.uint8)
    start = 3600 + 3200 * ext
    size = (raw.size - start) // n
    assert size * n == raw.size - start
    return raw[start:].reshape(n, size), ns


def _i4(rows: np.ndarray, byte: int) -> np.ndarray:
    return rows[:, byte - 1 : byte + 3].copy().view(">i4").ravel()


def _i2(rows: np.ndarray, byte: int) -> np.ndarray:
    return rows[:, byte - 1 : byte + 1].copy().view(">i2").ravel()


def check_export(exported: Path, source: Path, result: xr.Dataset) -> np.ndarray:
    """Assert the export of ``result`` (reconstructed from ``source``) is what a downstream
    tool needs; returns the exported samples in grid order, as segyio reads them."""
    rows, ns = _traces(exported)
    src_rows, src_ns = _traces(source)
    dims = result["amplitude"].dims[:-1]
    shape = tuple(result.sizes[d] for d in dims)
    assert ns == src_ns == result.sizes["time"]
    # one trace per grid cell, in grid (C) order
    assert rows.shape[0] == int(np.prod(shape))
    live = np.asarray(result["input_trace_mask"].values, bool).reshape(-1)
    index = np.asarray(result["segy_trace_index"].values).reshape(-1)
    key_bytes = result.attrs["key_bytes"]
    grid = np.meshgrid(*(np.asarray(result[d].values) for d in dims), indexing="ij")
    for d, values in zip(dims, grid):
        np.testing.assert_array_equal(_i4(rows, key_bytes[d]), values.reshape(-1),
                                      err_msg=f"{d} (bytes {key_bytes[d]}) not in grid order")
    # live traces: the source's bytes, header and samples
    assert (index[live] >= 0).all() and (index[~live] == -1).all()
    np.testing.assert_array_equal(rows[live], src_rows[index[live]])
    # filled traces: marked, with sample count and interval; samples non-trivial
    filled = rows[~live]
    assert filled.shape[0] > 0
    np.testing.assert_array_equal(_i2(filled, 29), INTERPOLATED_TRACE_ID)
    np.testing.assert_array_equal(_i2(filled, 115), ns)
    np.testing.assert_array_equal(_i2(filled, 117), result.attrs["sample_interval_us"])
    with segyio.open(exported, ignore_geometry=True) as f:
        samples = np.stack([f.trace[i] for i in range(f.tracecount)])
    assert np.isfinite(samples).all()
    assert np.abs(samples[~live]).max() > 0
    return samples.reshape(*shape, ns)


# ----------------------------------------------------------------------------- paths


def _in_memory(method: str, survey: dict[str, Path], sgy: Path) -> xr.Dataset:
    """``workflows.reconstruct`` on the lazily opened SEG-Y file, then ``export``."""
    ds = xr.open_dataset(survey["file"], engine="promethium")
    result = reconstruct(ds, method=method, progress=False, **PARAMS.get(method, {}))
    export(result, sgy)
    return result


def _through_cli(method: str, survey: dict[str, Path], out: Path, sgy: Path) -> xr.Dataset:
    """``promethium-lab reconstruct`` store to store, then ``promethium-lab export``."""
    env = cli_env(PROMETHIUM_DATA_DIR=str(out.parent / "data"))
    # the blind quality estimate is taken on the memory path; here only the traces count
    extra = [a for k, v in PARAMS.get(method, {}).items() for a in ("--param", f"{k}={v}")]
    done = run_cli("reconstruct", survey["store"], out, "--method", method,
                   "--param", "blind=false", *extra, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    done = run_cli("export", out, sgy, env=env)
    assert done.returncode == 0, done.stderr
    return open_store(out)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("survey", SURVEYS)
def test_every_path_fills_and_exports(survey, method, surveys, dask_executor, tmp_path):
    src = surveys[survey]
    paths = paths_for(survey, method)
    out = {path: tmp_path / f"{path}.zarr" for path in paths}
    sgy = {path: tmp_path / f"{path}.sgy" for path in paths}
    # the jobs run (on the cluster's workers, in this process's threads) while the memory
    # and CLI paths do
    jobs = {path: submit("reconstruct", executor=dask_executor if path == "dask" else "kernel",
                         source=str(src["store"]), out=str(out[path]), method=method,
                         blind=False, **PARAMS.get(method, {}))
            for path in ("dask", "kernel") if path in paths}
    datasets = {"memory": _in_memory(method, src, sgy["memory"])}
    if "cli" in paths:
        datasets["cli"] = _through_cli(method, src, out["cli"], sgy["cli"])
    for path, job in jobs.items():
        assert Path(job.result(DEADLINE_S * 3)) == out[path]
        assert job.record.progress == 1.0
        export(out[path], sgy[path])
        datasets[path] = open_store(out[path])
    results = {}
    for path in paths:
        result = datasets[path]
        rec = result.attrs["reconstruction"]
        assert rec["method"] == method
        assert rec["chosen"] in (*CLASSICAL, *DEEP)
        assert bool(result["trace_mask"].all())
        results[path] = (rec["chosen"], check_export(sgy[path], src["file"], result))
    # the same survey and method give the same traces whichever way they were asked for
    chosen, reference = results["memory"]
    scale = float(np.abs(reference).max())
    for path, (other_chosen, samples) in results.items():
        assert other_chosen == chosen, path
        np.testing.assert_allclose(samples, reference, rtol=0, atol=1e-4 * scale,
                                   err_msg=f"{path} differs from memory")


def test_the_matrix_takes_every_path_with_every_method_and_survey():
    taken = {(s, m, p) for s in SURVEYS for m in METHODS for p in paths_for(s, m)}
    for path in PATHS:
        assert {m for s, m, p in taken if p == path} == set(METHODS), path
        assert {s for s, m, p in taken if p == path} == set(SURVEYS), path
