"""The package logger."""

from __future__ import annotations

import logging

__all__ = ["get_logger"]

_ROOT = "promethium_lab"


def get_logger(name: str = "") -> logging.Logger:
    """Logger ``promethium_lab[.name]``, its level taken from the config once."""
    root = logging.getLogger(_ROOT)
    if not getattr(root, "_promethium_configured", False):
        from promethium_lab.core.config import get_config

        try:
            root.setLevel(get_config().log_level.upper())
        except Exception:  # a bad config must not break logging itself
            root.setLevel(logging.WARNING)
        root._promethium_configured = True  # type: ignore[attr-defined]
    return logging.getLogger(f"{_ROOT}.{name}" if name else _ROOT)
