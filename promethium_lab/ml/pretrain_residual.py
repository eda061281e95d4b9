"""Train the shipped weights of ``method="deep"`` (:data:`promethium_lab.ml.residual.PRETRAINED`).

Run ``python -m promethium_lab.ml.pretrain_residual`` (seed 0, CPU, one torch thread; a few
minutes on 2 cores). It generates realistic synthetic sections (:func:`realistic_section`:
curved and conflicting dips, amplitude decay, top mutes, band-limited field-like noise and
trace-amplitude jitter), decimates them in the samplings ``deep`` meets (50 % random
traces, every second trace, and the every-fourth sampling of its own training on a
regularly decimated survey), fills them with the classical methods ``auto`` picks there
(PWD, or linear interpolation for part of the random masks), and trains
:class:`~promethium_lab.ml.residual.ResidualNet` to predict the error of that fill on the
filled traces, with the same time gain and normalisation as
:func:`~promethium_lab.ml.residual.reconstruct_residual`. The weights, their config and the
training metadata (seed, recipe, history, versions, ``weights_sha256``) are written in the
registry layout to ``--out`` (default the shipped directory).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main", "realistic_section", "training_pairs"]


def realistic_section(rng: np.random.Generator, n_traces: int = 64, n_samples: int = 256,
                      dt_ms: float = 4.0) -> np.ndarray:
    """One synthetic section ``(traces, samples)`` of field-like character.

    Linear events of conflicting dips, hyperbolic and parabolic (curved) ones, Ricker
    wavelets of 12-40 Hz, a decay ``t^-a`` of the amplitude, a top mute on half of them,
    band-limited noise (2-15 % of the RMS) and trace-to-trace amplitude jitter.
    """
    from promethium_lab.signal.synthetic import ricker

    t = np.arange(n_samples) * dt_ms
    x = np.arange(n_traces, dtype=np.float64)
    out = np.zeros((n_traces, n_samples))
    for _ in range(int(rng.integers(6, 16))):
        t0 = rng.uniform(0, n_samples * dt_ms)
        kind = rng.choice(["linear", "hyperbola", "parabola"], p=[0.5, 0.3, 0.2])
        if kind == "linear":
            times = t0 + rng.uniform(-6, 6) * dt_ms * (x - rng.uniform(0, n_traces))
        elif kind == "hyperbola":
            x0 = rng.uniform(-n_traces / 2, 1.5 * n_traces)
            v = rng.uniform(0.15, 1.5)  # traces per ms
            times = np.sqrt(t0**2 + ((x - x0) / v) ** 2)
        else:
            x0 = rng.uniform(0, n_traces)
            times = t0 + rng.uniform(-0.6, 0.6) * dt_ms * (x - x0) ** 2 / 8
        freq = rng.uniform(12, 40)
        amp = rng.choice([-1, 1]) * rng.uniform(0.3, 1.0)
        amp_x = amp * (1 + 0.3 * np.sin(x / rng.uniform(4, 30) + rng.uniform(0, 6)))
        out += amp_x[:, None] * ricker(t[None, :] - times[:, None], freq)
    decay = (1 + t / rng.uniform(50, 400)) ** -rng.uniform(0, 2)
    out *= decay[None, :]
    if rng.random() < 0.5:  # top mute along a hyperbola
        xs, v = rng.uniform(0, n_traces), rng.uniform(0.1, 0.5)
        tm = rng.uniform(0, 0.3) * n_samples * dt_ms + np.abs(x - xs) / v
        ramp = np.clip((t[None, :] - tm[:, None]) / (10 * dt_ms), 0, 1)
        out *= ramp
    rms = float(np.sqrt(np.mean(out**2))) or 1.0
    noise = rng.standard_normal(out.shape)
    kernel = ricker(np.arange(-16, 17) * dt_ms, rng.uniform(15, 50))
    noise = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="same"), 1, noise)
    noise *= rng.uniform(0.02, 0.15) * rms / (float(np.sqrt(np.mean(noise**2))) or 1.0)
    noise *= decay[None, :] ** 0.5
    out = (out + noise) * rng.uniform(0.7, 1.3, n_traces)[:, None]
    return (out / np.abs(out).max()).astype(np.float32)


def _mask(rng: np.random.Generator, n: int) -> tuple[np.ndarray, str]:
    live = np.ones(n, dtype=bool)
    r = rng.random()
    if r < 0.45:
        k = int(rng.uniform(0.3, 0.6) * n)
        live[1 + rng.choice(n - 2, size=k, replace=False)] = False
        return live, "random"
    step = 2 if r < 0.8 else 4
    phase = int(rng.integers(step))
    live[:] = False
    live[phase::step] = True
    live[0] = live[-1] = True
    return live, f"every{step}"


def training_pairs(n: int, seed: int = 0, n_traces: int = 64, n_samples: int = 256
                   ) -> dict[str, np.ndarray]:
    """``n`` synthetic (classical fill, filled traces, truth) triples, normalised as
    :func:`~promethium_lab.ml.residual.reconstruct_residual` normalises a survey."""
    from promethium_lab.signal.gain import gain_curve
    from promethium_lab.signal.reconstruct import reconstruct
    from promethium_lab.signal.synthetic import make_survey

    rng = np.random.default_rng(seed)
    xs, fs, ts, kinds = [], [], [], []
    for i in range(n):
        amp = realistic_section(rng, n_traces, n_samples)
        live, kind = _mask(rng, n_traces)
        ds = make_survey(amp, 4.0, dims=("trace", "time"), mask=live)
        method = "linear" if kind == "random" and rng.random() < 0.4 else "pwd"
        fill = np.asarray(reconstruct(ds, method=method)["amplitude"].values, np.float32)
        curve = gain_curve(ds)
        gained = np.asarray(ds["amplitude"].values) * curve
        norm = curve / (float(np.sqrt(np.mean(gained[live] ** 2))) or 1.0)
        xs.append(fill * norm)
        fs.append(~live)
        ts.append(amp * norm)
        kinds.append(f"{kind}/{method}")
        if (i + 1) % 20 == 0:
            print(f"  data {i + 1}/{n}", file=sys.stderr, flush=True)
    return {"x": np.stack(xs), "filled": np.stack(fs), "truth": np.stack(ts),
            "kinds": np.asarray(kinds)}


def main(argv: list[str] | None = None) -> int:
    """Generate the data, train, write the weights; prints the held-out gain."""
    import torch

    from promethium_lab.ml.registry import file_sha256, software_versions
    from promethium_lab.ml.residual import PRETRAINED, ResidualNet, apply_residual

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=PRETRAINED)
    p.add_argument("--sections", type=int, default=160)
    p.add_argument("--val-sections", type=int, default=24)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    started = time.perf_counter()
    train = training_pairs(args.sections, seed=args.seed)
    val = training_pairs(args.val_sections, seed=args.seed + 1000)
    data_s = time.perf_counter() - started
    net = ResidualNet()
    # pretraining learns the whole net; a small random head lets the body learn from step 1
    torch.nn.init.normal_(net.head.weight, std=1e-3)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, args.steps)
    rng = np.random.default_rng(args.seed)
    x_all, f_all, t_all = train["x"], train["filled"], train["truth"]
    n, ntr, nt = x_all.shape
    cw, ct = 48, 128

    def snr_gain(net: ResidualNet) -> float:
        corr = apply_residual(net, val["x"], val["filled"])
        w = val["filled"]
        base = np.sum((val["truth"] - val["x"])[w] ** 2)
        new = np.sum((val["truth"] - val["x"] - corr)[w] ** 2)
        return float(10 * np.log10(base / new))

    history: list[dict[str, Any]] = []
    net.train()
    for step in range(1, args.steps + 1):
        idx = rng.integers(n, size=args.batch_size)
        t0 = rng.integers(ntr - cw + 1, size=args.batch_size)
        s0 = rng.integers(nt - ct + 1, size=args.batch_size)
        xb = np.stack([x_all[i, a:a + cw, b:b + ct] for i, a, b in zip(idx, t0, s0)])
        tb = np.stack([t_all[i, a:a + cw, b:b + ct] for i, a, b in zip(idx, t0, s0)])
        fb = np.stack([f_all[i, a:a + cw] for i, a in zip(idx, t0)])
        sign = rng.choice([-1.0, 1.0], size=(args.batch_size, 1, 1)).astype(np.float32)
        xb, tb = xb * sign, tb * sign
        flip = rng.random(args.batch_size) < 0.5
        xb[flip], tb[flip], fb[flip] = xb[flip, ::-1], tb[flip, ::-1], fb[flip, ::-1]
        x = torch.from_numpy(np.stack([xb, np.broadcast_to(fb[..., None], xb.shape)
                                       .astype(np.float32)], axis=1).copy())
        t = torch.from_numpy(tb.copy())
        w = x[:, 1]
        est = x[:, 0] + net(x)[:, 0]
        loss = (w * (est - t) ** 2).sum() / (w * t**2).sum().clamp_min(1e-12)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 250 == 0 or step == args.steps:
            gain = snr_gain(net)
            net.train()
            history.append({"step": step, "loss": round(float(loss.detach()), 5),
                            "val_gain_db": round(gain, 3)})
            print(f"  step {step}: loss {float(loss):.4f}, held-out gain {gain:+.2f} dB",
                  file=sys.stderr, flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    torch.save(state, out / "weights.pt")
    (out / "config.json").write_text(json.dumps(
        {"format": 1, "architecture": ResidualNet.architecture, "config": net.config()},
        indent=2) + "\n")
    kinds = {str(k): int(c) for k, c in zip(*np.unique(train["kinds"], return_counts=True))}
    meta = {
        "description": "residual network of method='deep', pretrained on realistic synthetic "
                       "sections by promethium_lab.ml.pretrain_residual",
        "name": out.parent.name, "version": 1, "architecture": ResidualNet.architecture,
        "source": "synthetic", "seed": args.seed,
        "data_recipe": {"sections": args.sections, "val_sections": args.val_sections,
                        "shape": [64, 256], "dt_ms": 4.0, "generator":
                        "promethium_lab.ml.pretrain_residual.realistic_section",
                        "masks": kinds},
        "training": {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr,
                     "patch": [cw, ct], "schedule": "cosine", "device": "cpu",
                     "data_seconds": round(data_s, 1),
                     "seconds": round(time.perf_counter() - started, 1)},
        "metrics": {"final": {"held_out_gain_db": history[-1]["val_gain_db"]},
                    "history": history},
        "n_parameters": net.n_parameters(),
        "weights_sha256": file_sha256(out / "weights.pt"),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": software_versions(),
    }
    (out / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {out} ({(out / 'weights.pt').stat().st_size / 1024:.0f} KB) in "
          f"{time.perf_counter() - started:.0f} s; held-out gain "
          f"{history[-1]['val_gain_db']:+.2f} dB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
