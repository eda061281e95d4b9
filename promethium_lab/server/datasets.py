"""Find datasets under a folder of the Jupyter server's root.

A dataset is a seismic file (SEG-Y, Seismic Unix, miniSEED, SAC), recognised by its
extension, or a Zarr v3 store written by promethium_lab or MDIO: a folder whose
``zarr.json`` is a group whose attributes carry a ``promethium*`` key (ours) or
``apiVersion`` (MDIO v1). A store is listed as one entry and never descended into.
The walk is bounded in depth and count, skips hidden entries and in-progress stores
(``*.partial*``), and never leaves the server root (symlinks included).
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.formats import FILE_KINDS as IO_FILE_KINDS
from promethium_lab.io.formats import (
    SEGY_KINDS,
    WAVEFORM_KINDS,
    is_partial,
    kind_from_suffix,
    sniff_format,
)

__all__ = [
    "FILE_KINDS",
    "Dataset",
    "PathOutsideRootError",
    "resolve_under_root",
    "scan_datasets",
    "zarr_store_info",
]

#: REST name of an io kind where they differ (the API's ``miniseed`` is io's ``mseed``).
_API_KIND: dict[str, str] = {"mseed": "miniseed"}

FILE_KINDS: dict[str, str] = {
    suffix: _API_KIND.get(kind, kind)
    for suffix, kind in IO_FILE_KINDS.items()
    if kind in SEGY_KINDS or kind in WAVEFORM_KINDS
}
"""File extension (lower case) -> dataset kind of a listed file, from io's table."""


def _listed_kind(path: Path) -> str | None:
    """REST kind of a seismic file from its name (io's file-kind table), else None."""
    kind = kind_from_suffix(path)
    if kind in SEGY_KINDS or kind in WAVEFORM_KINDS:
        return _API_KIND.get(kind, kind)
    return None


_ZARR_META_MAX_BYTES = 8 * 1024 * 1024  # a zarr.json larger than this is not read


class PathOutsideRootError(PromethiumError):
    """A requested path resolves outside the server root (answered with HTTP 403)."""

    http_status = 403


@dataclass(frozen=True)
class Dataset:
    """One entry of the datasets listing.

    Attributes
    ----------
    name : str
        File or store folder name.
    path : str
        POSIX path relative to the server root (what the file browser shows).
    kind : str
        ``segy``, ``su``, ``miniseed``, ``sac`` or ``zarr``.
    size : int or None
        Bytes of a file; None for a store (not summed, to keep the listing cheap).
    modified : str
        Last modification, ISO 8601 in UTC.
    flavor : str or None
        For stores: ``promethium`` or ``mdio``.
    geometry : str or None
        For stores: ``attrs["geometry"]`` when present.
    shape : list of int or None
        For stores: shape of the ``amplitude`` array when present.
    consolidated : bool or None
        For stores: whether consolidated metadata has been written (ingest finished).
    """

    name: str
    path: str
    kind: str
    size: int | None
    modified: str
    flavor: str | None = None
    geometry: str | None = None
    shape: list[int] | None = None
    consolidated: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return asdict(self)


def resolve_under_root(server_root: str | os.PathLike, rel: str | None) -> Path:
    """Resolve ``rel`` against ``server_root``; refuse anything outside it.

    Parameters
    ----------
    server_root : path-like
        The Jupyter server's ``root_dir``.
    rel : str or None
        Folder relative to the root, ``/``-separated; empty or None means the root.

    Returns
    -------
    Path
        The resolved folder (symlinks resolved), inside the resolved root.

    Raises
    ------
    PathOutsideRootError
        When ``rel`` is absolute or resolves outside the root.
    PromethiumError
        ``PATH_NOT_FOUND`` when it does not exist, ``INVALID_PARAMETER`` when it is a file.
    """
    root = Path(server_root).resolve()
    rel = (rel or "").strip()
    if "\x00" in rel:
        raise PromethiumError(ErrorCode.INVALID_PARAMETER, "root contains a NUL byte")
    pure = PurePosixPath(rel.replace("\\", "/"))
    if pure.is_absolute() or (pure.parts and ":" in pure.parts[0]):
        raise PathOutsideRootError(
            ErrorCode.INVALID_PARAMETER,
            f"root {rel!r} is absolute; it must be relative to the server root",
            hint="pass a folder relative to the Jupyter server's root_dir, e.g. 'surveys/f3'",
        )
    target = root.joinpath(*pure.parts).resolve()
    if not target.is_relative_to(root):
        raise PathOutsideRootError(
            ErrorCode.INVALID_PARAMETER,
            f"root {rel!r} lies outside the server root",
            hint="pass a folder inside the Jupyter server's root_dir",
        )
    if not target.exists():
        raise PromethiumError(
            ErrorCode.PATH_NOT_FOUND,
            f"folder {rel!r} does not exist under the server root",
            hint="check the name in the file browser",
        )
    if not target.is_dir():
        raise PromethiumError(
            ErrorCode.INVALID_PARAMETER,
            f"root {rel!r} is a file, not a folder",
            hint="pass the folder that holds the file",
        )
    return target


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        if path.stat().st_size > _ZARR_META_MAX_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def zarr_store_info(folder: Path) -> dict[str, Any] | None:
    """Describe ``folder`` if it is a promethium or MDIO Zarr v3 store, else None.

    Only ``zarr.json`` files are read: the root group's (for attributes and, when present,
    consolidated metadata) and, without consolidated metadata, ``amplitude/zarr.json``.
    """
    meta = _read_json(folder / "zarr.json")
    if meta is None or meta.get("node_type") != "group":
        return None
    attrs = meta.get("attributes") or {}
    if not isinstance(attrs, dict):
        return None
    if not any(str(key).startswith("promethium") for key in attrs) and "apiVersion" not in attrs:
        return None  # a Zarr group written by neither
    flavor = "mdio" if sniff_format(folder) == "mdio" else "promethium"  # io's store kinds
    consolidated = meta.get("consolidated_metadata")
    shape = None
    amp_meta = None
    if isinstance(consolidated, dict):
        amp_meta = (consolidated.get("metadata") or {}).get("amplitude")
    if amp_meta is None:
        amp_meta = _read_json(folder / "amplitude" / "zarr.json")
    if isinstance(amp_meta, dict) and isinstance(amp_meta.get("shape"), list):
        shape = [int(n) for n in amp_meta["shape"]]
    geometry = attrs.get("geometry")
    return {
        "flavor": flavor,
        "geometry": geometry if isinstance(geometry, str) else None,
        "shape": shape,
        "consolidated": isinstance(consolidated, dict),
    }


def _mtime(st: os.stat_result) -> str:
    return datetime.fromtimestamp(st.st_mtime, tz=UTC).isoformat(timespec="seconds")


def scan_datasets(
    server_root: str | os.PathLike,
    rel: str | None = "",
    max_depth: int = 3,
    max_entries: int = 2000,
) -> dict[str, Any]:
    """List the datasets under ``server_root / rel``.

    Parameters
    ----------
    server_root : path-like
        The Jupyter server's ``root_dir``; nothing outside it is read or returned.
    rel : str or None
        Folder to scan, relative to the root.
    max_depth : int
        Folder levels below ``rel`` to look into (0: only ``rel`` itself; capped at 3).
    max_entries : int
        Stop after this many datasets (``truncated`` tells).

    Returns
    -------
    dict
        ``{"root": rel (normalised), "datasets": [Dataset.to_dict(), ...] sorted by path,
        "truncated": bool, "max_depth": int}``.
    """
    root = Path(server_root).resolve()
    start = resolve_under_root(root, rel)
    max_depth = max(0, min(int(max_depth), 3))
    found: list[Dataset] = []
    truncated = False

    def relpath(p: Path) -> str:
        return p.relative_to(root).as_posix()

    def add(dataset: Dataset) -> None:
        nonlocal truncated
        if len(found) >= max_entries:
            truncated = True
        else:
            found.append(dataset)

    def walk(folder: Path, depth: int) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        subdirs: list[Path] = []
        for entry in entries:
            name = entry.name
            if name.startswith(".") or is_partial(name):
                continue
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    real = path.resolve()
                    if not real.is_relative_to(root):
                        continue
                st = entry.stat()  # follows a symlink that stays inside the root
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                info = zarr_store_info(path) if (path / "zarr.json").is_file() else None
                if info is not None:
                    add(
                        Dataset(
                            name=name,
                            path=relpath(path),
                            kind="zarr",
                            size=None,
                            modified=_mtime(st),
                            **info,
                        )
                    )
                elif not (path / "zarr.json").exists() and depth < max_depth:
                    subdirs.append(path)  # any other Zarr store is not looked into
            elif stat.S_ISREG(st.st_mode):
                kind = _listed_kind(path)
                if kind is not None:
                    add(
                        Dataset(
                            name=name,
                            path=relpath(path),
                            kind=kind,
                            size=st.st_size,
                            modified=_mtime(st),
                        )
                    )
            if truncated:
                return
        for sub in subdirs:
            if truncated:
                return
            walk(sub, depth + 1)

    walk(start, 0)
    found.sort(key=lambda d: d.path)
    rel_norm = "" if start == root else relpath(start)
    return {
        "root": rel_norm,
        "datasets": [d.to_dict() for d in found],
        "truncated": truncated,
        "max_depth": max_depth,
    }
