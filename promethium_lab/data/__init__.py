"""Small real data shipped with the package (see README.md here for provenance)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

__all__ = ["SAMPLES", "sample_path"]

SAMPLES = {"viking_graben": "viking_graben_4shots_ibm.segy"}


def sample_path(name: str = "viking_graben") -> Path:
    """Path of a bundled sample file (``viking_graben``: 4 marine shot gathers, public domain)."""
    try:
        return Path(str(files(__package__) / SAMPLES[name]))
    except KeyError:
        from promethium_lab.core.errors import ErrorCode, PromethiumError

        raise PromethiumError(ErrorCode.INVALID_PARAMETER, f"no bundled sample {name!r}",
                              hint=f"bundled samples: {sorted(SAMPLES)}") from None
