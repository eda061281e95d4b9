"""The mask generator of ``benchmarks/recon_bench.py``'s real-data tables."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "recon_bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("recon_bench", _PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("n", [24, 25, 100, 120])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_keeps_both_ends_and_removes_half(bench, n, seed):
    live = bench.end_kept_mask((n,), "random", seed=seed)
    assert live[0] and live[-1]
    assert (~live).sum() == np.floor(0.5 * n + 0.5)


def test_random_seeds_differ_and_repeat(bench):
    a = bench.end_kept_mask((100,), "random", seed=0)
    assert np.array_equal(a, bench.end_kept_mask((100,), "random", seed=0))
    assert not np.array_equal(a, bench.end_kept_mask((100,), "random", seed=1))


@pytest.mark.parametrize("n", [24, 25, 100])
def test_every_second_both_phases(bench, n):
    odd = bench.end_kept_mask((n,), "regular", phase=1)
    even = bench.end_kept_mask((n,), "regular", phase=0)
    for live in (odd, even):
        assert live[0] and live[-1]
        gone = np.flatnonzero(~live)
        assert np.all(np.diff(gone) == 2)  # every second trace, no two neighbours gone
    assert np.flatnonzero(~odd)[0] == 1 and np.flatnonzero(~even)[0] == 2
    # together they remove every inner trace exactly once
    assert np.array_equal(~odd | ~even, np.r_[False, np.ones(n - 2, bool), False])
    assert not np.any(~odd & ~even)


def test_cube_masks_keep_every_line_end(bench):
    live = bench.end_kept_mask((23, 18), "random", seed=0)
    assert (~live).sum() == 207
    assert live[0].all() and live[-1].all() and live[:, 0].all() and live[:, -1].all()
    xl = bench.end_kept_mask((23, 18), "regular", phase=1, axis=-1)
    assert np.array_equal(np.flatnonzero(~xl[5]), np.arange(1, 17, 2))
    assert (xl == xl[0]).all()  # the same crosslines removed on every inline
    il = bench.end_kept_mask((23, 18), "regular", phase=0, axis=0)
    assert np.array_equal(np.flatnonzero(~il[:, 3]), np.arange(2, 22, 2))


def test_bad_arguments(bench):
    with pytest.raises(ValueError):
        bench.end_kept_mask((2,), "random")
    with pytest.raises(ValueError):
        bench.end_kept_mask((10,), "gap")
    with pytest.raises(ValueError):
        bench.end_kept_mask((10,), "regular", phase=2)
    with pytest.raises(ValueError):
        bench.end_kept_mask((4,), "random", fraction=0.9)  # 4 to remove, 2 inner traces


def _survey(bench, n_panels, shape):
    rng = np.random.default_rng(0)
    panels = [bench.Panel(f"p{i}", rng.standard_normal((*shape, 16)), 4.0,
                          ("trace", "time") if len(shape) == 1
                          else ("inline", "crossline", "time")) for i in range(n_panels)]
    return bench.RealSurvey("s", "test", panels)


@pytest.mark.parametrize(("n_panels", "shape", "n_random", "n_regular"), [
    (1, (24,), 3, 2),      # one gather: only its two every-second masks exist
    (2, (24,), 3, 4),
    (4, (30,), 4, 4),
    (1, (10, 9), 3, 4),    # a cube: two phases along each of two axes
])
def test_survey_masks_are_distinct_and_spread(bench, n_panels, shape, n_random, n_regular):
    sv = _survey(bench, n_panels, shape)
    for decimation, expected in (("random50", n_random), ("every2nd", n_regular)):
        masks = sv.masks(decimation, 3)
        assert len(masks) == expected
        pairs = {(id(p), live.tobytes()) for p, live, _ in masks}
        assert len(pairs) == expected  # no mask repeated on a panel
        assert {id(p) for p, _, _ in masks} == {id(p) for p in sv.panels}
        for p, live, _ in masks:
            assert live.shape == p.amp.shape[:-1]
            assert live[(0,) * live.ndim] and live[(-1,) * live.ndim]
