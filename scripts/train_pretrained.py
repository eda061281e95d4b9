#!/usr/bin/env python
"""Train the small pretrained models shipped in ``promethium_lab/ml/weights``.

Each architecture (U-Net, denoising autoencoder, plane-wave PINN) is trained with
PyTorch Lightning on freshly generated synthetic sections
(:class:`promethium_lab.ml.data.SyntheticPatches`: random linear and hyperbolic Ricker
events, 2 or 4 ms, 12-40 Hz; 20-50 % of the traces hidden at random, regularly or in a
gap), with a fixed seed, on the CPU. The result is saved as version 1 of
``synthetic-<architecture>`` in the package registry, with the seed, the data recipe,
the training history and a check on the reference section (``synthetic_section()``,
30 % of its traces removed at random, seed 0): the SNR on the removed traces, against
0 dB for zero-filling.

    python scripts/train_pretrained.py                 # all three, ~minutes on 2 cores
    python scripts/train_pretrained.py --only unet --epochs 4

Weights stay under 2 MB each (width 16, depth 2: about 0.1 M parameters).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import torch

from promethium_lab.ml import registry
from promethium_lab.ml.data import SyntheticPatches
from promethium_lab.ml.models import build_model
from promethium_lab.ml.reconstruct import reconstruct_deep
from promethium_lab.ml.train import fit
from promethium_lab.signal.decimate import decimate
from promethium_lab.signal.qc import snr_missing
from promethium_lab.signal.synthetic import synthetic_section

CONFIGS = {
    "unet": {"depth": 2, "width": 16, "patch": [32, 64], "visible_weight": 0.1},
    "autoencoder": {"depth": 2, "width": 16, "patch": [32, 64], "visible_weight": 0.5},
    "pinn": {"depth": 2, "width": 16, "patch": [32, 64], "visible_weight": 0.1,
             "physics_weight": 0.1, "slope_smoothness": 0.01, "max_slope": 4.0},
}
RECIPE = {"hide_fraction": [0.2, 0.5], "hide_pattern": "mixed", "noise": 0.0,
          "signal_noise": 0.02, "max_slope": 2.0}


def reference_check(model: torch.nn.Module) -> dict[str, float]:
    """SNR on the removed traces of the reference section (zero-filling scores 0 dB)."""
    truth = synthetic_section()
    holey = decimate(truth, "random", 0.3, seed=0)
    out = reconstruct_deep(holey, model=model, device="cpu")
    return {"snr_missing_db": snr_missing(out, truth, holey["trace_mask"]),
            "zero_fill_snr_missing_db": snr_missing(holey, truth, holey["trace_mask"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="unet,autoencoder,pinn")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--patches", type=int, default=1024)
    ap.add_argument("--val-patches", type=int, default=128)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=registry.BUILTIN_ROOT)
    args = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    for arch in args.only.split(","):
        cfg = CONFIGS[arch]
        t0 = time.perf_counter()
        model = build_model(arch, **cfg)
        train = SyntheticPatches(cfg["patch"], args.patches, seed=args.seed, **RECIPE)
        val = SyntheticPatches(cfg["patch"], args.val_patches, seed=args.seed + 1_000_003,
                               augment=False, **RECIPE)
        with tempfile.TemporaryDirectory() as ckpt:
            result = fit(model, train, val, max_epochs=args.epochs, batch_size=args.batch_size,
                         lr=args.lr, seed=args.seed, patience=4, checkpoint_dir=ckpt,
                         accelerator="cpu")
        check = reference_check(result.model)
        meta = {
            "description": f"{arch} trained on synthetic sections by scripts/train_pretrained.py",
            "source": "synthetic",
            "data_hash": "synthetic:promethium_lab.ml.data.SyntheticPatches",
            "data_recipe": RECIPE,
            "seed": args.seed,
            "patch": cfg["patch"],
            "training": {**result.params, "n_patches": args.patches,
                         "val_patches": args.val_patches, "device": result.device,
                         "self_supervised": False},
            "metrics": {**result.metrics(), "reference_section": check},
        }
        entry = registry.save(result.model, f"synthetic-{arch}", root=args.out, metadata=meta,
                              version=1, overwrite=True)
        size = entry.weights_path.stat().st_size
        assert size < 2 * 2**20, f"{entry.weights_path} is {size} bytes"
        fin = result.final
        print(json.dumps({"model": entry.ref, "seconds": round(time.perf_counter() - t0, 1),
                          "epochs": result.epochs, "weights_bytes": size,
                          "val_snr_hidden_db": round(fin["snr_hidden_db"], 2)
                          if math.isfinite(fin["snr_hidden_db"]) else None,
                          **{k: round(v, 2) for k, v in check.items()}}))


if __name__ == "__main__":
    main()
