"""The ReconstructionModel interface and its three implementations."""

from __future__ import annotations

import sys

import pytest
import torch

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.ml.models import (
    ARCHITECTURES,
    DenoisingAutoencoder,
    PlaneWavePINN,
    ReconstructionModel,
    UNet,
    build_model,
    plane_wave_residual,
)

ARCHS = ["unet", "autoencoder", "pinn"]


def _batch(shape: tuple[int, ...], n: int = 3, seed: int = 0) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    target = torch.randn(n, 1, *shape, generator=g)
    mask = (torch.rand(n, 1, *shape[:-1], 1, generator=g) > 0.3).float()
    return target * mask, mask, target


def test_architecture_table() -> None:
    assert {"unet": UNet, "autoencoder": DenoisingAutoencoder, "pinn": PlaneWavePINN} \
        .items() <= ARCHITECTURES.items()
    for cls in (UNet, DenoisingAutoencoder, PlaneWavePINN):
        assert issubclass(cls, ReconstructionModel)
    docs = {a: sys.modules[ARCHITECTURES[a].__module__].__doc__ for a in ARCHS}
    assert "Ronneberger" in docs["unet"] and "Vincent" in docs["autoencoder"]
    assert "Raissi" in docs["pinn"] and "Fomel" in docs["pinn"]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("patch", [(16, 32), (8, 8, 16)])
def test_forward_shapes_and_loss(tiny, arch: str, patch: tuple[int, ...]) -> None:
    model = tiny(arch, spatial_dims=len(patch), patch=patch)
    x, mask, target = _batch(patch)
    out = model(x, mask)
    assert out.shape == (3, 1 + model.n_aux, *patch)
    assert model.n_aux == (len(patch) - 1 if arch == "pinn" else 0)
    assert torch.isfinite(out).all()
    assert torch.equal(model.reconstruct(x, mask), out[:, :1])
    loss = model.loss(out, target, mask)
    assert loss.ndim == 0 and float(loss.detach()) > 0
    model.train()
    loss = model.loss(model(x, mask), target, mask)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("arch", ARCHS)
def test_scale_equivariant_and_batch_independent(tiny, arch: str) -> None:
    model = tiny(arch, patch=(16, 32))
    x, mask, _ = _batch((16, 32), n=4)
    with torch.no_grad():
        base = model.reconstruct(x, mask)
        scaled = model.reconstruct(1000.0 * x, mask)
        torch.testing.assert_close(scaled, 1000.0 * base, rtol=1e-4, atol=1e-3)
        one = model.reconstruct(x[2:3], mask[2:3])
        torch.testing.assert_close(one, base[2:3], rtol=1e-5, atol=1e-5)


def test_unet_mask_is_an_input(tiny) -> None:
    model = tiny("unet", patch=(16, 32))
    x, mask, _ = _batch((16, 32), n=1)
    with torch.no_grad():
        a = model.reconstruct(x, mask)
        b = model.reconstruct(x, torch.ones_like(mask))
    assert not torch.allclose(a, b)


def test_patch_must_fit_depth(tiny) -> None:
    model = tiny("unet", depth=3, patch=(32, 64))
    assert model.multiple == 8
    with pytest.raises(PromethiumError) as err:
        model.check_patch((30, 64))
    assert err.value.code is ErrorCode.INVALID_PARAMETER
    assert "(32, 64)" in err.value.hint
    with pytest.raises(PromethiumError, match="needs 2"):
        model.check_patch((32, 32, 64))
    with pytest.raises(PromethiumError) as err:
        build_model("unet", depth=3, patch=(20, 64))
    assert err.value.code is ErrorCode.INVALID_PARAMETER
    with pytest.raises(PromethiumError):
        model(torch.zeros(1, 1, 28, 64), torch.ones(1, 1, 28, 1))


def test_build_model_errors() -> None:
    with pytest.raises(PromethiumError) as err:
        build_model("transformer")
    assert err.value.code is ErrorCode.INVALID_PARAMETER and "unet" in err.value.hint
    with pytest.raises(PromethiumError, match="bad configuration"):
        build_model("unet", colour="red")
    with pytest.raises(PromethiumError):
        build_model("unet", spatial_dims=4)
    with pytest.raises(PromethiumError):
        build_model("pinn", physics_weight=-1.0)


def test_loss_weights_hidden_and_ignores_invalid(tiny) -> None:
    model = tiny("unet", patch=(8, 16), visible_weight=0.25)
    target = torch.randn(1, 1, 8, 16)
    mask = torch.ones(1, 1, 8, 1)
    mask[..., 2, :] = 0
    assert float(model.loss(target, target, mask)) == 0.0
    bad_visible = target.clone()
    bad_visible[..., 5, :] += 1.0
    bad_hidden = target.clone()
    bad_hidden[..., 2, :] += 1.0
    lv = float(model.loss(bad_visible, target, mask))
    lh = float(model.loss(bad_hidden, target, mask))
    assert lv == pytest.approx(0.25 * lh, rel=1e-5)
    valid = torch.ones_like(mask)
    valid[..., 2, :] = 0  # the hidden trace's truth is unknown: no penalty
    assert float(model.loss(bad_hidden, target, mask, valid)) == 0.0


def test_plane_wave_residual_vanishes_for_the_true_slope() -> None:
    p = 1.3  # samples per trace
    i = torch.arange(24.0)[:, None]
    t = torch.arange(64.0)[None, :]
    u = torch.cos(0.25 * (t - p * i))[None, None]
    right = plane_wave_residual(u, torch.full_like(u, p)).pow(2).mean()
    flat = plane_wave_residual(u, torch.zeros_like(u)).pow(2).mean()
    wrong = plane_wave_residual(u, torch.full_like(u, -p)).pow(2).mean()
    assert float(right) < 1e-3 * float(flat)
    assert float(right) < 1e-3 * float(wrong)
    # 3-D: u = f(t - p1 i - p2 j) with slopes (p1, p2)
    p1, p2 = 0.7, -1.1
    j = torch.arange(10.0)
    u3 = torch.cos(0.25 * (t[None] - p1 * j[:, None, None] - p2 * j[None, :, None]))[None, None]
    s3 = torch.stack([torch.full(u3.shape[2:], p1), torch.full(u3.shape[2:], p2)])[None]
    r3 = plane_wave_residual(u3, s3)
    assert r3.shape == (1, 2, 9, 9, 63)
    assert float(r3.pow(2).mean()) < 1e-3 * float(
        plane_wave_residual(u3, torch.zeros_like(s3)).pow(2).mean())


def test_pinn_loss_adds_weighted_physics(tiny) -> None:
    model = tiny("pinn", patch=(16, 32), physics_weight=0.5, slope_smoothness=0.2)
    x, mask, target = _batch((16, 32))
    with torch.no_grad():
        terms = model.loss_terms(model(x, mask), target, mask)
    assert set(terms) >= {"loss", "data", "physics", "slope_roughness"}
    expected = terms["data"] + 0.5 * terms["physics"] + 0.2 * terms["slope_roughness"]
    torch.testing.assert_close(terms["loss"], expected)
    with torch.no_grad():
        slopes = model.slopes(x, mask)
    assert slopes.shape == (3, 1, 16, 32) and float(slopes.abs().max()) <= model.max_slope
    assert model.config()["physics_weight"] == 0.5
