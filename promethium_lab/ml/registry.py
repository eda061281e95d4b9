"""The model registry: versioned directories of weights, configuration and training metadata.

Layout (the user's registry under ``<config data_dir>/models``, and the pretrained models
shipped in ``promethium_lab/ml/weights`` alike)::

    <root>/<name>/v001/weights.pt      torch state_dict (loaded with weights_only=True)
                      config.json      {"format": 1, "architecture": "unet", "config": {...}}
                      metadata.json    training metadata: data hash, seed, metrics, versions,
                                       weights_sha256, created, ...

A version directory is written under a temporary name and renamed into place, so a
half-written model is never listed. References accepted by :func:`resolve` and
:func:`load`: ``"name"`` (newest version; the user's registry first, then the shipped
models), ``"name:v2"`` (or ``"name:2"``), a version directory, a model directory (newest
version), or a ``weights.pt`` path.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.ml.models import ReconstructionModel, build_model

__all__ = [
    "BUILTIN_ROOT",
    "DEFAULT_MODELS",
    "FORMAT",
    "ModelEntry",
    "default_root",
    "list_models",
    "load",
    "resolve",
    "save",
    "software_versions",
]

FORMAT = 1
#: Pretrained models shipped inside the package (no download at run time).
BUILTIN_ROOT = Path(__file__).resolve().parent / "weights"
#: The shipped model used for each method when none is named.
DEFAULT_MODELS = {"unet": "synthetic-unet", "autoencoder": "synthetic-autoencoder",
                  "pinn": "synthetic-pinn"}
WEIGHTS, CONFIG, METADATA = "weights.pt", "config.json", "metadata.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
_VERSION = re.compile(r"^v(\d+)$")


@dataclass(frozen=True)
class ModelEntry:
    """One version of one model in a registry.

    Attributes
    ----------
    name : str
    version : int
    path : Path
        The version directory.
    architecture : str
    config : dict
        Constructor keywords of the architecture.
    metadata : dict
        Training metadata (``data_hash``, ``seed``, ``metrics``, ``versions``, ...).
    builtin : bool
        Shipped with the package.
    """

    name: str
    version: int
    path: Path
    architecture: str
    config: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    builtin: bool = False

    @property
    def ref(self) -> str:
        """``name:vN``."""
        return f"{self.name}:v{self.version}"

    @property
    def weights_path(self) -> Path:
        """The ``weights.pt`` file."""
        return self.path / WEIGHTS

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (for job records, the REST API and the CLI)."""
        return {"name": self.name, "version": self.version, "ref": self.ref,
                "path": str(self.path), "architecture": self.architecture,
                "config": self.config, "metadata": self.metadata, "builtin": self.builtin}

    def load(self, device: str | torch.device = "cpu") -> ReconstructionModel:
        """The model with its weights (see :func:`load`)."""
        return _load_entry(self, device)


def default_root() -> Path:
    """The user's registry: ``<config data_dir>/models``."""
    from promethium_lab.core.config import get_config

    return Path(get_config().data_dir) / "models"


def software_versions() -> dict[str, str]:
    """Versions recorded with a trained model."""
    import numpy as np

    from promethium_lab.core.version import __version__

    out = {"promethium_lab": __version__, "python": platform.python_version(),
           "torch": torch.__version__, "numpy": np.__version__}
    try:
        import pytorch_lightning as pl

        out["pytorch_lightning"] = pl.__version__
    except ImportError:  # pragma: no cover - lightning is a dependency
        pass
    return out


def _mismatch(message: str, hint: str) -> PromethiumError:
    return PromethiumError(ErrorCode.MODEL_MISMATCH, message, hint=hint)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise _mismatch(f"{path} is missing", "a model directory holds weights.pt, "
                        "config.json and metadata.json; save it with "
                        "promethium_lab.ml.registry.save") from exc
    except (OSError, ValueError) as exc:
        raise _mismatch(f"{path} is not readable JSON: {exc}",
                        "restore the file or save the model again") from exc
    if not isinstance(data, dict):
        raise _mismatch(f"{path} does not hold a JSON object", "save the model again")
    return data


def _entry(version_dir: Path, builtin: bool) -> ModelEntry:
    cfg = _read_json(version_dir / CONFIG)
    meta = _read_json(version_dir / METADATA) if (version_dir / METADATA).exists() else {}
    m = _VERSION.match(version_dir.name)
    version = int(m.group(1)) if m else int(meta.get("version", 0))
    name = str(meta.get("name") or version_dir.parent.name)
    if "architecture" not in cfg:
        raise _mismatch(f"{version_dir / CONFIG} names no architecture",
                        "it must hold {\"architecture\": ..., \"config\": {...}}")
    return ModelEntry(name=name, version=version, path=version_dir,
                      architecture=str(cfg["architecture"]), config=dict(cfg.get("config", {})),
                      metadata=meta, builtin=builtin)


def _versions(model_dir: Path) -> list[tuple[int, Path]]:
    if not model_dir.is_dir():
        return []
    out = []
    for p in model_dir.iterdir():
        m = _VERSION.match(p.name)
        if m and p.is_dir() and (p / CONFIG).exists():
            out.append((int(m.group(1)), p))
    return sorted(out)


def list_models(root: str | os.PathLike | None = None, *,
                builtin: bool = True) -> list[ModelEntry]:
    """Every version of every model: the user's registry (``root``, default
    :func:`default_root`) then, with ``builtin``, the shipped ones. Unreadable entries are
    left out."""
    roots: list[tuple[Path, bool]] = [(Path(root) if root is not None else default_root(), False)]
    if builtin:
        roots.append((BUILTIN_ROOT, True))
    entries: list[ModelEntry] = []
    for r, is_builtin in roots:
        if not r.is_dir():
            continue
        for model_dir in sorted(p for p in r.iterdir() if p.is_dir()):
            for _, vdir in _versions(model_dir):
                try:
                    entries.append(_entry(vdir, is_builtin))
                except PromethiumError:
                    continue
    return entries


def resolve(ref: str | os.PathLike | ModelEntry, root: str | os.PathLike | None = None
            ) -> ModelEntry:
    """The registry entry a reference names (see the module docstring).

    Raises
    ------
    PromethiumError
        ``PATH_NOT_FOUND`` when nothing matches; ``MODEL_MISMATCH`` for a broken entry.
    """
    if isinstance(ref, ModelEntry):
        return ref
    text = os.fspath(ref)
    path = Path(text).expanduser()
    looks_like_path = isinstance(ref, os.PathLike) or os.sep in text or path.exists()
    if looks_like_path:
        if path.is_file():
            path = path.parent
        if (path / CONFIG).exists():
            return _entry(path, _is_builtin(path))
        versions = _versions(path)
        if versions:
            return _entry(versions[-1][1], _is_builtin(path))
        raise PromethiumError(ErrorCode.PATH_NOT_FOUND,
                              f"{path} holds no model (no config.json or v*/ versions)",
                              hint="pass a registry name such as 'synthetic-unet' or the "
                                   "directory written by registry.save")
    name, _, ver = text.partition(":")
    if not ver and "@" in name:
        name, _, ver = name.partition("@")
    version = None
    if ver:
        m = re.fullmatch(r"v?(\d+)", ver)
        if not m:
            raise PromethiumError.invalid(f"bad model version {ver!r}",
                                  hint="use name:v2 or name:2")
        version = int(m.group(1))
    user_root = Path(root) if root is not None else default_root()
    for r, is_builtin in ((user_root, False), (BUILTIN_ROOT, True)):
        versions = _versions(r / name)
        if version is not None:
            versions = [(v, p) for v, p in versions if v == version]
        if versions:
            return _entry(versions[-1][1], is_builtin)
    known = sorted({e.name for e in list_models(root)})
    raise PromethiumError(ErrorCode.PATH_NOT_FOUND,
                          f"no model {text!r} in the registry {user_root} or the shipped models",
                          hint=f"known models: {known}" if known else "train one first")


def _is_builtin(path: Path) -> bool:
    try:
        path.resolve().relative_to(BUILTIN_ROOT)
        return True
    except ValueError:
        return False


def file_sha256(path: Path) -> str:
    """``"sha256:<hex>"`` of a file (the registry's checksum format), read in 1 MB pieces."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(2**20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def _load_entry(entry: ModelEntry, device: str | torch.device = "cpu") -> ReconstructionModel:
    wpath = entry.weights_path
    if not wpath.is_file():
        raise _mismatch(f"{wpath} is missing", "save the model again")
    expected = entry.metadata.get("weights_sha256")
    if expected and file_sha256(wpath) != expected:
        raise _mismatch(f"{wpath} does not match the checksum in its metadata.json "
                        "(the file was changed or damaged)",
                        "restore the weights, or save the model again")
    try:
        model = build_model(entry.architecture, **entry.config)
    except PromethiumError as exc:
        raise _mismatch(f"{entry.path / CONFIG} does not describe a buildable model: "
                        f"{exc.message}", "fix config.json or save the model again") from exc
    try:
        state = torch.load(wpath, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise _mismatch(f"{wpath} is not a readable torch state dict: {exc}",
                        "restore the weights, or save the model again") from exc
    if not isinstance(state, dict):
        raise _mismatch(f"{wpath} does not hold a state dict", "save the model again")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = "; ".join(line.strip() for line in first[1:4]) or first[0]
        raise _mismatch(f"the weights in {wpath} do not match the {entry.architecture} "
                        f"configured in config.json ({entry.config}): {detail}",
                        "the weights come from a different configuration (depth/width/"
                        "spatial_dims); use the config.json saved with them") from exc
    from promethium_lab.ml.device import resolve_device

    model.to(resolve_device(device))
    model.eval()
    model.registry_entry = entry  # type: ignore[assignment]
    return model


def load(ref: str | os.PathLike | ModelEntry, *, root: str | os.PathLike | None = None,
         device: str | torch.device = "cpu") -> ReconstructionModel:
    """Build a registered model and load its weights (in eval mode).

    The entry is attached as ``model.registry_entry``.

    Raises
    ------
    PromethiumError
        ``PATH_NOT_FOUND`` for an unknown reference; ``MODEL_MISMATCH`` when the weights do
        not fit the configuration, fail their checksum or cannot be read; ``NO_GPU`` for
        ``device="cuda"`` without a GPU.
    """
    return _load_entry(resolve(ref, root), device)


def save(model: ReconstructionModel, name: str, *, root: str | os.PathLike | None = None,
         metadata: dict[str, Any] | None = None, version: int | None = None,
         overwrite: bool = False) -> ModelEntry:
    """Save a model as a new version ``<root>/<name>/vNNN``.

    Parameters
    ----------
    model : ReconstructionModel
    name : str
        Letters, digits, ``_ . -``.
    root : path, optional
        Registry directory (default :func:`default_root`).
    metadata : dict, optional
        Training metadata (JSON-safe): ``data_hash``, ``seed``, ``metrics``, ...;
        ``versions``, ``created``, ``weights_sha256`` and ``n_parameters`` are added.
    version : int, optional
        Explicit version number (default: one above the newest).
    overwrite : bool
        Replace an existing explicit ``version``.
    """
    if not isinstance(model, ReconstructionModel):
        raise PromethiumError.invalid(f"expected a ReconstructionModel, got {type(model).__name__}")
    if not _NAME.match(str(name)):
        raise PromethiumError.invalid(f"bad model name {name!r}",
                              hint="letters, digits, '_', '.', '-' (starting with a letter "
                                   "or digit)")
    base = (Path(root) if root is not None else default_root()).expanduser() / name
    base.mkdir(parents=True, exist_ok=True)
    existing = [v for v, _ in _versions(base)]
    if version is None:
        version = (max(existing) + 1) if existing else 1
    elif version in existing and not overwrite:
        raise PromethiumError(ErrorCode.OUTPUT_EXISTS, f"{name}:v{version} already exists",
                              hint="pass overwrite=True or leave version out")
    tmp = base / f".v{version:03d}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
        torch.save(state, tmp / WEIGHTS)
        (tmp / CONFIG).write_text(json.dumps({"format": FORMAT,
                                              "architecture": model.architecture,
                                              "config": model.config()}, indent=2) + "\n")
        meta = dict(metadata or {})
        meta.update(name=name, version=version, architecture=model.architecture,
                    n_parameters=model.n_parameters(), weights_sha256=file_sha256(tmp / WEIGHTS))
        meta.setdefault("created", datetime.now(UTC).isoformat(timespec="seconds"))
        meta.setdefault("versions", software_versions())
        (tmp / METADATA).write_text(json.dumps(meta, indent=2, default=str) + "\n")
        final = base / f"v{version:03d}"
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _entry(final, _is_builtin(final))
