"""Choosing the torch device, and mixed precision where a GPU is present."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from promethium_lab.core.errors import ErrorCode, PromethiumError

__all__ = ["autocast", "cuda_available", "resolve_device"]


def cuda_available() -> bool:
    """True when torch sees a CUDA device."""
    return bool(torch.cuda.is_available())


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """The torch device for ``device``.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N", "gpu"} or torch.device or None
        ``"auto"``/None: the first GPU when there is one, else the CPU.

    Raises
    ------
    PromethiumError
        ``NO_GPU`` when a GPU is asked for and torch sees none; ``INVALID_PARAMETER`` for
        an unknown device name.
    """
    if device is None or (isinstance(device, str) and device.lower() == "auto"):
        return torch.device("cuda" if cuda_available() else "cpu")
    name = device.lower() if isinstance(device, str) else str(device)
    if name == "gpu":
        name = "cuda"
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise PromethiumError.invalid(f"unknown device {device!r}",
                              hint="use 'auto', 'cpu' or 'cuda'") from exc
    if dev.type == "cuda":
        if not cuda_available():
            raise PromethiumError(
                ErrorCode.NO_GPU, f"device {device!r} was asked for, but no CUDA GPU is available",
                hint="use device='auto' or 'cpu', or run where torch.cuda.is_available() is True")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise PromethiumError(
                ErrorCode.NO_GPU, f"device {device!r} does not exist: "
                                  f"{torch.cuda.device_count()} GPU(s) visible",
                hint="pick an index below the GPU count")
    elif dev.type != "cpu":
        raise PromethiumError.invalid(f"unsupported device {device!r}",
                              hint="use 'auto', 'cpu' or 'cuda'")
    return dev


@contextlib.contextmanager
def autocast(device: torch.device, enabled: bool) -> Iterator[None]:
    """Mixed precision on CUDA (bfloat16 where supported, else float16); a no-op otherwise."""
    if enabled and device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        with torch.autocast(device_type="cuda", dtype=dtype):
            yield
    else:
        yield
