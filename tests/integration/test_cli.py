"""The ``promethium-lab`` command line, run as a subprocess."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from _seismic_helpers import DATA, REPO, run_cli

from promethium_lab.io.segy import open_segy
from promethium_lab.io.store import open_store

ERROR_LINE = re.compile(r"^(PL-[A-Z]+-\d{3}): (.+) \((.+)\)$")


def assert_typed_error(done, code: str) -> str:
    """Exit status 2, one ``CODE: message (hint)`` line on stderr, nothing on stdout."""
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    match = ERROR_LINE.match(lines[0])
    assert match, lines[0]
    assert match.group(1) == code, lines[0]
    return lines[0]


def test_info_prints_a_summary():
    done = run_cli("info", DATA / "f3_missing_traces_ibm.sgy")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "geometry    poststack3d" in out
    assert "dims        inline 23 × crossline 18 × time 75" in out
    assert "traces      239 live, 175 absent" in out
    assert "time        4 … 300 ms, dt 4 ms" in out
    assert "inline      111 … 133" in out
    assert "SEG-Y fmt   1" in out


def test_info_json_of_a_waveform_file():
    done = run_cli("info", "--json", DATA / "BW.BGLD..EHE_gaps.mseed")
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["geometry"] == "waveforms"
    assert info["dims"]["trace"] == 1
    assert info["sample_interval_ms"] == pytest.approx(5.0)


def test_ingest_then_export_then_info_of_the_store(tmp_path):
    store = tmp_path / "viking.zarr"
    done = run_cli("ingest", DATA / "viking_graben_4shots_ibm.segy", store, "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "geometry    shot" in done.stdout
    assert "dims        shot_point 4 × channel 120 × time 600" in done.stdout
    assert f"store       {store}" in done.stdout
    ds = open_store(store)
    source = open_segy(DATA / "viking_graben_4shots_ibm.segy")
    assert np.array_equal(ds["amplitude"].values, source["amplitude"].values)

    again = run_cli("ingest", DATA / "viking_graben_4shots_ibm.segy", store)
    line = assert_typed_error(again, "PL-IO-010")
    assert "--overwrite" in line

    out = tmp_path / "viking.sgy"
    done = run_cli("export", store, out, "--format", "source")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {out} (")
    assert out.read_bytes() == (DATA / "viking_graben_4shots_ibm.segy").read_bytes()


def test_ingest_options_reach_the_store(tmp_path):
    store = tmp_path / "f3.zarr"
    done = run_cli("ingest", DATA / "f3_ibm_le.sgy", store, "--endian", "little",
                   "--fast", "none", "--geometry", "poststack3d", "--inline-byte", "189",
                   "--block-mb", "0.01")
    assert done.returncode == 0, done.stderr
    ds = open_store(store)
    assert "fast_time" not in ds
    assert ds.attrs["segy_endian"] == "<"
    assert np.array_equal(ds["amplitude"].values,
                          open_segy(DATA / "f3_ibm_be.sgy")["amplitude"].values)


def test_block_mb_is_a_hidden_option():
    from typer.testing import CliRunner

    from promethium_lab.cli.main import app

    result = CliRunner().invoke(app, ["ingest", "--help"])
    assert result.exit_code == 0
    assert "--workers" in result.output
    assert "--block-mb" not in result.output


def test_demo(tmp_path):
    out = tmp_path / "demo"
    done = run_cli("demo", "--out", out)
    assert done.returncode == 0, done.stderr
    assert "geometry    shot" in done.stdout
    assert f"store       {out / 'viking_graben.zarr'}" in done.stdout
    assert f"section     {out / 'section.png'}" in done.stdout
    assert (out / "section.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["live_traces"] == 480
    assert open_store(out / "viking_graben.zarr").attrs["geometry"] == "shot"
    # decimate 50 % → reconstruct → metrics → before/after picture
    assert "removed     50% of the traces at random (seed 0)" in done.stdout
    metrics = summary["metrics"]
    assert metrics["n_missing"] == 240
    assert metrics["snr_missing_db"] > 6.0  # zero-filled holes would score 0 dB
    assert metrics["ssim"] > 0.9
    result = open_store(out / "reconstructed.zarr")
    assert bool(result["trace_mask"].all())
    assert int((~result["input_trace_mask"]).sum()) == 240
    assert result.attrs["metrics"]["snr_missing_db"] == metrics["snr_missing_db"]
    assert (out / "before_after.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_file(tmp_path):
    line = assert_typed_error(run_cli("info", tmp_path / "nope.sgy"), "PL-IO-001")
    assert str(tmp_path / "nope.sgy") in line


def test_directory_given_as_file(tmp_path):
    line = assert_typed_error(run_cli("ingest", tmp_path, tmp_path / "o.zarr"), "PL-IO-002")
    assert "is a directory" in line
    assert not (tmp_path / "o.zarr").exists()


def test_truncated_file(tmp_path):
    cut = tmp_path / "cut.sgy"
    cut.write_bytes((DATA / "f3_ibm_be.sgy").read_bytes()[:100_000])
    line = assert_typed_error(run_cli("ingest", cut, tmp_path / "o.zarr"), "PL-IO-004")
    assert "complete traces" in line
    assert not (tmp_path / "o.zarr").exists()
    assert not (tmp_path / "o.zarr.partial").exists()


def test_usage_errors_exit_2_without_traceback(tmp_path):
    done = run_cli("info")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "Missing" in done.stderr
    done = run_cli("export", tmp_path / "s.zarr", tmp_path / "o.sgy", "--format", "ieee",
                   cwd=REPO)
    assert_typed_error(done, "PL-IO-001")


def test_reconstruct_command(tmp_path):
    store = tmp_path / "f3.zarr"
    assert run_cli("ingest", DATA / "f3_missing_traces_ibm.sgy", store).returncode == 0
    done = run_cli("reconstruct", store, tmp_path / "r.zarr", "--method", "linear")
    assert done.returncode == 0, done.stderr
    assert "method      linear" in done.stdout
    assert "blind_snr_db" in done.stdout
    result = open_store(tmp_path / "r.zarr")
    assert bool(result["trace_mask"].all())
    assert int((~result["input_trace_mask"]).sum()) == 175
    bad = run_cli("reconstruct", store, tmp_path / "x.zarr", "--param", "oops")
    assert bad.returncode == 2 and "PL-PARAM-001" in bad.stderr


def test_train_command(tmp_path):
    # ~45 s alone on 2 cores; the timeout only guards against a hang (a loaded machine
    # once took over 120 s)
    done = run_cli("train", "synthetic", "--model", "autoencoder", "--max-epochs", "1",
                   "--registry", tmp_path / "models", "--name", "tiny", timeout=400)
    assert done.returncode == 0, done.stderr
    assert "model       tiny v1 (autoencoder)" in done.stdout
    assert (tmp_path / "models" / "tiny" / "v001" / "weights.pt").is_file()


@pytest.fixture(scope="module")
def f3_store(tmp_path_factory):
    """The real F3 cube with 175 of its 414 traces absent from the file, ingested."""
    from promethium_lab.workflows.ingest import ingest

    return ingest(DATA / "f3_missing_traces_ibm.sgy",
                  tmp_path_factory.mktemp("f3") / "f3.zarr", progress=False)


@pytest.mark.parametrize("method", ["unet", "autoencoder", "pinn"])
def test_deep_reconstruct_store_to_store(method, f3_store, tmp_path):
    """Deep methods without a Dask client (issue 10, defect 1: no GPU resources asked of a
    cluster that is not there)."""
    out = tmp_path / "filled.zarr"
    done = run_cli("reconstruct", f3_store, out, "--method", method, "-p", "blind=false")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert f"method      {method}" in done.stdout
    assert f"store       {out}" in done.stdout
    source, result = open_store(f3_store), open_store(out)
    live = source["trace_mask"].values
    assert bool(result["trace_mask"].all())
    assert int((~result["input_trace_mask"]).sum()) == 175
    filled = result["amplitude"].values
    np.testing.assert_array_equal(filled[live], source["amplitude"].values[live])
    assert np.isfinite(filled).all() and np.abs(filled[~live]).max() > 0
    assert result.attrs["reconstruction"]["chosen"] == method


def test_export_live_only(f3_store, tmp_path):
    import segyio

    out = tmp_path / "filled.zarr"
    assert run_cli("reconstruct", f3_store, out, "--method", "linear",
                   "-p", "blind=false").returncode == 0
    live_only = tmp_path / "live.sgy"
    done = run_cli("export", out, live_only, "--live-only")
    assert done.returncode == 0, done.stderr
    assert live_only.read_bytes() == (DATA / "f3_missing_traces_ibm.sgy").read_bytes()
    every_cell = tmp_path / "all.sgy"
    assert run_cli("export", out, every_cell).returncode == 0
    with segyio.open(every_cell, ignore_geometry=True) as f:
        assert f.tracecount == 23 * 18  # one trace per grid cell, filled ones included
    assert "--live-only" in run_cli("export", "--help").stdout


def test_one_param_parser_for_every_command():
    from promethium_lab.cli._common import parse_params
    from promethium_lab.core.errors import ErrorCode, PromethiumError

    assert parse_params(["rank=6", "block-mb=0.5", "name=unet", "flags=[1, 2]",
                         "on=true", "none=null", "text=a=b", " key =x"]) == {
        "rank": 6, "block_mb": 0.5, "name": "unet", "flags": [1, 2], "on": True,
        "none": None, "text": "a=b", "key": "x"}
    for bad in ("oops", "=3", "1x=2", "a b=1"):
        with pytest.raises(PromethiumError) as err:
            parse_params([bad])
        assert err.value.code == ErrorCode.INVALID_PARAMETER
        assert repr(bad) in err.value.message
