"""io.blocks: the one tiler, block runner, filled-survey builder and preview slicer."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import xarray as xr

from promethium_lab.io.blocks import (
    aligned_step,
    budget_step,
    filled_survey,
    middle_section,
    run_blocks,
    tile,
)


def test_tile_covers_every_cell_once_in_c_order():
    blocks = tile((5, 7), (2, 3))
    seen = np.zeros((5, 7), dtype=int)
    for b in blocks:
        seen[b] += 1
    assert (seen == 1).all()
    assert blocks[0] == (slice(0, 2), slice(0, 3))
    assert blocks[1] == (slice(0, 2), slice(3, 6))
    assert blocks[-1] == (slice(4, 5), slice(6, 7))


def test_tile_of_a_region_with_an_origin():
    blocks = tile((4,), (3,), origin=(10,))
    assert blocks == [(slice(10, 13),), (slice(13, 14),)]


def test_aligned_step_is_a_multiple_of_every_chunk_grid_and_within_budget():
    step = aligned_step((256, 300), [(16, 32), (128, 4)], 100, 4 * 2**20)
    assert all(s % 16 == 0 or s == 256 for s in step[:1])
    assert step[1] % 32 == 0 or step[1] == 300
    assert step[0] % 128 == 0 or step[0] == 256


def test_budget_step_fills_last_dims_first_or_halves():
    assert budget_step((100, 50), 256, 50 * 10 * 256 * 4 / 2**20) == (10, 50)
    halved = budget_step((100, 50), 256, 0.5, halve=True)
    assert np.prod(halved) * 256 * 4 <= 0.5 * 2**20
    assert budget_step((3,), 10, 1e-9) == (1,)


def test_run_blocks_serial_threads_and_cancel():
    out: list[int] = []
    assert not run_blocks(lambda i: i * i, range(5), on_done=out.append)
    assert out == [0, 1, 4, 9, 16]

    lock = threading.Lock()
    got: set[int] = set()

    def add(r: int) -> None:
        with lock:
            got.add(r)

    assert not run_blocks(lambda i: i, range(20), workers=3, on_done=add)
    assert got == set(range(20))

    done: list[int] = []
    stopped = run_blocks(lambda i: i, range(10), should_stop=lambda: len(done) >= 3,
                         on_done=done.append)
    assert stopped and done == [0, 1, 2]


def test_run_blocks_errors_propagate():
    def boom(i: int) -> None:
        raise ValueError(i)

    with pytest.raises(ValueError):
        run_blocks(boom, range(3))


def _survey() -> xr.Dataset:
    amp = np.arange(4 * 3 * 5, dtype=np.float32).reshape(4, 3, 5)
    mask = np.ones((4, 3), dtype=bool)
    mask[1, 2] = False
    return xr.Dataset(
        {"amplitude": (("inline", "crossline", "time"), amp),
         "trace_mask": (("inline", "crossline"), mask, {"note": "kept"}),
         "fast_time": (("inline", "crossline", "time"), amp)},
        coords={"time": np.arange(5) * 4.0})


def test_filled_survey_marks_every_trace_live_and_keeps_the_input_mask():
    ds = _survey()
    new = np.zeros(ds["amplitude"].shape, dtype=np.float32)
    out = filled_survey(ds, new)
    assert out["trace_mask"].values.all()
    assert out["trace_mask"].attrs == {"note": "kept"}
    np.testing.assert_array_equal(out["input_trace_mask"], ds["trace_mask"])
    assert "fast_time" not in out
    np.testing.assert_array_equal(out["amplitude"], new)
    assert out["amplitude"].dims == ds["amplitude"].dims
    template = filled_survey(ds)  # amplitude kept: a template to fill block by block
    np.testing.assert_array_equal(template["amplitude"], ds["amplitude"])
    given = np.zeros((4, 3), dtype=bool)
    given[0, 0] = True
    assert filled_survey(ds, input_mask=given)["input_trace_mask"].values.sum() == 1


def test_middle_section_of_a_cube_and_of_an_array():
    ds = _survey()
    sec = middle_section(ds["amplitude"])
    assert sec.dims == ("crossline", "time")
    np.testing.assert_array_equal(sec, ds["amplitude"].values[2])
    one = ds["amplitude"].isel(crossline=[1])  # singleton dims go first
    assert middle_section(one).dims == ("inline", "time")
    arr = middle_section(ds["amplitude"].values)
    np.testing.assert_array_equal(arr, ds["amplitude"].values[2])
    small = middle_section(xr.DataArray(np.zeros((10, 1000)), dims=("x", "time")), 100)
    assert small.shape == (10, 100)
