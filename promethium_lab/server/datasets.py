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
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.formats import FILE_KINDS as IO_FILE_KINDS
from promethium_lab.io.formats import (
    SEGY_KINDS,
    WAVEFORM_KINDS,
    is_partial,
    kind_from_suffix,
    sniff_format,
)
from promethium_lab.server.models import Dataset

__all__ = [
    "FILE_KINDS",
    "Dataset",
    "PathOutsideRootError",
    "resolve_under_root",
    "scan_datasets",
    "section_preview",
    "summarize",
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
    """A requested path resolves outside the server root (``PATH_OUTSIDE_ROOT``, HTTP 403)."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(ErrorCode.PATH_OUTSIDE_ROOT, message, hint=hint)

    def __reduce__(self):  # picklable with its own signature
        return (type(self), (self.message, self.hint))


Want = Literal["dir", "file", "any", "new"]


def resolve_under_root(server_root: str | os.PathLike, rel: str | None, *,
                       want: Want = "dir", what: str = "root") -> Path:
    """Resolve ``rel`` against ``server_root``; refuse anything outside it.

    Parameters
    ----------
    server_root : path-like
        The Jupyter server's ``root_dir``.
    rel : str or None
        Path relative to the root, ``/``-separated; empty or None means the root.
    want : {"dir", "file", "any", "new"}
        What it must be: an existing folder, an existing file, either, or a path to write
        (it may exist; its parent folder must).
    what : str
        The parameter's name, for the messages.

    Returns
    -------
    Path
        The resolved path (symlinks resolved), inside the resolved root.

    Raises
    ------
    PathOutsideRootError
        When ``rel`` is absolute or resolves outside the root (``..``, a symlink out).
    PromethiumError
        ``PATH_NOT_FOUND`` when it (or, for ``new``, its parent) does not exist,
        ``INVALID_PARAMETER`` when it is a file where a folder is wanted or the reverse.
    """
    root = Path(server_root).resolve()
    rel = (rel or "").strip()
    if "\x00" in rel:
        raise PromethiumError.invalid(f"{what} contains a NUL byte")
    pure = PurePosixPath(rel.replace("\\", "/"))
    if pure.is_absolute() or (pure.parts and ":" in pure.parts[0]):
        raise PathOutsideRootError(
            f"{what} {rel!r} is absolute; it must be relative to the server root",
            hint="pass a path relative to the Jupyter server's root_dir, e.g. 'surveys/f3'",
        )
    target = root.joinpath(*pure.parts).resolve()
    if not target.is_relative_to(root):
        raise PathOutsideRootError(
            f"{what} {rel!r} lies outside the server root",
            hint="pass a path inside the Jupyter server's root_dir",
        )
    must_exist = target.parent if want == "new" else target
    if want == "new" and target == root:
        raise PromethiumError.invalid(f"{what} {rel!r} is the server root itself",
                                      hint="name a new file or folder under it")
    if not must_exist.exists():
        raise PromethiumError(
            ErrorCode.PATH_NOT_FOUND,
            f"{'the folder of ' if want == 'new' else ''}{what} {rel!r} does not exist "
            "under the server root",
            hint="check the name in the file browser",
        )
    if want == "dir" and not target.is_dir():
        raise PromethiumError.invalid(f"{what} {rel!r} is a file, not a folder",
                                      hint="pass the folder that holds the file")
    if want == "file" and not target.is_file():
        raise PromethiumError.invalid(f"{what} {rel!r} is a folder, not a file",
                                      hint="pass a file inside it")
    if want == "new" and not must_exist.is_dir():
        raise PromethiumError.invalid(f"the parent of {what} {rel!r} is a file",
                                      hint="write into a folder")
    if want == "new" and not os.access(must_exist, os.W_OK):
        raise PromethiumError(ErrorCode.BAD_OUTPUT_PATH,
                              f"the folder of {what} {rel!r} is read-only",
                              hint="write the output into a folder of your own")
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


def _open_dataset(server_root: str | os.PathLike, rel: str) -> tuple[Path, Any]:
    """``(resolved path, survey dataset)`` of a dataset under the root (headers only: the
    samples stay lazy)."""
    import warnings

    from promethium_lab.io.survey import open_survey

    if not (rel or "").strip():
        raise PromethiumError.invalid("path is missing",
                                      hint="pass ?path=<file or store relative to the root>")
    path = resolve_under_root(server_root, rel, want="any", what="path")
    with warnings.catch_warnings():  # reader fallbacks are notes, not failures, here
        warnings.simplefilter("ignore")
        return path, open_survey(path)


def summarize(server_root: str | os.PathLike, rel: str) -> dict[str, Any]:
    """The :class:`~promethium_lab.server.models.DatasetSummary` of a dataset under the root.

    The same summary as ``promethium-lab info``
    (:func:`promethium_lab.workflows.info.describe`) without amplitude statistics, so only
    headers are read (a SEG-Y file's trace headers, a store's mask and coordinates).
    """
    from promethium_lab.server.models import DatasetSummary
    from promethium_lab.workflows.info import describe

    path, ds = _open_dataset(server_root, rel)
    info = describe(ds, amplitudes=False)
    info["path"] = path.relative_to(Path(server_root).resolve()).as_posix()
    return DatasetSummary.model_validate(info).to_dict()


def section_preview(server_root: str | os.PathLike, rel: str, *, width: int, height: int,
                    clip: float, selection: dict[str, int], axes: bool = False) -> bytes:
    """A section of a dataset under the root as PNG bytes
    (:func:`promethium_lab.workflows.figures.section_png`).

    ``selection`` fixes trace dims by label (``{"inline": 120}``); the others are taken at
    their middle. Only the section's traces are read. With ``axes`` the PNG is a figure of
    ``width × height`` pixels with the section's trace labels and time axis, absent traces
    in the colour of holes.
    """
    from promethium_lab.workflows.figures import section_png, select_section

    _, ds = _open_dataset(server_root, rel)
    section = select_section(ds, **selection)
    mask = None
    if axes and "trace_mask" in ds:
        trace_dim = section.dims[0]
        mask = ds["trace_mask"].sel({d: section[d].values for d in ds["trace_mask"].dims
                                     if d != trace_dim and d in section.coords})
    return section_png(section, width=width, height=height, clip_percentile=clip,
                       axes=axes, mask=mask)
