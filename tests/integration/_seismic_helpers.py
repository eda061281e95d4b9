"""Shared helpers of the ingest/export/CLI integration tests (not a test module)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import segyio

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("PROMETHIUM_TEST_DATA", "/work/shared/data"))


def cli_env(**extra: str) -> dict[str, str]:
    """Environment of a CLI subprocess: the repository importable, no progress bars."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.setdefault("PROMETHIUM_PROGRESS", "0")
    env.update(extra)
    return env


def cli_command(*args: object) -> list[str]:
    return [sys.executable, "-m", "promethium_lab.cli.main", *map(str, args)]


def run_cli(
    *args: object, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    return subprocess.run(
        cli_command(*args),
        env=env or cli_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def make_ieee_segy(
    path: Path,
    n_inlines: int,
    n_crosslines: int,
    n_samples: int,
    *,
    crossline_sorted: bool = False,
    seed: int = 0,
) -> np.ndarray:
    """A format-5 SEG-Y written with segyio; returns the samples as a grid ``(il, xl, t)``.

    Inlines are 1000, 1001, …; crosslines 2000, 2002, …; dt 2 ms, coordinate scalar -100.
    ``crossline_sorted`` writes the traces crossline by crossline (file order ≠ grid order).
    """
    ilines = np.arange(1000, 1000 + n_inlines)
    xlines = np.arange(2000, 2000 + 2 * n_crosslines, 2)
    grid = (
        np.random.default_rng(seed)
        .standard_normal((n_inlines, n_crosslines, n_samples))
        .astype(np.float32)
    )
    if crossline_sorted:
        xl, il = (
            a.ravel()
            for a in np.meshgrid(np.arange(n_crosslines), np.arange(n_inlines), indexing="ij")
        )
    else:
        il, xl = (
            a.ravel()
            for a in np.meshgrid(np.arange(n_inlines), np.arange(n_crosslines), indexing="ij")
        )
    spec = segyio.spec()
    spec.format = 5
    spec.sorting = 1 if crossline_sorted else 2
    spec.samples = np.arange(n_samples) * 2.0
    spec.ilines = ilines
    spec.xlines = xlines
    with segyio.create(str(path), spec) as f:
        f.bin.update(
            {
                segyio.BinField.Interval: 2000,
                segyio.BinField.Samples: n_samples,
                segyio.BinField.Format: 5,
            }
        )
        f.trace = np.ascontiguousarray(grid[il, xl])
        for i, (a, b) in enumerate(zip(il.tolist(), xl.tolist())):
            f.header[i] = {
                segyio.TraceField.TRACE_SEQUENCE_FILE: i + 1,
                segyio.TraceField.INLINE_3D: int(ilines[a]),
                segyio.TraceField.CROSSLINE_3D: int(xlines[b]),
                segyio.TraceField.CDP_X: 50_000_000 + 2500 * a,
                segyio.TraceField.CDP_Y: 70_000_000 + 2500 * b,
                segyio.TraceField.SourceGroupScalar: -100,
                segyio.TraceField.TRACE_SAMPLE_COUNT: n_samples,
                segyio.TraceField.TRACE_SAMPLE_INTERVAL: 2000,
            }
    return grid


# --------------------------------------------------------------------------- MDIO

_MDIO_SCRIPT = textwrap.dedent('''
    """Convert SEG-Y files with MDIO (its process pool needs a __main__ guard)."""
    import os
    import sys


    def main(jobs):
        import mdio
        from mdio.builder.template_registry import get_template
        from segy.standards import get_segy_standard

        for src, dst, keep_headers in jobs:
            # keep_headers: MDIO also stores the raw trace headers and the file headers
            os.environ["MDIO__IMPORT__RAW_HEADERS"] = keep_headers
            os.environ["MDIO__IMPORT__SAVE_SEGY_FILE_HEADER"] = keep_headers
            mdio.segy_to_mdio(get_segy_standard(1.0), get_template("PostStack3DTime"),
                              src, dst)


    if __name__ == "__main__":
        args = sys.argv[1:]
        main(list(zip(args[::3], args[1::3], args[2::3])))
''')

_MDIO_CACHE: dict[str, dict[str, Path]] = {}


def mdio_stores(folder: Path) -> dict[str, Path]:
    """MDIO stores of ``f3_ibm_be.sgy`` (with raw headers and file headers, as MDIO writes
    them when asked to) and ``f3_missing_traces_ibm.sgy`` (MDIO's defaults: decoded headers
    only, dead traces NaN), written by ``mdio.segy_to_mdio`` once per session."""
    if "stores" not in _MDIO_CACHE:
        folder.mkdir(parents=True, exist_ok=True)
        script = folder / "to_mdio.py"
        script.write_text(_MDIO_SCRIPT)
        stores = {
            "f3_ibm_be.sgy": folder / "f3_ibm_be.mdio",
            "f3_missing_traces_ibm.sgy": folder / "f3_missing.mdio",
        }
        args = [
            str(DATA / "f3_ibm_be.sgy"),
            str(stores["f3_ibm_be.sgy"]),
            "true",
            str(DATA / "f3_missing_traces_ibm.sgy"),
            str(stores["f3_missing_traces_ibm.sgy"]),
            "false",
        ]
        env = dict(os.environ, MDIO__IMPORT__CPU_COUNT="1")
        done = subprocess.run(
            [sys.executable, str(script), *args],
            env=env,
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        _MDIO_CACHE["stores"] = stores
    return _MDIO_CACHE["stores"]
