#!/usr/bin/env python
"""Train the small pretrained models shipped in ``promethium_lab/ml/weights``.

Each architecture (U-Net, denoising autoencoder, plane-wave PINN) is trained with
PyTorch Lightning on freshly generated synthetic sections
(:class:`promethium_lab.ml.data.SyntheticPatches`: random linear and hyperbolic Ricker
events, 2 or 4 ms, 12-40 Hz; 20-50 % of the traces hidden at random, regularly or in a
gap), with a fixed seed, on the CPU. The result is saved as version 1 of
``synthetic-<config>`` in the package registry, with the seed, the data recipe,
the training history and a check on the reference section (``synthetic_section()``,
30 % of its traces removed at random, seed 0): the SNR on the removed traces, against
0 dB for zero-filling.

The ``unet3d`` config is a 3-D U-Net (``spatial_dims=3``) trained the same way on
synthetic cubes (3-D ``SyntheticPatches``: 3-8 random dipping planes) and checked on the
reference cube (``synthetic_cube()``, 30 % of its traces removed at random, seed 0),
where the 2-D ``synthetic-unet`` applied line by line is scored too, for comparison. 3-D
steps cost much more than 2-D ones on the CPU, so it has its own defaults (:data:`TRAINING`:
768 patches per epoch, 24 epochs, batches of 8 — more, smaller steps for the same
compute), and trains in channels-last memory layout (faster oneDNN 3-D convolutions; the
saved weights are the same contiguous state dict).

    python scripts/train_pretrained.py                 # the 2-D three, ~minutes on 2 cores
    python scripts/train_pretrained.py --only unet --epochs 4
    python scripts/train_pretrained.py --only unet3d   # ~8 minutes on 2 cores

Weights stay under 2 MB each (width 16, depth 2: about 0.1 M parameters; the 3-D U-Net
width 8, depth 2: about 86 k).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from promethium_lab.core.errors import PromethiumError
from promethium_lab.ml import registry
from promethium_lab.ml.data import SyntheticPatches
from promethium_lab.ml.models import build_model
from promethium_lab.ml.reconstruct import reconstruct_deep
from promethium_lab.ml.train import fit
from promethium_lab.signal.decimate import decimate
from promethium_lab.signal.qc import snr_missing
from promethium_lab.signal.synthetic import synthetic_cube, synthetic_section

#: Model constructor keywords per config; the model is saved as ``synthetic-<config>``.
#: ``architecture`` defaults to the config's name.
CONFIGS = {
    "unet": {"depth": 2, "width": 16, "patch": [32, 64], "visible_weight": 0.1},
    "autoencoder": {"depth": 2, "width": 16, "patch": [32, 64], "visible_weight": 0.5},
    "pinn": {"depth": 2, "width": 16, "patch": [32, 64], "visible_weight": 0.1,
             "physics_weight": 0.1, "slope_smoothness": 0.01, "max_slope": 4.0},
    "unet3d": {"architecture": "unet", "spatial_dims": 3, "depth": 2, "width": 8,
               "patch": [16, 16, 64], "visible_weight": 0.1},
}
#: Per-config training defaults, overridden by the command-line options when given.
TRAINING = {
    "unet3d": {"epochs": 24, "patches": 768, "val_patches": 64, "batch_size": 8,
               "channels_last": True},
}
DEFAULT_TRAINING = {"epochs": 12, "patches": 1024, "val_patches": 128, "batch_size": 16,
                    "lr": 2e-3, "channels_last": False}
RECIPE = {"hide_fraction": [0.2, 0.5], "hide_pattern": "mixed", "noise": 0.0,
          "signal_noise": 0.02, "max_slope": 2.0}


def reference_check(model: torch.nn.Module) -> dict[str, float]:
    """SNR on the removed traces of the reference section (zero-filling scores 0 dB)."""
    truth = synthetic_section()
    holey = decimate(truth, "random", 0.3, seed=0)
    out = reconstruct_deep(holey, model=model, device="cpu")
    return {"snr_missing_db": snr_missing(out, truth, holey["trace_mask"]),
            "zero_fill_snr_missing_db": snr_missing(holey, truth, holey["trace_mask"])}


def reference_check_3d(model: torch.nn.Module, root: Path) -> dict[str, Any]:
    """SNR on the removed traces of the reference cube (``synthetic_cube()``, 30 % of its
    traces removed at random, seed 0; zero-filling scores 0 dB), with the 2-D
    ``synthetic-unet`` applied line by line (along crosslines) for comparison."""
    truth = synthetic_cube()
    holey = decimate(truth, "random", 0.3, seed=0)
    out = reconstruct_deep(holey, model=model, device="cpu")
    check: dict[str, Any] = {
        "snr_missing_db": snr_missing(out, truth, holey["trace_mask"]),
        "zero_fill_snr_missing_db": snr_missing(holey, truth, holey["trace_mask"])}
    try:
        line = reconstruct_deep(holey, model=registry.load("synthetic-unet", root=root),
                                device="cpu")
    except PromethiumError:  # no 2-D model to compare with
        return check
    check["unet2d_line_by_line_snr_missing_db"] = snr_missing(line, truth,
                                                               holey["trace_mask"])
    check["unet2d_model"] = line.attrs["reconstruction"]["params"]["model"]
    return check


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="unet,autoencoder,pinn",
                    help=f"comma-separated configs, of {sorted(CONFIGS)}")
    ap.add_argument("--epochs", type=int, default=None,
                    help="default 12 (unet3d: 24)")
    ap.add_argument("--patches", type=int, default=None,
                    help="training patches per epoch; default 1024 (unet3d: 768)")
    ap.add_argument("--val-patches", type=int, default=None,
                    help="default 128 (unet3d: 64)")
    ap.add_argument("--batch-size", type=int, default=None, help="default 16 (unet3d: 8)")
    ap.add_argument("--lr", type=float, default=None, help="default 2e-3")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=registry.BUILTIN_ROOT)
    args = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    for name in args.only.split(","):
        cfg = dict(CONFIGS[name])
        arch = cfg.pop("architecture", name)
        opts = {**DEFAULT_TRAINING, **TRAINING.get(name, {})}
        for key in ("epochs", "patches", "val_patches", "batch_size", "lr"):
            if getattr(args, key) is not None:
                opts[key] = getattr(args, key)
        three_d = cfg.get("spatial_dims", 2) == 3
        t0 = time.perf_counter()
        model = build_model(arch, **cfg)
        if opts["channels_last"]:
            model = model.to(memory_format=torch.channels_last_3d if three_d
                             else torch.channels_last)
        train = SyntheticPatches(cfg["patch"], opts["patches"], seed=args.seed, **RECIPE)
        val = SyntheticPatches(cfg["patch"], opts["val_patches"], seed=args.seed + 1_000_003,
                               augment=False, **RECIPE)
        with tempfile.TemporaryDirectory() as ckpt:
            result = fit(model, train, val, max_epochs=opts["epochs"],
                         batch_size=opts["batch_size"], lr=opts["lr"], seed=args.seed,
                         patience=4, checkpoint_dir=ckpt, accelerator="cpu")
        # back to the default layout, so the check scores the model as it will be loaded
        result.model.to(memory_format=torch.contiguous_format)
        if three_d:
            check = reference_check_3d(result.model, args.out)
            reference = "reference_cube"
        else:
            check = reference_check(result.model)
            reference = "reference_section"
        kind = "cubes" if three_d else "sections"
        meta = {
            "description": f"{arch} ({len(cfg['patch'])}-D) trained on synthetic {kind} by "
                           f"scripts/train_pretrained.py --only {name}",
            "source": "synthetic",
            "data_hash": "synthetic:promethium_lab.ml.data.SyntheticPatches",
            "data_recipe": RECIPE,
            "seed": args.seed,
            "patch": cfg["patch"],
            "training": {**result.params, "n_patches": opts["patches"],
                         "val_patches": opts["val_patches"], "device": result.device,
                         "channels_last": opts["channels_last"],
                         "self_supervised": False},
            "metrics": {**result.metrics(), reference: check},
        }
        entry = registry.save(result.model, f"synthetic-{name}", root=args.out, metadata=meta,
                              version=1, overwrite=True)
        size = entry.weights_path.stat().st_size
        assert size < 2 * 2**20, f"{entry.weights_path} is {size} bytes"
        fin = result.final
        print(json.dumps({"model": entry.ref, "seconds": round(time.perf_counter() - t0, 1),
                          "epochs": result.epochs, "weights_bytes": size,
                          "val_snr_hidden_db": round(fin["snr_hidden_db"], 2)
                          if math.isfinite(fin["snr_hidden_db"]) else None,
                          **{k: round(v, 2) if isinstance(v, float) else v
                             for k, v in check.items()}}))

if __name__ == "__main__":
    main()
