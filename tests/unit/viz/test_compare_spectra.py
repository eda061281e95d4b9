"""compare(), spectrum() and fk_spectrum() (issue 13)."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest
from _viz_helpers import survey_2d

from promethium_lab import viz
from promethium_lab.signal.qc import psnr, snr
from promethium_lab.signal.spectra import amplitude_spectrum
from promethium_lab.signal.spectra import fk_spectrum as signal_fk


@pytest.fixture()
def trio():
    """Truth, a decimated copy (every 4th trace absent, zeroed) and a 'reconstruction'."""
    truth = survey_2d(120, 200, seed=2)
    dead = tuple(range(0, 120, 4))
    before = survey_2d(120, 200, seed=2, dead=dead)
    after = truth.copy(deep=True)
    after["amplitude"] = truth["amplitude"] * np.float32(0.9)
    return before, after, truth


def test_compare_links_panels_and_shares_one_clip(trio):
    before, after, truth = trio
    v = viz.compare(before, after, truth)
    assert isinstance(v.hv, hv.Layout) and len(v.hv) == 4
    assert v.info["panels"] == ["before", "after", "reference", "difference"]
    streams = [dm.streams for dm in v.hv]
    assert all(s[0] is streams[0][0] for s in streams)  # one RangeXY: zoom/pan together
    clims = {f.get(0).opts.get("plot").kwargs["clim"] for f in v.frame()}
    assert clims == {(-v.info["clip"], v.info["clip"])}
    assert v.info["clip"] == pytest.approx(np.percentile(np.abs(truth["amplitude"]), 99))
    _, grid = hv.render(v.hv, backend="bokeh").children  # the title, then the panels
    figs = [c[0] for c in grid.children]
    assert len({id(f.x_range) for f in figs}) == 1


def test_mask_overlay_absent_vs_reconstructed(trio):
    before, after, truth = trio
    frames = viz.compare(before, after, truth).frame(x_range=(0.0, 10.0), width=400)
    # before: its absent traces 0, 4, 8 are NaN, drawn in the image's no-data cyan
    z = frames[0].get(0).dimension_values(2, flat=False).T
    assert list(np.flatnonzero(np.isnan(z).all(axis=1))) == [0, 4, 8]
    # after: the traces it reconstructed are marked by an orange band
    rebuilt = frames[1].Mask.I
    assert list(rebuilt.dimension_values("kind")) == ["reconstructed"] * 3
    assert list(rebuilt.dimension_values(0)) == [-0.5, 3.5, 7.5]
    assert [["Mask" in [el.group for el in f]] for f in frames] == [[False], [True], [False],
                                                                    [False]]


def test_readout_is_snr_psnr_of_the_visible_window(trio):
    before, after, truth = trio
    v = viz.compare(before, after, truth)
    title = v.frame(x_range=(10.0, 40.0), y_range=(0.0, 100.0), width=400)[3].opts.get(
        "plot").kwargs["title"]
    est = after["amplitude"].values[10:41, :51]
    ref = truth["amplitude"].values[10:41, :51]
    assert f"SNR {snr(est, ref):.1f} dB" in title and f"PSNR {psnr(est, ref):.1f} dB" in title
    assert title.split("\n")[0] == "after − reference"


def test_readout_is_a_title_line_of_its_own_that_fits_the_panel(trio):
    before, after, truth = trio
    v = viz.compare(before, after, truth)  # panels of 420 px
    fig = hv.render(v.hv, backend="bokeh")
    header, grid = fig.children  # the survey and section once, then the panels
    assert f">{v.info['title']}</span>" in header.text
    titles = [c[0].title.text for c in grid.children]
    assert [t.split("\n")[0] for t in titles] == ["before", "after", "reference",
                                                  "after − reference"]
    assert max(len(t.split("\n")) for t in titles) <= 2  # Bokeh cuts a third line
    assert titles[3].split("\n")[1].startswith("SNR ")
    for title in titles:  # Bokeh's title font: about 7.5 px a character
        assert all(len(line) * 7.5 <= 420 - 60 for line in title.split("\n")), title


def test_difference_without_reference_and_blind_readout(trio):
    before, after, _ = trio
    after.attrs["metrics"] = {"blind_snr_db": 12.34, "blind_psnr_db": 30.0}
    v = viz.compare(before, after)
    assert v.info["panels"] == ["before", "after", "difference"]
    diff = v.frame(width=800, height=600)[2]
    z = diff.get(0).dimension_values(2, flat=False).T
    np.testing.assert_allclose(z, after["amplitude"].values - before["amplitude"].values,
                               atol=1e-6)
    title = diff.opts.get("plot").kwargs["title"]
    assert title.split("\n") == ["after − before · blind", "SNR 12.3 dB · PSNR 30.0 dB"]


def test_compare_refuses_other_shapes(trio):
    before, _, _ = trio
    with pytest.raises(Exception, match="same geometry"):
        viz.compare(before, survey_2d(10, 200))


def test_spectrum_average_is_the_signal_layer_spectrum(trio):
    before, after, _ = trio
    v = viz.spectrum(before, after)
    assert isinstance(v.hv, hv.Layout) and len(v.hv) == 3  # curves, per-trace before/after
    hm = v.hv.values()[0]
    assert [d.name for d in hm.kdims] == ["scale"] and list(hm.keys()) == ["dB", "linear"]
    want = amplitude_spectrum(before)
    np.testing.assert_allclose(v.info["average"]["before"], want.values, rtol=1e-6)
    np.testing.assert_allclose(v.info["frequency"], want["frequency"].values)
    lin = hm["linear"]
    assert [c.label for c in lin] == ["before", "after"]
    assert lin.get(0).kdims[0].unit == "Hz"
    per_trace = v.hv.values()[1]["dB"]
    assert [d.name for d in per_trace.kdims] == ["trace", "frequency"]
    hv.render(v.hv, backend="bokeh")


def test_fk_spectrum_and_aliasing_lines(trio):
    before, after, _ = trio
    v = viz.fk_spectrum(before, after, velocity=2000.0, dx="offset")
    assert len(v.hv) == 2
    frame = v.hv.values()[0]["linear"]
    img, lines = frame.get(0), frame.get(1)
    assert [d.name for d in img.kdims] == ["wavenumber", "frequency"]
    want = signal_fk(before.set_coords("offset"), "trace", dx="offset")
    z = img.dimension_values(2, flat=False).T
    np.testing.assert_allclose(z, want.values, rtol=1e-6)
    k_nyq = 1 / (2 * 12.5)
    assert v.info["k_nyquist"] == pytest.approx(k_nyq, rel=0.02)
    assert isinstance(lines, hv.Path) and lines.group == "Aliasing"
    # the dip k = f / v reaches k_N at f = v k_N = 80 Hz, then folds back
    first = lines.split(datatype="array")[0]
    assert first[-1, 1] == pytest.approx(2000.0 * k_nyq, abs=2.0)
    hv.render(v.hv, backend="bokeh")
    fan = viz.fk_spectrum(before).hv.values()[0]["dB"].get(1).split(datatype="array")
    assert len(fan) == 2 and fan[0][-1, 1] == pytest.approx(250.0)  # to (k_N, f_max)
