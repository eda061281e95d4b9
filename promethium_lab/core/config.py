"""Configuration from environment variables and a TOML file.

Precedence, highest first: ``PROMETHIUM_<KEY>`` environment variables, the TOML file
named by ``PROMETHIUM_CONFIG`` (else ``config.toml`` in the user config folder of
:mod:`platformdirs`, e.g. ``~/.config/promethium-lab/config.toml``, when it exists), then
the defaults below. The data folder defaults to the user data folder of :mod:`platformdirs`
(``~/.local/share/promethium-lab`` on Linux); an existing folder of the old fixed name
(``promethium_lab``) is kept in use, for both.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

import platformdirs

from promethium_lab.core.errors import ErrorCode, PromethiumError

__all__ = ["Config", "default_config_path", "get_config"]


#: Application name for :mod:`platformdirs`.
APP_NAME = "promethium-lab"
#: The folder name used before :mod:`platformdirs` (XDG folders only); still honoured.
_LEGACY_NAME = "promethium_lab"


def _legacy_or(new: Path, legacy_base: Path) -> Path:
    """``new``, unless only the folder of the legacy name exists under ``legacy_base``."""
    legacy = legacy_base / _LEGACY_NAME
    return legacy if not new.exists() and legacy.is_dir() else new


def default_config_path() -> Path:
    """Where the TOML config is looked for when ``PROMETHIUM_CONFIG`` is unset."""
    folder = _legacy_or(Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
                        Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")))
    return folder / "config.toml"


def _default_data_dir() -> Path:
    """The user data folder (job store, models, demo data); ``PROMETHIUM_DATA_DIR`` or
    ``data_dir`` in the TOML file override it."""
    return _legacy_or(Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
                      Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")))


@dataclass(frozen=True)
class Config:
    """Settings of promethium_lab.

    Attributes
    ----------
    data_dir : Path
        Per-user directory for the job store and model registry.
    log_level : str
        Level of the ``promethium_lab`` logger.
    progress : bool
        Show tqdm progress bars.
    chunk_mb : float
        Target size of one Zarr chunk of amplitudes, in MB (uncompressed).
    zstd_level : int
        Zstandard compression level for Zarr stores.
    workers : int
        Threads used for ingest/export; 0 means one per core.
    scheduler_timeout_s : float
        Seconds to keep trying a Dask scheduler address before a typed error.
    """

    data_dir: Path = field(default_factory=_default_data_dir)
    log_level: str = "WARNING"
    progress: bool = True
    chunk_mb: float = 1.0
    zstd_level: int = 1
    workers: int = 0
    scheduler_timeout_s: float = 10.0


def _coerce(name: str, value: object, kind: type) -> object:
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            return str(value).strip().lower() in {"1", "true", "yes", "on"}
        if kind is Path:
            return Path(str(value)).expanduser()
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise PromethiumError(
            ErrorCode.BAD_CONFIG,
            f"config key {name!r} has value {value!r}, not a {kind.__name__}",
            hint=f"fix {name} in the environment or the TOML config",
        ) from exc


_TYPES = {"data_dir": Path, "log_level": str, "progress": bool, "chunk_mb": float,
          "zstd_level": int, "workers": int, "scheduler_timeout_s": float}


def get_config(path: str | os.PathLike | None = None) -> Config:
    """Read the configuration (defaults ← TOML file ← environment)."""
    cfg = Config()
    values: dict[str, object] = {}
    toml_path = Path(path or os.environ.get("PROMETHIUM_CONFIG") or default_config_path())
    if toml_path.is_file():
        try:
            data = tomllib.loads(toml_path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise PromethiumError(
                ErrorCode.BAD_CONFIG, f"{toml_path} is not valid TOML: {exc}",
                hint="fix the file or point PROMETHIUM_CONFIG elsewhere",
            ) from exc
        section = data.get("promethium_lab", data)
        unknown = set(section) - set(_TYPES)
        if unknown:
            raise PromethiumError(
                ErrorCode.BAD_CONFIG, f"unknown config keys {sorted(unknown)} in {toml_path}",
                hint=f"known keys: {sorted(_TYPES)}",
            )
        values.update(section)
    for f in fields(Config):
        env = os.environ.get(f"PROMETHIUM_{f.name.upper()}")
        if env is not None:
            values[f.name] = env
    return replace(cfg, **{k: _coerce(k, v, _TYPES[k]) for k, v in values.items()})
