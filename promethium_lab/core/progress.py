"""Progress reporting: tqdm.auto bars, plus an optional callback for jobs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Progress", "ProgressCallback"]

ProgressCallback = Callable[[float, str], None]
"""Called with (fraction done in [0, 1], message)."""


class Progress:
    """A progress bar that also reports to a callback.

    Parameters
    ----------
    total : float
        Units of work.
    desc : str
        Label of the bar.
    unit : str
        Unit name shown by tqdm.
    show : bool or None
        Show a tqdm bar; None reads the config.
    callback : ProgressCallback, optional
        Receives the done fraction at each update (used by jobs and widgets).
    """

    def __init__(
        self,
        total: float,
        desc: str = "",
        unit: str = "it",
        show: bool | None = None,
        callback: ProgressCallback | None = None,
        **tqdm_kwargs: Any,
    ) -> None:
        if show is None:
            from promethium_lab.core.config import get_config

            show = get_config().progress
        self.total = float(total) or 1.0
        self.done = 0.0
        self.desc = desc
        self.callback = callback
        self._bar = None
        if show:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, **tqdm_kwargs)

    def update(self, n: float = 1.0) -> None:
        """Advance by ``n`` units."""
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        if self.callback is not None:
            self.callback(min(self.done / self.total, 1.0), self.desc)

    def close(self) -> None:
        """Close the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
