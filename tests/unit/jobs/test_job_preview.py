"""Previews: downsampled to ≤ 512 × 512, written atomically, only the newest kept."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from promethium_lab.jobs.preview import MAX_PREVIEW_SIZE, downsample, read_preview, write_preview


def cube(n_il=5, n_xl=1500, nt=1100):
    data = np.arange(n_il * n_xl * nt, dtype=np.float32).reshape(n_il, n_xl, nt)
    return xr.DataArray(data, dims=("inline", "crossline", "time"), name="amplitude",
                        coords={"inline": np.arange(n_il), "crossline": np.arange(n_xl),
                                "time": np.arange(nt) * 2.0},
                        attrs={"units": "m/s", "nested": {"a": 1}, "flag": True})


def test_downsample_cuts_to_a_section_and_decimates():
    da = cube()
    small = downsample(da)
    assert small.dims == ("crossline", "time")
    assert all(n <= MAX_PREVIEW_SIZE for n in small.shape)
    assert int(small["inline"]) == 2  # middle inline
    # integer strides: values are samples of the original
    step_x, step_t = 1500 // small.sizes["crossline"], 1100 // small.sizes["time"] + 1
    assert step_x == 3 and step_t == 3
    np.testing.assert_array_equal(small.values, da.values[2, ::3, ::3])



def test_downsample_is_the_blocks_middle_section():
    from promethium_lab.io.blocks import middle_section

    da = cube()
    xr.testing.assert_identical(downsample(da), middle_section(da, MAX_PREVIEW_SIZE))
    # a Dataset without amplitude is cut along its widest variable
    ds = xr.Dataset({"vel": da.rename("vel"),
                     "mask": (("inline", "crossline"), np.ones((5, 1500), bool))})
    small = downsample(ds)
    assert "amplitude" not in small and small["vel"].dims == ("crossline", "time")
    np.testing.assert_array_equal(small["vel"].values, da.values[2, ::3, ::3])
    np.testing.assert_array_equal(small["mask"].values, np.ones(500, bool))

def test_preview_round_trip_and_atomic_replace(tmp_path):
    da = cube()
    first = write_preview(da, tmp_path, "job1")
    assert first == tmp_path / "job1.nc"
    back = read_preview(first)
    assert isinstance(back, xr.DataArray) and back.name == "amplitude"
    np.testing.assert_array_equal(back.values, da.values[2, ::3, ::3])
    assert back.attrs["units"] == "m/s"
    assert da.attrs["nested"] == {"a": 1}  # the caller's object is untouched
    second = write_preview(da * 0 + 7, tmp_path, "job1")
    assert second == first
    assert float(read_preview(first).max()) == 7.0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job1.nc"]  # no temp files left


def test_dataset_preview_drops_what_netcdf_cannot_hold(tmp_path):
    da = cube(1, 40, 30)
    ds = xr.Dataset({"amplitude": da, "trace_mask": (("inline", "crossline"),
                                                     np.ones((1, 40), bool)),
                     "raw_headers": (("inline", "crossline"), np.zeros((1, 40), "V240"))},
                    attrs={"geometry": "poststack3d", "key_bytes": {"inline": 189}})
    back = read_preview(write_preview(ds, tmp_path, "j"))
    assert isinstance(back, xr.Dataset)
    assert "raw_headers" not in back and back["trace_mask"].dtype == bool
    assert back.attrs["geometry"] == "poststack3d"
    assert back["amplitude"].shape == (40, 30)


def test_read_missing_preview_is_none(tmp_path):
    assert read_preview(tmp_path / "nope.nc") is None


def test_preview_must_be_xarray(tmp_path):
    with pytest.raises(TypeError):
        write_preview(np.zeros((3, 3)), tmp_path, "j")
