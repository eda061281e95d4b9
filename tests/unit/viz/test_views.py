"""The interactive views: HoloViews objects, screen-resolution windows, wiggles, titles,
hover, clipping, degenerate data and the static PNG (issue 13)."""

from __future__ import annotations

import base64
import io

import holoviews as hv
import numpy as np
import pytest
import xarray as xr
from _viz_helpers import masked, survey_2d

from promethium_lab import viz
from promethium_lab.io.overview import block_reduce, read_overview
from promethium_lab.io.store import open_store, write_store
from promethium_lab.io.views import WINDOW, quantise
from promethium_lab.viz._survey import _fast


def pixels(frame) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The image layer of a frame as ``(x, y)`` pixels (y increasing) and its bounds."""
    img = frame.get(0)
    assert isinstance(img, hv.Image)
    return img.dimension_values(2, flat=False).T, img.bounds.lbrt()


def expected(full: np.ndarray, bounds, shape, x0=-0.5, dx=1.0, y0=-1.0, dy=2.0):
    """Block reduction of ``full`` over the blocks the image bounds say each pixel holds
    (axes: index → coordinate ``x0 + (i + 0.5) dx``)."""
    left, bottom, _, _ = bounds
    nx, ny = shape
    sx = round((bounds[2] - left) / dx / nx)
    sy = round((bounds[3] - bottom) / dy / ny)
    i0 = round((left - x0) / dx)
    j0 = round((bottom - y0) / dy)
    return block_reduce(full[i0:i0 + nx * sx, j0:j0 + ny * sy], (sx, sy)), (sx, sy)


def test_section_is_a_dynamic_map_with_streams(pyramid):
    v = viz.section(pyramid)
    assert isinstance(v.hv, hv.DynamicMap)
    kinds = {type(s).__name__ for s in v.hv.streams}
    assert kinds == {"RangeXY", "PlotSize"}
    frame = v.frame()
    img = frame.get(0)
    assert [d.name for d in img.kdims] == ["trace", "time"]
    assert img.kdims[1].unit == "ms"
    assert v.info["x_range"] == (-0.5, 1199.5) and v.info["y_range"] == (-1.0, 2999.0)
    assert v.info["title"] == "noise.sgy — 1200 traces"


@pytest.mark.parametrize(("x_range", "y_range", "size", "level"), [
    (None, None, (800, 600), 0),              # 2 × 3 samples per pixel: the data itself
    (None, None, (60, 50), 2),                # 20 × 30: from level 2 (16 × 16)
    ((100.2, 1000.7), (500.0, 2500.0), (100, 120), 1),  # a zoom, from level 1
    ((300.0, 340.0), (1000.0, 1100.0), (800, 600), 0),  # a deep zoom: the data
])
def test_window_pixels_are_the_block_reduction_of_the_data(pyramid, x_range, y_range, size,
                                                           level):
    v = viz.section(pyramid)
    z, bounds = pixels(v.frame(x_range=x_range, y_range=y_range, width=size[0],
                               height=size[1]))
    assert z.shape[0] <= size[0] and z.shape[1] <= size[1]
    ref, (sx, sy) = expected(masked(pyramid), bounds, z.shape)
    np.testing.assert_array_equal(z, ref)
    assert min(sx, sy) >= 4**level and (level == 0 or min(sx, sy) % 4**level == 0)
    if x_range is not None:  # the window covers what is visible, and not much more
        assert bounds[0] <= x_range[0] and bounds[2] >= x_range[1]
        assert bounds[2] - bounds[0] <= x_range[1] - x_range[0] + 2 * sx


def test_rms_windows(pyramid):
    v = viz.section(pyramid, how="rms")
    z, _ = pixels(v.frame(width=100, height=100))
    ref = block_reduce(masked(pyramid), (12, 15), "rms")
    np.testing.assert_allclose(z, ref, rtol=1e-6)
    with pytest.raises(Exception, match="mean"):
        viz.section(pyramid, how="mean")


def test_render_through_bokeh_and_a_zoom_rereads(pyramid):
    v = viz.section(pyramid)
    fig = hv.render(v.hv, backend="bokeh")
    glyphs = [type(r.glyph).__name__ for r in fig.renderers]
    assert glyphs.count("Image") == 1 and "MultiLine" not in glyphs  # 1.5 px per trace
    assert fig.title.text == "noise.sgy — 1200 traces"
    assert (fig.x_range.start, fig.x_range.end) == (-0.5, 1199.5)
    rng = next(s for s in v.hv.streams if isinstance(s, hv.streams.RangeXY))
    rng.event(x_range=(10.0, 50.0), y_range=(0.0, 400.0))  # a zoom: the plot re-renders
    z, bounds = pixels(v.hv.last)
    assert bounds[0] == 9.5 and bounds[2] == 50.5 and z.shape[0] == 41
    # 41 traces in 800 px: the wiggles appear, as one glyph set each
    shown = [type(r.glyph).__name__ for r in fig.renderers if r.visible]
    assert shown.count("MultiLine") == 1 and shown.count("MultiPolygons") == 1
    rng.event(x_range=(0.0, 1000.0), y_range=(0.0, 400.0))  # zoomed out: they hide again
    shown = [type(r.glyph).__name__ for r in fig.renderers if r.visible]
    assert "MultiLine" not in shown and "MultiPolygons" not in shown
    assert shown.count("Image") == 1


def test_wiggles_switch_on_at_8_px_per_trace_as_one_glyph_set(pyramid):
    v = viz.section(pyramid)
    far = v.frame(width=800, height=600)
    assert [el.group for el in far] == ["Image", "Headers"]  # no wiggle layers
    near = v.frame(x_range=(100.0, 199.0), width=800, height=600)  # 100 traces: 8 px
    assert [el.group for el in near] == ["Image", "Wiggle", "VariableArea", "Headers"]
    path, area = near.Wiggle.I, near.VariableArea.I
    assert isinstance(path, hv.Path) and isinstance(area, hv.Polygons)
    assert len(path.data) == 1 and len(area.data) == 1  # one geometry, NaN-separated
    xs = path.dimension_values(0)
    assert np.isnan(xs).sum() == 99  # 100 traces
    wide = v.frame(x_range=(100.0, 200.5), width=800)  # 101 traces: < 8 px
    off = viz.section(pyramid, wiggle=False).frame(x_range=(0.0, 5.0))
    assert [el.group for el in wide] == [el.group for el in off] == ["Image", "Headers"]
    assert [el.group for el in viz.section(pyramid, wiggle=True).frame()][1:3] == [
        "Wiggle", "VariableArea"]


def test_absent_traces_are_shaded_and_hover_shows_headers(pyramid):
    v = viz.section(pyramid)
    frame = v.frame(x_range=(0.0, 20.0), width=800)
    z, bounds = pixels(frame)
    assert bounds[0] == -0.5 and z.shape[0] == 21  # one column per trace
    assert list(np.flatnonzero(np.isnan(z).all(axis=1))) == [5, 6, 7]  # the absent ones
    nan_colour = frame.get(0).opts.get("plot").kwargs["clipping_colors"]["NaN"]
    assert nan_colour.lower() == "#00f0ff4d"  # drawn in cyan (30 %), by the image itself
    assert "Mask" not in [el.group for el in frame]
    heads = frame.Headers.I
    names = [d.name for d in heads.vdims]
    assert "offset" in names and "live" in names
    row = heads.iloc[6]
    assert row.dimension_values("offset")[0] == 6 * 12.5
    assert not row.dimension_values("live")[0]


def test_clip_comes_from_the_stored_percentiles(pyramid_store):
    ov = read_overview(pyramid_store)
    assert viz.section(open_store(pyramid_store)).info["clip"] == pytest.approx(ov.clip[99.0])
    v = viz.section(open_store(pyramid_store), percentile=95.0, cmap="rwb")
    assert v.info["clip"] == pytest.approx(ov.clip[95.0])
    img = v.frame().get(0)
    opts = img.opts.get("plot").kwargs
    assert opts["clim"] == (-v.info["clip"], v.info["clip"])  # symmetric
    assert v.frame().get(0).opts.get("style").kwargs["cmap"][0] != "#ffffff"


def test_stores_without_overview_take_the_clip_from_what_they_show(tmp_path, monkeypatch):
    import promethium_lab.io.store as store

    monkeypatch.setattr(store, "write_overview", lambda path: None)  # as older stores
    ds = survey_2d(100, 50)
    store.write_store(ds, tmp_path / "s.zarr", progress=False)
    assert read_overview(tmp_path / "s.zarr") is None
    v = viz.section(open_store(tmp_path / "s.zarr"))
    assert v.info["clip"] == pytest.approx(np.percentile(np.abs(ds["amplitude"].values), 99))


def test_titles_name_what_is_shown(cube_store):
    ds = open_store(cube_store)
    assert viz.section(ds, inline=102).info["title"] == "cube.sgy — inline 102"
    cross = viz.section(ds, crossline=205)
    assert cross.info["title"] == "cube.sgy — crossline 205" and cross.info["x"] == "inline"
    ts = viz.time_slice(ds, time=100.0)
    assert ts.info["title"] == "cube.sgy — time 100 ms"
    assert (ts.info["x"], ts.info["y"]) == ("crossline", "inline")
    with pytest.raises(Exception, match="no inline"):
        viz.section(ds, inline=7)


def test_sections_read_the_view_copies_and_match_the_data(cube_store):
    """Sections and time slices are drawn from the 8-bit view copies: each sample within
    half a quantisation step (its window's peak / 126) of the data, dead traces NaN."""
    ds = open_store(cube_store)
    assert _fast(ds, "crossline") == "view:crossline" and _fast(ds, "time") == "view:time"
    cube = masked_cube(ds)
    _, scale = quantise(np.nan_to_num(cube))
    half = 0.5 * np.repeat(scale, WINDOW, axis=-1)[..., : cube.shape[-1]] * (1 + 1e-5)
    v = viz.section(ds, crossline=205)
    z, _ = pixels(v.frame())
    want = cube[:, 5, :]
    np.testing.assert_array_equal(np.isnan(z), np.isnan(want))
    assert np.all(np.abs(np.nan_to_num(z - want)) <= half[:, 5, :])
    assert np.nanmax(np.abs(z - want)) > 0  # lossy: not the amplitude itself
    ts = viz.time_slice(ds, time=100.0)
    z, _ = pixels(ts.frame())
    want = cube[:, :, 25].T
    np.testing.assert_array_equal(np.isnan(z), np.isnan(want))
    assert np.all(np.abs(np.nan_to_num(z - want)) <= half[:, :, 25].T)


def test_exact_fast_copies_are_read_when_the_store_has_them(tmp_path, cube_store):
    ds = open_store(cube_store)
    exact = write_store(ds, tmp_path / "exact.zarr", access_patterns=("crossline",),
                              views=(), progress=False)
    ds2 = open_store(exact)
    assert _fast(ds2, "crossline") == "fast_crossline" and _fast(ds2, "time") == "amplitude"
    z, _ = pixels(viz.section(ds2, crossline=205).frame())
    np.testing.assert_array_equal(z, masked_cube(ds)[:, 5, :])


def masked_cube(ds: xr.Dataset) -> np.ndarray:
    a = np.array(ds["amplitude"].values)
    a[~ds["trace_mask"].values] = np.nan
    return a


def test_a_modified_amplitude_is_shown_not_the_stale_fast_copy(cube_store):
    ds = open_store(cube_store)
    doubled = ds.assign(amplitude=ds["amplitude"] * 2)
    z, _ = pixels(viz.section(doubled, inline=102).frame())
    np.testing.assert_allclose(z, 2 * masked_cube(ds)[2], equal_nan=True)


def test_survey_view_navigates_inline_crossline_time(cube_store):
    ds = open_store(cube_store)
    v = viz.survey_view(ds)
    assert isinstance(v.hv, hv.Layout) and len(v.hv) == 3
    for dmap in v.hv:
        assert [d.name for d in dmap.kdims] == ["inline", "crossline", "time"]
    frames = v.frame(inline=101, crossline=207, time=40.0)
    titles = [f.opts.get("plot").kwargs["title"] for f in frames]
    assert titles == ["cube.sgy — inline 101", "cube.sgy — crossline 207",
                      "cube.sgy — time 40 ms"]
    lines = [el for el in frames.values()[0] if isinstance(el, hv.VLine)]
    assert lines[0].data == 207.0  # the crossline panel's cut, marked on the inline panel
    hv.render(v.hv, backend="bokeh")


def degenerate() -> dict[str, xr.Dataset]:
    gaps = survey_2d(3, 900)
    sm = np.ones((3, 900), bool)
    sm[:, 300:450] = False
    gaps["amplitude"] = gaps["amplitude"].where(sm)
    gaps["sample_mask"] = (("trace", "time"), sm)
    none_live = survey_2d(10, 50, dead=tuple(range(10)))
    return {"one trace": survey_2d(1, 12684), "few samples": survey_2d(3, 2),
            "one sample": survey_2d(1, 1), "all absent": none_live,
            "constant": survey_2d(20, 30, fill=5.0), "zeros": survey_2d(5, 5, fill=0.0),
            "gaps": gaps}


@pytest.mark.parametrize("name", list(degenerate()))
def test_degenerate_data_draws(name):
    ds = degenerate()[name]
    v = viz.section(ds)
    frame = v.frame()
    z, bounds = pixels(frame)
    assert np.isfinite(bounds).all() and bounds[0] < bounds[2] and bounds[1] < bounds[3]
    assert np.isfinite(v.info["clip"]) and v.info["clip"] > 0
    hv.render(v.hv, backend="bokeh")
    assert v.png()[:8] == b"\x89PNG\r\n\x1a\n"
    viz.spectrum(ds)
    viz.fk_spectrum(ds).png()
    viz.survey_view(ds)
    if name == "gaps":
        assert np.isnan(z[:, 150:225]).all()  # the gap shows as a gap
    if name == "constant":
        assert v.info["clip"] == 5.0 and np.all(z == 5.0)
    if name == "one trace":
        assert z.shape == (1, 488)  # 26 samples per pixel: ≤ 500 pixels, no NaN resolution


def test_long_titles_wrap_to_the_plot_and_the_png(pyramid):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from promethium_lab.viz._render import wrap_title
    from promethium_lab.viz.display import _fit_titles

    assert wrap_title("noise.sgy — 1200 traces", 740) == "noise.sgy — 1200 traces"
    assert wrap_title("before — a_rather_long_survey_name.sgy — inline 122", 200) == (
        "before —\na_rather_long_survey_name.sgy —\ninline 122")  # separators end lines
    assert wrap_title("one\ntwo", 400) == "one\ntwo"
    long = "section of a survey with a rather long name — inline 122 — crossline 7"
    title = viz.section(pyramid, title=long, width=300).frame().opts.get("plot").kwargs[
        "title"]
    assert title.replace("\n", " ") == long and title.count("\n") == 2
    fig = Figure(figsize=(3, 3), dpi=96)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.set_title(long, fontsize=9)
    assert _fit_titles(fig)
    renderer = fig.canvas.get_renderer()
    assert ax.title.get_window_extent(renderer).width <= ax.get_window_extent(renderer).width
    assert ax.title.get_text().replace("\n", " ") == long


def test_view_bundle_carries_a_png(pyramid):
    from PIL import Image

    v = viz.section(pyramid)
    data, _ = v._repr_mimebundle_()
    png = base64.b64decode(data["image/png"])
    img = Image.open(io.BytesIO(png))
    assert img.size[0] > 300 and np.unique(np.asarray(img.convert("L"))).size > 10  # not blank
    assert "text/plain" in data
