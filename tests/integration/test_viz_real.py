"""The viz views on every real file of the developer data set (issue 13).

Each file is ingested into a store (with its overview written as ingest will), then every
view that applies is built, its frame checked for dims, ranges and title, rendered through
Bokeh and drawn to a PNG.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import holoviews as hv
import numpy as np
import pytest

from promethium_lab import viz
from promethium_lab.io.overview import read_overview, write_overview
from promethium_lab.io.store import open_store
from promethium_lab.workflows.ingest import ingest

DATA = Path(os.environ["PROMETHIUM_TEST_DATA"])
FILES = sorted(p.name for p in DATA.iterdir()
               if p.suffix.lower() in (".sgy", ".segy", ".su", ".mseed", ".sac"))


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("viz_real")
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # ObsPy's SAC rounding note
        for name in FILES:
            path = ingest(DATA / name, root / f"{name}.zarr", progress=False)
            write_overview(path)
            out[name] = path
    return out


def test_every_file_is_in_the_set():
    assert len(FILES) == 14


def _expected_range(values: np.ndarray, step: float) -> tuple[float, float]:
    return float(values[0] - step / 2), float(values[-1] + step / 2)


@pytest.mark.parametrize("name", FILES)
def test_views_on_real_files(stores, name):
    ds = open_store(stores[name])
    assert read_overview(stores[name]) is not None
    trace_dims = [d for d in ds["amplitude"].dims if d != "time"]
    v = viz.section(ds)
    assert isinstance(v.hv, hv.DynamicMap)
    frame = v.frame()
    img = frame.get(0)
    x_dim = trace_dims[-1]
    assert [d.name for d in img.kdims] == [x_dim, "time"]
    assert img.kdims[1].unit == "ms"
    t = ds["time"].values
    dt = float(t[1] - t[0])
    assert v.info["y_range"] == pytest.approx(_expected_range(t, dt))
    xs = ds[x_dim].values.astype(float) if x_dim in ds.coords else None
    if xs is None or (xs.size > 1 and not np.allclose(np.diff(xs), xs[1] - xs[0])):
        want = (-0.5, ds.sizes[x_dim] - 0.5)  # no regular coordinate: trace index
    else:
        want = _expected_range(xs, float(xs[1] - xs[0]) if xs.size > 1 else 1.0)
    assert v.info["x_range"] == pytest.approx(want)
    left, bottom, _, _ = img.bounds.lbrt()
    assert left == pytest.approx(v.info["x_range"][0])
    assert bottom == pytest.approx(v.info["y_range"][0])
    assert img.data.shape[0] <= 500 and img.data.shape[1] <= 800
    assert v.info["title"].startswith(f"{name} — ")
    assert v.info["clip"] == pytest.approx(read_overview(stores[name]).clip_value(99.0))
    fig = hv.render(v.hv, backend="bokeh")
    assert fig.title.text == v.info["title"]
    assert v.png()[:4] == b"\x89PNG"
    viz.spectrum(ds).png()
    viz.fk_spectrum(ds).png()
    nav = viz.survey_view(ds)
    assert len(nav.hv) == len(trace_dims) + (1 if len(trace_dims) >= 2 else 0)
    hv.render(nav.hv, backend="bokeh")
    if len(trace_dims) >= 2:
        ts = viz.time_slice(ds, time=float(t[len(t) // 2]))
        assert (ts.info["x"], ts.info["y"]) == (trace_dims[-1], trace_dims[-2])
        assert ts.info["title"] == f"{name} — time {t[len(t) // 2]:g} ms"


def test_titles_name_the_line(stores):
    f3 = open_store(stores["f3_ibm_be.sgy"])
    assert viz.section(f3, inline=122).info["title"] == "f3_ibm_be.sgy — inline 122"
    heads = viz.section(f3, inline=122, hover=["cdp_x", "source_to_receiver_distance"])
    rects = heads.frame().Headers.I
    assert [d.name for d in rects.vdims][1:3] == ["cdp_x", "source_to_receiver_distance"]
    assert rects.dimension_values("cdp_x")[0] == f3["cdp_x"].sel(inline=122).values[0]
    cross = viz.section(f3, crossline=880)
    assert cross.info["title"] == "f3_ibm_be.sgy — crossline 880"
    assert cross.info["x"] == "inline"  # a crossline section runs along inline
    shots = open_store(stores["viking_graben_4shots_ibm.segy"])
    first = int(shots["shot_point"].values[0])
    gather = viz.section(shots, shot_point=first)
    assert gather.info["title"] == f"viking_graben_4shots_ibm.segy — shot {first}"
    assert gather.info["x"] == "channel"


def test_single_trace_sac(stores):
    """Width 1 × 12684 samples: Datashader's resolution was NaN here before."""
    ds = open_store(stores["II.TLY.00.BHZ_be.SAC"])
    v = viz.section(ds)
    z = v.frame().get(0).dimension_values(2, flat=False)
    assert z.shape == (488, 1)
    assert v.info["title"] == "II.TLY.00.BHZ_be.SAC — II.TLY.00.BHZ"
    path = v.frame().Wiggle.I
    assert len(path.data) == 1  # one trace: drawn as a wiggle (its envelope)
    assert np.nanmax(np.abs(z)) == pytest.approx(np.abs(ds["amplitude"].values).max())


def test_missing_traces_compare(stores):
    before = open_store(stores["f3_missing_traces_ibm.sgy"])
    truth = open_store(stores["f3_ibm_be.sgy"])
    v = viz.compare(before, truth, truth, inline=122)
    frames = v.frame(width=400, height=400)
    assert "SNR ∞ dB" in frames[3].opts.get("plot").kwargs["title"]
    absent = ~before["trace_mask"].sel(inline=122).values
    z = frames[0].get(0).dimension_values(2, flat=False).T  # (crossline, time)
    assert absent.any() and np.array_equal(np.isnan(z).all(axis=1), absent)  # shaded cyan
    assert set(frames[1].Mask.I.dimension_values("kind")) == {"reconstructed"}
    hv.render(v.hv, backend="bokeh")


def test_waveform_gaps_show_as_gaps(stores):
    ds = open_store(stores["BW.BGLD..EHE_gaps.mseed"])
    v = viz.section(ds, wiggle=False)
    gap = ~ds["sample_mask"].values[0]
    start = int(np.flatnonzero(gap)[0])
    stop = start + int(np.argmin(gap[start:]))
    t = ds["time"].values
    z = v.frame(y_range=(t[start], t[stop - 1]), height=2000).get(0)
    assert np.isnan(z.dimension_values(2)).any()


def test_each_view_leaves_a_picture(stores):
    """Each kind of view on the F3 cube leaves a static PNG (what exported HTML shows):
    not blank, kept in ``tests/artifacts/view_<kind>.png`` to look at."""
    import io

    from PIL import Image

    artifacts = Path(__file__).resolve().parents[1] / "artifacts"
    artifacts.mkdir(exist_ok=True)
    cube = open_store(stores["f3_ibm_be.sgy"])
    holed = open_store(stores["f3_missing_traces_ibm.sgy"])
    views = {
        "section": viz.section(cube, inline=122),
        "time_slice": viz.time_slice(cube, 200.0),
        "survey_view": viz.survey_view(cube),
        "compare": viz.compare(holed, cube, cube, inline=122),
        "spectrum": viz.spectrum(holed, cube, inline=122),
        "fk_spectrum": viz.fk_spectrum(holed, cube, inline=122),
    }
    for kind, view in views.items():
        png = view.png()
        (artifacts / f"view_{kind}.png").write_bytes(png)
        pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
        assert min(pixels.shape) >= 200, kind
        assert pixels.std() > 10, f"{kind}: a blank picture"
