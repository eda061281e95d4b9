"""Streaming, atomic SEG-Y writer.

:class:`SegyWriter` writes the 3200-byte text header, the 400-byte binary header and
any extended text headers exactly as given (only the binary header's data sample
format is patched to the format written), then blocks of traces: each block is built
as one ``(K, 240 + n_samples * itemsize)`` uint8 array and written with one call.
Trace headers are written byte for byte; samples are encoded in one of the SEG-Y
rev 1 sample formats below, in big- (standard) or little-endian order.

=====  ==================================  ======================================
code   format                              samples
=====  ==================================  ======================================
1      4-byte IBM float                    rounded to nearest (:mod:`.ibm`)
2      4-byte two's-complement integer     must be integral and in range
3      2-byte two's-complement integer     must be integral and in range
5      4-byte IEEE float                   exact for float32 input
8      1-byte two's-complement integer     must be integral and in range
=====  ==================================  ======================================

The file is written to ``<path>.partial-<pid>`` and moved onto ``path`` with
:func:`os.replace` after an fsync, so ``path`` never holds a half-written file.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.ibm import ieee_to_ibm
from promethium_lab.io.segy_spec import (
    BINARY_FIELDS,
    BINARY_HEADER_SIZE,
    TEXT_HEADER_SIZE,
    TRACE_HEADER_SIZE,
)

__all__ = ["SAMPLE_FORMATS", "SegyWriter", "patch_binary_header"]

#: SEG-Y data sample format code → (numpy kind without byte order, name).
SAMPLE_FORMATS: dict[int, tuple[str, str]] = {
    1: ("u4", "4-byte IBM float"),
    2: ("i4", "4-byte integer"),
    3: ("i2", "2-byte integer"),
    5: ("f4", "4-byte IEEE float"),
    8: ("i1", "1-byte integer"),
}

_FORMAT_HINT = "export as format 5 (IEEE) or 1 (IBM)"
_BINARY_FIELD_AT = {name: (byte - 1, int(kind[1])) for name, byte, kind in BINARY_FIELDS}


def _check_endian(endian: str) -> None:
    if endian not in (">", "<"):
        raise PromethiumError(
            ErrorCode.INVALID_PARAMETER,
            f"endian must be '>' (big, standard SEG-Y) or '<' (little), got {endian!r}",
            hint="pass endian='>' unless the target software needs little-endian",
        )


def patch_binary_header(raw: bytes, endian: str, **fields: int) -> bytes:
    """Return the 400-byte binary header ``raw`` with the named fields set.

    Parameters
    ----------
    raw : bytes
        The raw 400-byte binary header (file bytes 3201-3600).
    endian : {'>', '<'}
        Byte order of the header.
    **fields : int
        New values by :data:`~promethium_lab.io.segy_spec.BINARY_FIELDS` name, e.g.
        ``data_sample_format=5, samples_per_trace=1001, sample_interval=2000``. A 2-byte
        field takes -32768..65535 (values above 32767 are stored as their unsigned bit
        pattern, as SEG-Y rev 1 reads ``samples_per_trace``), a 4-byte one -2**31..2**32-1.

    Returns
    -------
    bytes
        The patched header; every byte not in a named field is unchanged.

    Raises
    ------
    PromethiumError
        ``INVALID_PARAMETER`` for a header that is not 400 bytes, an unknown field name,
        a non-integer value or one out of the field's range.
    """
    _check_endian(endian)
    buf = bytearray(raw)
    if len(buf) != BINARY_HEADER_SIZE:
        raise PromethiumError(
            ErrorCode.INVALID_PARAMETER,
            f"binary header must be {BINARY_HEADER_SIZE} bytes, got {len(buf)}",
            hint="pass file bytes 3201-3600 unchanged",
        )
    order = "big" if endian == ">" else "little"
    for name, value in fields.items():
        if name not in _BINARY_FIELD_AT:
            raise PromethiumError(
                ErrorCode.INVALID_PARAMETER,
                f"unknown binary header field {name!r}",
                hint="use a name from promethium_lab.io.segy_spec.BINARY_FIELDS",
            )
        offset, width = _BINARY_FIELD_AT[name]
        bits = 8 * width
        if isinstance(value, bool) or not isinstance(value, int | np.integer):
            raise PromethiumError(
                ErrorCode.INVALID_PARAMETER,
                f"binary header field {name} needs an integer, got {value!r}",
            )
        value = int(value)
        if not -(2 ** (bits - 1)) <= value < 2**bits:
            raise PromethiumError(
                ErrorCode.INVALID_PARAMETER,
                f"{value} does not fit the {width}-byte binary header field {name}",
            )
        buf[offset : offset + width] = (value % 2**bits).to_bytes(width, order)
    return bytes(buf)


def _bytes_param(value: bytes, name: str, size: int | None) -> bytes:
    data = bytes(value)
    bad = len(data) != size if size is not None else len(data) % TEXT_HEADER_SIZE != 0
    if bad:
        want = f"{size} bytes" if size is not None else f"a multiple of {TEXT_HEADER_SIZE} bytes"
        raise PromethiumError(
            ErrorCode.INVALID_PARAMETER,
            f"{name} must be {want}, got {len(data)}",
            hint="pass the raw header bytes of the source file, or build them to size",
        )
    return data


class SegyWriter:
    """Write a SEG-Y file trace block by trace block, atomically.

    Data go to ``<path>.partial-<pid>``; :meth:`close` fsyncs it and moves it onto
    ``path`` with :func:`os.replace`. Any error while opening, writing or closing
    (including a bad block passed to :meth:`write_traces`) aborts the writer: the
    partial file is removed and the error propagates. Used as a context manager, an
    exception in the ``with`` body aborts too.

    Parameters
    ----------
    path : str or os.PathLike
        Output file.
    text_header : bytes
        3200 raw bytes (EBCDIC or ASCII, written as given).
    binary_header : bytes
        400 raw bytes, written as given except ``data_sample_format`` (bytes 3225-3226),
        which is set to ``sample_format``.
    n_samples : int
        Samples per trace of every block.
    sample_format : int
        SEG-Y data sample format code: 1 (IBM), 5 (IEEE), 2, 3 or 8 (integers).
    endian : {'>', '<'}, default '>'
        Byte order of the samples and of the patched format field.
    extended_headers : bytes, default b""
        Extended textual headers (a multiple of 3200 bytes), written after the binary
        header; the caller keeps the binary header's count of them consistent.
    overwrite : bool, default False
        Replace an existing ``path``.

    Raises
    ------
    PromethiumError
        ``OUTPUT_EXISTS`` when ``path`` exists and not ``overwrite``; ``PATH_IS_DIRECTORY``
        or ``PATH_NOT_FOUND`` (missing parent folder); ``EXPORT_UNSUPPORTED`` for another
        sample format; ``INVALID_PARAMETER`` for headers of the wrong size, a bad
        ``endian`` or ``n_samples``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        text_header: bytes,
        binary_header: bytes,
        n_samples: int,
        sample_format: int,
        endian: str = ">",
        extended_headers: bytes = b"",
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        _check_endian(endian)
        if sample_format not in SAMPLE_FORMATS or isinstance(sample_format, bool):
            raise PromethiumError(
                ErrorCode.EXPORT_UNSUPPORTED,
                f"cannot write SEG-Y data sample format {sample_format!r}",
                hint=_FORMAT_HINT,
            )
        if (
            isinstance(n_samples, bool)
            or not isinstance(n_samples, int | np.integer)
            or n_samples < 1
        ):
            raise PromethiumError(
                ErrorCode.INVALID_PARAMETER,
                f"n_samples must be a positive integer, got {n_samples!r}",
            )
        text = _bytes_param(text_header, "text_header", TEXT_HEADER_SIZE)
        binary = _bytes_param(binary_header, "binary_header", BINARY_HEADER_SIZE)
        extended = _bytes_param(extended_headers, "extended_headers", None)
        if self.path.is_dir():
            raise PromethiumError(
                ErrorCode.PATH_IS_DIRECTORY,
                f"{self.path} is a directory",
                hint="give a file name for the SEG-Y output",
            )
        if self.path.exists() and not overwrite:
            raise PromethiumError(
                ErrorCode.OUTPUT_EXISTS,
                f"{self.path} already exists",
                hint="pass overwrite=True or choose another path",
            )
        if not self.path.parent.is_dir():
            raise PromethiumError(
                ErrorCode.PATH_NOT_FOUND,
                f"folder {self.path.parent} does not exist",
                hint="create the folder first",
            )
        fmt_offset, _ = _BINARY_FIELD_AT["data_sample_format"]
        current = int.from_bytes(
            binary[fmt_offset : fmt_offset + 2], "big" if endian == ">" else "little", signed=True
        )
        if current != sample_format:
            binary = patch_binary_header(binary, endian, data_sample_format=sample_format)

        self.n_samples = int(n_samples)
        self.sample_format = int(sample_format)
        self.endian = endian
        self.overwrite = overwrite
        self.traces_written = 0
        self._dtype = np.dtype(endian + SAMPLE_FORMATS[self.sample_format][0])
        self._partial = self.path.with_name(f"{self.path.name}.partial-{os.getpid()}")
        self._fh: BinaryIO | None = open(self._partial, "wb")
        try:
            self._fh.write(text + binary + extended)
        except BaseException:
            self.abort()
            raise

    @property
    def closed(self) -> bool:
        """True once :meth:`close` or :meth:`abort` has run."""
        return self._fh is None

    def write_traces(self, raw_headers: np.ndarray, samples: np.ndarray) -> None:
        """Append a block of K traces.

        Parameters
        ----------
        raw_headers : numpy.ndarray
            ``(K, 240)`` uint8 or ``(K,)`` 240-byte void/structured records, written
            byte for byte.
        samples : numpy.ndarray
            ``(K, n_samples)`` real values (float32 normally; integer arrays are fine for
            the integer formats).

        Raises
        ------
        PromethiumError
            ``INVALID_PARAMETER`` for wrong shapes or dtypes; ``EXPORT_UNSUPPORTED`` when
            an integer format cannot hold the samples exactly. Either way the writer is
            aborted and the partial file removed.
        """
        if self._fh is None:
            raise ValueError(f"SegyWriter for {self.path} is closed")
        try:
            block = self._build_block(raw_headers, samples)
            self._fh.write(block)
            self.traces_written += block.shape[0]
        except BaseException:
            self.abort()
            raise

    def _build_block(self, raw_headers: np.ndarray, samples: np.ndarray) -> np.ndarray:
        headers = np.asarray(raw_headers)
        if headers.ndim == 1 and headers.dtype.kind == "V" and headers.dtype.itemsize == 240:
            headers = np.ascontiguousarray(headers).view(np.uint8).reshape(-1, TRACE_HEADER_SIZE)
        elif not (
            headers.ndim == 2
            and headers.dtype == np.uint8
            and headers.shape[1] == TRACE_HEADER_SIZE
        ):
            raise PromethiumError(
                ErrorCode.INVALID_PARAMETER,
                f"raw_headers must be (K, 240) uint8 or (K,) V240, got shape {headers.shape} "
                f"dtype {headers.dtype}",
            )
        values = np.asarray(samples)
        k = headers.shape[0]
        if values.ndim != 2 or values.shape != (k, self.n_samples):
            raise PromethiumError(
                ErrorCode.INVALID_PARAMETER,
                f"samples must have shape ({k}, {self.n_samples}) to match {k} headers and "
                f"n_samples={self.n_samples}, got {values.shape}",
                hint="pass one row of n_samples values per trace header",
            )
        if values.dtype.kind not in "fiu":
            raise PromethiumError(
                ErrorCode.INVALID_PARAMETER,
                f"samples must be real numbers, got dtype {values.dtype}",
            )
        block = np.empty((k, TRACE_HEADER_SIZE + self.n_samples * self._dtype.itemsize), np.uint8)
        block[:, :TRACE_HEADER_SIZE] = headers
        dst = block[:, TRACE_HEADER_SIZE:].view(self._dtype)
        if self.sample_format == 1:
            dst[...] = ieee_to_ibm(values)
        elif self.sample_format == 5:
            dst[...] = values
        else:
            self._check_integral(values)
            np.copyto(dst, values, casting="unsafe")
        return block

    def _check_integral(self, values: np.ndarray) -> None:
        info = np.iinfo(self._dtype)
        if values.dtype.kind == "f":
            with np.errstate(invalid="ignore"):
                bad = ~(np.isfinite(values) & (values == np.round(values)))
                bad |= (values < info.min) | (values > info.max)
        else:
            bad = (values < info.min) | (values > info.max)
        if bad.any():
            trace, index = (int(i) for i in np.argwhere(bad)[0])
            code = self.sample_format
            raise PromethiumError(
                ErrorCode.EXPORT_UNSUPPORTED,
                f"SEG-Y format {code} ({SAMPLE_FORMATS[code][1]}) holds integers "
                f"{info.min}..{info.max}; sample {index} of trace {self.traces_written + trace} "
                f"is {values[trace, index]!r} ({int(bad.sum())} such samples in this block)",
                hint=_FORMAT_HINT,
            )

    def close(self) -> None:
        """Flush, fsync and move the partial file onto ``path``; no-op when closed."""
        fh = self._fh
        if fh is None:
            return
        try:
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
            self._fh = None
            if not self.overwrite and self.path.exists():
                raise PromethiumError(
                    ErrorCode.OUTPUT_EXISTS,
                    f"{self.path} appeared while it was being written",
                    hint="pass overwrite=True or choose another path",
                )
            os.replace(self._partial, self.path)
        except BaseException:
            self._fh = fh  # closed or not: abort closes it again and removes the partial
            self.abort()
            raise
        _fsync_dir(self.path.parent)

    def abort(self) -> None:
        """Discard the output: close and remove the partial file (``path`` is untouched)."""
        fh, self._fh = self._fh, None
        if fh is not None:
            try:
                fh.close()
            except OSError:
                pass
        self._partial.unlink(missing_ok=True)

    def __enter__(self) -> SegyWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable where the platform allows fsync on a folder."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
