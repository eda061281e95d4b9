"""Sliding-window inference: blending, equality with a direct pass and with MONAI,
blocked (bounded-memory) survey inference, Zarr in and out, progress and cancel."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest
import torch
from monai.inferers import sliding_window_inference as monai_swi

import promethium_lab.ml.infer as infer_mod
from promethium_lab.core.context import TaskContext
from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.store import is_complete_store, open_store
from promethium_lab.ml.infer import (
    blend_window,
    dense_windows,
    infer_survey,
    model_predictor,
    sliding_window_inference,
)
from promethium_lab.signal.decimate import decimate


def _inputs(ds) -> torch.Tensor:
    """``[x, mask]`` of a survey as one (1, 2, *shape) tensor."""
    x = torch.from_numpy(np.asarray(ds["amplitude"].values, np.float32))
    m = torch.from_numpy(ds["trace_mask"].values.astype(np.float32))[..., None].expand_as(x)
    return torch.stack([x, m])[None]


def test_cosine_window_is_hann_and_cola() -> None:
    w = blend_window((1, 8))
    n = torch.arange(8.0)
    torch.testing.assert_close(w[0], torch.sin(torch.pi * (n + 0.5) / 8) ** 2)
    assert float(w.min()) > 0
    # shifted by half a window the Hann windows sum to a constant (COLA)
    line = blend_window((16,))
    total = line[:8] + line[8:]
    torch.testing.assert_close(total, torch.ones(8))
    assert torch.equal(blend_window((3, 4), "constant"), torch.ones(3, 4))
    with pytest.raises(PromethiumError):
        blend_window((4,), "hamming")


@pytest.mark.parametrize("blend", ["cosine", "gaussian", "constant"])
@pytest.mark.parametrize("overlap", [0.0, 0.25, 0.5, 0.75])
def test_blend_is_a_partition_of_unity(blend: str, overlap: float) -> None:
    x = torch.randn(2, 3, 37, 70)
    out = sliding_window_inference(x, (16, 32), 5, lambda w: w, overlap, blend)
    torch.testing.assert_close(out, x, rtol=1e-5, atol=1e-5)


def _direct(model, inputs: torch.Tensor) -> torch.Tensor:
    """A direct forward pass on ``inputs`` laid out channels-last, as the engine hands CPU
    window batches to :func:`model_predictor`'s predictor."""
    fmt = torch.channels_last if inputs.ndim == 4 else torch.channels_last_3d
    inputs = inputs.contiguous(memory_format=fmt)
    with torch.no_grad():
        return model.reconstruct(inputs[:, :1], inputs[:, 1:2])


def test_same_as_monai_with_the_same_window(tiny) -> None:
    model = tiny("unet", patch=(16, 32))
    pred = model_predictor(model)

    def plain(w: torch.Tensor) -> torch.Tensor:  # no layout flag: contiguous batches
        return pred(w)

    x = torch.randn(2, 2, 50, 90)
    x[:, 1] = (x[:, 1] > 0).float()
    for roi, overlap in (((16, 32), 0.5), ((16, 32), 0.25), ((64, 32), 0.5)):
        with torch.no_grad():
            ref = monai_swi(x, roi, 4, pred, overlap, mode="gaussian")
        # the same windows, weights and batches as MONAI, summed in the same order
        same = sliding_window_inference(x, roi, 4, plain, overlap, blend="gaussian")
        assert same.shape == ref.shape == (2, 1, 50, 90)
        assert torch.equal(same, ref)
        # channels-last batches: the same up to float rounding in the convolutions
        ours = sliding_window_inference(x, roi, 4, pred, overlap, blend="gaussian")
        assert float((ours - ref).abs().max()) <= 2e-5 * float(ref.abs().max())
    assert len(dense_windows((50, 90), (16, 32), 0.5)) == 6 * 5


def test_window_batches_layout(tiny) -> None:
    """CPU batches go channels-last to predictors that accept it, contiguous to others;
    the predictor's output is neither modified nor kept."""
    model = tiny("unet", patch=(16, 32))
    pred = model_predictor(model)
    assert getattr(pred, infer_mod.CHANNELS_LAST_OK)
    seen: dict[str, list[bool]] = {"flagged": [], "plain": []}
    outputs: list[tuple[torch.Tensor, torch.Tensor]] = []

    def flagged(w: torch.Tensor) -> torch.Tensor:
        seen["flagged"].append(w.is_contiguous(memory_format=torch.channels_last))
        return pred(w)

    setattr(flagged, infer_mod.CHANNELS_LAST_OK, True)

    def plain(w: torch.Tensor) -> torch.Tensor:
        seen["plain"].append(w.is_contiguous())
        y = pred(w)
        outputs.append((y, y.clone()))
        return y

    x = torch.randn(1, 2, 40, 70)
    x[:, 1] = (x[:, 1] > 0).float()
    a = sliding_window_inference(x, (16, 32), 3, flagged)
    b = sliding_window_inference(x, (16, 32), 3, plain)
    assert seen["flagged"] and all(seen["flagged"])
    assert seen["plain"] and all(seen["plain"])
    assert all(torch.equal(y, copy) for y, copy in outputs)
    assert float((a - b).abs().max()) <= 2e-5 * float(b.abs().max())
    # cube windows of a 2-D model: channels_last_3d, squeezed by the predictor
    cube = torch.randn(3, 2, 1, 16, 32)
    cube[:, 1] = (cube[:, 1] > 0).float()
    sq = model_predictor(model, (0,))
    with torch.no_grad():
        y_cl = sq(cube.contiguous(memory_format=torch.channels_last_3d))
        y = sq(cube)
    assert y_cl.shape == y.shape == (3, 1, 1, 16, 32)
    assert float((y_cl - y).abs().max()) <= 2e-5 * float(y.abs().max())


def test_one_window_equals_a_direct_forward_pass(tiny, section) -> None:
    ds = decimate(section.isel(trace=slice(0, 32), time=slice(0, 64)), "random", 0.3, seed=0)
    model = tiny("unet", patch=(32, 64))
    inputs = _inputs(ds)
    direct = _direct(model, inputs)
    out = infer_survey(ds, model, mode="denoise", device="cpu")
    np.testing.assert_allclose(out["amplitude"].values, direct[0, 0].numpy(), rtol=1e-5,
                               atol=1e-6)
    engine = sliding_window_inference(inputs, (32, 64), 1, model_predictor(model))
    torch.testing.assert_close(engine, direct, rtol=1e-5, atol=1e-6)
    with torch.no_grad():  # the contiguous layout: the same up to float rounding
        plain = model.reconstruct(inputs[:, :1], inputs[:, 1:2])
    assert float((engine - plain).abs().max()) <= 2e-5 * float(plain.abs().max())


def test_one_window_3d(tiny, cube) -> None:
    ds = decimate(cube.isel(inline=slice(0, 8), crossline=slice(0, 16), time=slice(0, 32)),
                  "random", 0.3, seed=0)
    model = tiny("unet", spatial_dims=3, patch=(8, 16, 32))
    inputs = _inputs(ds)
    direct = _direct(model, inputs)
    out = infer_survey(ds, model, mode="denoise", device="cpu")
    np.testing.assert_allclose(out["amplitude"].values, direct[0, 0].numpy(), rtol=1e-5,
                               atol=1e-6)


def test_blocked_equals_one_pass_and_missing_keeps_live(tiny, holey) -> None:
    model = tiny("pinn", patch=(16, 32))
    with torch.no_grad():
        ref = sliding_window_inference(_inputs(holey), (16, 32), 8, model_predictor(model))
    whole = infer_survey(holey, model, mode="denoise", block_mb=100)
    blocked = infer_survey(holey, model, mode="denoise", block_mb=0.01)  # 13 traces a block
    np.testing.assert_allclose(whole["amplitude"].values, ref[0, 0].numpy(), atol=1e-5)
    np.testing.assert_allclose(blocked["amplitude"].values, ref[0, 0].numpy(), atol=1e-5)
    filled = infer_survey(holey, model, mode="missing", block_mb=0.01)
    live = holey["trace_mask"].values
    np.testing.assert_array_equal(filled["amplitude"].values[live],
                                  holey["amplitude"].values[live])
    np.testing.assert_allclose(filled["amplitude"].values[~live], ref[0, 0].numpy()[~live],
                               atol=1e-5)
    assert filled["trace_mask"].values.all()
    np.testing.assert_array_equal(filled["input_trace_mask"].values, live)
    rec = filled.attrs["reconstruction"]
    assert rec["method"] == "pinn" and rec["n_filled"] == int((~live).sum())
    assert rec["params"]["mode"] == "missing" and rec["params"]["blend"] == "cosine"


def test_blocks_run_through_the_block_engine(tiny, holey, monkeypatch) -> None:
    """One tiler, one runner: the survey's blocks go through ``io.blocks.run_blocks``
    (no loop of its own in ``ml``), and the model gets its training mode back."""
    model = tiny("pinn", patch=(16, 32)).train()
    runs: list[int] = []
    real_run = infer_mod.run_blocks

    def spy(work, todo, **kwargs):
        todo = list(todo)
        runs.append(len(todo))
        return real_run(work, todo, **kwargs)

    monkeypatch.setattr(infer_mod, "run_blocks", spy)
    infer_survey(holey, model, mode="denoise", block_mb=0.01)
    assert runs == [len(infer_mod.tile((80,), infer_mod.budget_step((80,), 200, 0.01)))]
    assert runs[0] > 1 and model.training


def test_2d_model_on_a_cube_runs_section_by_section(tiny, cube) -> None:
    ds = decimate(cube, "random", 0.3, seed=2)
    model = tiny("unet", patch=(16, 32))
    out = infer_survey(ds, model, mode="denoise", line_dim="crossline", block_mb=0.02)
    inputs = _inputs(ds)  # (1, 2, il, xl, t): each inline is one 2-D image
    per_inline = inputs[0].permute(1, 0, 2, 3)
    with torch.no_grad():
        ref = sliding_window_inference(per_inline, (16, 32), 8, model_predictor(model))
    np.testing.assert_allclose(out["amplitude"].values, ref[:, 0].numpy(), atol=1e-5)
    along_inline = infer_survey(ds, model, mode="missing", line_dim="inline", patch=(8, 32))
    assert along_inline["amplitude"].shape == ds["amplitude"].shape


def test_zarr_in_zarr_out_with_bounded_reads(tiny, store, lazy, holey, tmp_path,
                                             monkeypatch) -> None:
    model = tiny("unet", patch=(16, 32))
    reads: list[tuple[int, ...]] = []
    real_read = infer_mod._read

    def spy(data, index):
        block = real_read(data, index)
        reads.append(block.shape)
        return block

    monkeypatch.setattr(infer_mod, "_read", spy)
    out_path = tmp_path / "filled.zarr"
    result = infer_survey(lazy, model, mode="missing", out=out_path, block_mb=0.02)
    assert is_complete_store(out_path)
    assert len(reads) > 1
    assert max(np.prod(s) for s in reads) < holey["amplitude"].size  # never the whole survey
    in_memory = infer_survey(holey, model, mode="missing")
    np.testing.assert_allclose(result["amplitude"].values, in_memory["amplitude"].values,
                               atol=1e-5)
    again = open_store(out_path)
    assert again["trace_mask"].values.all()
    assert again.attrs["reconstruction"]["params"]["mode"] == "missing"
    with pytest.raises(PromethiumError) as err:
        infer_survey(lazy, model, out=out_path)
    assert err.value.code is ErrorCode.OUTPUT_EXISTS


def test_progress_preview_and_cancel(tiny, holey, lazy, tmp_path) -> None:
    model = tiny("unet", patch=(16, 32))
    seen: list[float] = []
    previews: list[object] = []
    ctx = TaskContext(on_progress=lambda f, m: seen.append(f), on_preview=previews.append,
                      show_progress=False)
    infer_survey(holey, model, context=ctx, block_mb=0.01, batch_size=2)
    assert seen[-1] == 1.0 and all(b >= a for a, b in itertools.pairwise(seen)) and len(seen) > 3
    assert previews and previews[-1].dims == ("trace", "time")

    event = threading.Event()
    calls = []

    def cancel_after_two(fraction: float, message: str) -> None:
        calls.append(fraction)
        if len(calls) == 2:
            event.set()

    ctx = TaskContext(on_progress=cancel_after_two, cancel_event=event, show_progress=False)
    with pytest.raises(PromethiumError) as err:
        infer_survey(holey, model, mode="denoise", context=ctx, block_mb=0.01, batch_size=1)
    assert err.value.code is ErrorCode.CANCELED
    event.clear()
    calls.clear()
    out_path = tmp_path / "canceled.zarr"
    with pytest.raises(PromethiumError) as err:
        infer_survey(lazy, model, mode="denoise", context=ctx, block_mb=0.01, batch_size=1,
                     out=out_path)
    assert err.value.code is ErrorCode.CANCELED
    assert not out_path.exists()  # only the .partial store: never read as complete


def test_engine_argument_errors() -> None:
    x = torch.zeros(1, 1, 8, 8)
    with pytest.raises(PromethiumError):
        sliding_window_inference(x, (4, 4), 1, lambda w: w, overlap=1.0)
    with pytest.raises(PromethiumError):
        sliding_window_inference(x, (4, 4, 4), 1, lambda w: w)
    with pytest.raises(PromethiumError):
        sliding_window_inference(x, (4, 4), 0, lambda w: w)
