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
    done = run_cli("train", "synthetic", "--model", "autoencoder", "--max-epochs", "1",
                   "--registry", tmp_path / "models", "--name", "tiny")
    assert done.returncode == 0, done.stderr
    assert "model       tiny v1 (autoencoder)" in done.stdout
    assert (tmp_path / "models" / "tiny" / "v001" / "weights.pt").is_file()
