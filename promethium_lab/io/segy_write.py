"""Streaming, atomic SEG-Y writer.

:class:`SegyWriter` writes the 3200-byte text header, the 400-byte binary header and
any extended text headers exactly as given (only the binary header's data sample
format, and for rev 2 the additional-header and trace counts, are patched to what is
written), then blocks of traces: each block is built as one
``(K, 240 * (1 + extra) + n_samples * itemsize)`` uint8 array and written with one call,
then any data trailer. Trace headers (and rev 2 additional trace headers) are written
byte for byte; samples are encoded in any :class:`~.segy_spec.SampleFormat`, in big-
(standard) or little-endian order:

=========================  ======================================
code                       samples
=========================  ======================================
1 (IBM float)              rounded to nearest (:mod:`.ibm`)
5, 6 (IEEE float, double)  exact for float32 input
2, 3, 8, 9 (integers)      must be integral and in range
10, 11, 12, 16 (unsigned)  must be integral and in range
=========================  ======================================

The file is written to ``<path>.partial-<pid>`` and moved onto ``path`` with
:func:`os.replace` after an fsync, so ``path`` never holds a half-written file.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import numpy as np

from promethium_lab.core.errors import ErrorCode, PromethiumError
from promethium_lab.io.formats import partial_path
from promethium_lab.io.ibm import ieee_to_ibm
from promethium_lab.io.segy_spec import (
    BINARY_FIELDS,
    BINARY_HEADER_SIZE,
    TEXT_HEADER_SIZE,
    TRACE_HEADER_SIZE,
    SampleFormat,
    binary_sample_count,
    decode_binary_header,
)

__all__ = ["SegyWriter", "patch_binary_header", "patch_sample_count"]

#: Bytes a :class:`SegyWriter` writes between background flushes of its file to disk.
FLUSH_BYTES = 32 * 2**20
_FLUSHER: ThreadPoolExecutor | None = None
_FLUSHER_LOCK = threading.Lock()
_fdatasync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync


def _flusher() -> ThreadPoolExecutor:
    """The thread that flushes written files to disk, started on first use."""
    global _FLUSHER
    with _FLUSHER_LOCK:
        if _FLUSHER is None:
            _FLUSHER = ThreadPoolExecutor(1, thread_name_prefix="promethium-flush")
        return _FLUSHER


_FORMAT_HINT = "export as format 5 (IEEE) or 1 (IBM)"
#: name -> (0-based offset, bytes, numpy kind) of each binary header field
_BINARY_FIELD_AT = {name: (byte - 1, int(kind[1:]), kind) for name, byte, kind in BINARY_FIELDS}


def _check_endian(endian: str) -> None:
    if endian not in (">", "<"):
        raise PromethiumError(
            ErrorCode.INVALID_PARAMETER,
            f"endian must be '>' (big, standard SEG-Y) or '<' (little), got {endian!r}",
            hint="pass endian='>' unless the target software needs little-endian",
        )


def patch_binary_header(raw: bytes, endian: str, **fields: int | float) -> bytes:
    """Return the 400-byte binary header ``raw`` with the named fields set.

    Parameters
    ----------
    raw : bytes
        The raw 400-byte binary header (file bytes 3201-3600).
    endian : {'>', '<'}
        Byte order of the header.
    **fields : int or float
        New values by :data:`~promethium_lab.io.segy_spec.BINARY_FIELDS` name, e.g.
        ``data_sample_format=5, samples_per_trace=1001, sample_interval=2000``. An integer
        field of n bytes takes -2**(8n-1)..2**(8n)-1 (values above the signed range are
        stored as their unsigned bit pattern, as SEG-Y rev 1 reads ``samples_per_trace``);
        the rev 2 IEEE double fields take any real number.

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
        offset, width, kind = _BINARY_FIELD_AT[name]
        bits = 8 * width
        if kind[0] == "f" and isinstance(value, int | float | np.integer | np.floating) \
                and not isinstance(value, bool):
            buf[offset : offset + width] = np.array(value, dtype=endian + kind).tobytes()
            continue
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


def patch_sample_count(raw: bytes, endian: str, n_samples: int) -> bytes:
    """The binary header ``raw`` saying ``n_samples`` samples per trace.

    Unchanged when it already says so (as the reader counts: the rev 2 32-bit count in
    bytes 3269-3272 when set, else bytes 3221-3222); else the 16-bit count is set, and
    the 32-bit one too when it is in use or the count needs more than 16 bits.

    Raises
    ------
    PromethiumError
        ``EXPORT_UNSUPPORTED`` for more than 65535 samples in a header before rev 2.
    """
    fields = decode_binary_header(raw, endian)
    rev2 = fields["segy_revision_major"] == 2
    if binary_sample_count(fields) == n_samples:
        return bytes(raw)
    if n_samples <= 0xFFFF and not (rev2 and int(fields["extended_samples_per_trace"]) > 0):
        return patch_binary_header(raw, endian, samples_per_trace=n_samples)
    if not rev2 and n_samples > 0xFFFF:
        raise PromethiumError(
            ErrorCode.EXPORT_UNSUPPORTED,
            f"{n_samples} samples per trace need SEG-Y rev 2's 32-bit count, and the binary "
            "header is an older revision",
            hint="export fewer samples per trace, or set bytes 3501-3502 to rev 2",
        )
    return patch_binary_header(raw, endian, extended_samples_per_trace=n_samples,
                               samples_per_trace=n_samples if n_samples <= 0xFFFF else 0)


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
        which is set to ``sample_format``, and in a rev 2 header the number of additional
        trace headers (3507-3508), set to ``extra_trace_headers``, and a non-zero trace
        count (3513-3520), set to the number of traces written.
    n_samples : int
        Samples per trace of every block.
    sample_format : int
        SEG-Y data sample format code: any :class:`~.segy_spec.SampleFormat`.
    endian : {'>', '<'}, default '>'
        Byte order of the samples and of the patched fields.
    extended_headers : bytes, default b""
        Extended textual headers (a multiple of 3200 bytes; in a rev 2 file whose binary
        header gives the first trace's byte offset, exactly the bytes up to it), written
        after the binary header; the caller keeps the binary header's count consistent.
    extra_trace_headers : int, default 0
        SEG-Y rev 2 additional 240-byte trace headers per trace (needs a rev 2 binary
        header); each block then passes them to :meth:`write_traces`.
    trailer : bytes, default b""
        Bytes written after the last trace (rev 2 data trailer stanzas), as given.
    overwrite : bool, default False
        Replace an existing ``path``.

    Raises
    ------
    PromethiumError
        ``OUTPUT_EXISTS`` when ``path`` exists and not ``overwrite``; ``PATH_IS_DIRECTORY``
        or ``PATH_NOT_FOUND`` (missing parent folder); ``EXPORT_UNSUPPORTED`` for another
        sample format; ``INVALID_PARAMETER`` for headers of the wrong size, a bad
        ``endian``, ``n_samples`` or ``extra_trace_headers``.
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
        extra_trace_headers: int = 0,
        trailer: bytes = b"",
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        _check_endian(endian)
        if isinstance(sample_format, bool) or sample_format not in SampleFormat._value2member_map_:
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
        fields = decode_binary_header(binary, endian)
        rev2 = fields["segy_revision_major"] == 2
        explicit = TEXT_HEADER_SIZE + BINARY_HEADER_SIZE + len(extended_headers)
        exact = rev2 and fields["byte_offset_first_trace"] == explicit
        extended = _bytes_param(extended_headers, "extended_headers", None if not exact else
                                len(extended_headers))
        n_extra = _extra_count(extra_trace_headers, rev2)
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
        patch: dict[str, int] = {}
        if fields["data_sample_format"] != sample_format:
            patch["data_sample_format"] = int(sample_format)
        if rev2 and fields["max_extended_trace_headers"] != n_extra:
            patch["max_extended_trace_headers"] = n_extra
        if patch:
            binary = patch_binary_header(binary, endian, **patch)

        self.n_samples = int(n_samples)
        self.sample_format = SampleFormat(sample_format)
        self.endian = endian
        self.overwrite = overwrite
        self.extra_trace_headers = n_extra
        self.traces_written = 0
        self._count_traces = rev2 and fields["num_traces"] != 0
        self._trailer = bytes(trailer)
        self._dtype = self.sample_format.dtype(endian)
        self._partial = partial_path(self.path, os.getpid())
        self._unflushed = 0
        self._flushing: Future[None] | None = None
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

    def write_traces(
        self, raw_headers: np.ndarray, samples: np.ndarray, extra_headers: np.ndarray | None = None
    ) -> None:
        """Append a block of K traces.

        Parameters
        ----------
        raw_headers : numpy.ndarray
            ``(K, 240)`` uint8 or ``(K,)`` 240-byte void/structured records, written
            byte for byte.
        samples : numpy.ndarray
            ``(K, n_samples)`` real values (float32 normally; integer arrays are fine for
            the integer formats).
        extra_headers : numpy.ndarray, optional
            The rev 2 additional trace headers, ``(K, 240 * extra_trace_headers)`` uint8
            or ``(K,)`` void records of that size; required when ``extra_trace_headers``.

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
            block = self.encode(raw_headers, samples, extra_headers)
        except BaseException:
            self.abort()
            raise
        self.write_block(block)

    def write_block(self, block: np.ndarray) -> None:
        """Append traces made by :meth:`encode` (any error aborts the writer).

        Every :data:`FLUSH_BYTES` written, the file's data are flushed to disk in a
        background thread while writing goes on, so :meth:`close` has little left to
        fsync.
        """
        if self._fh is None:
            raise ValueError(f"SegyWriter for {self.path} is closed")
        try:
            self._fh.write(block)
            self.traces_written += block.shape[0]
            self._unflushed += block.nbytes
            if self._unflushed >= FLUSH_BYTES and (self._flushing is None
                                                   or self._flushing.done()):
                self._flushed()  # re-raises the last background flush's error
                self._fh.flush()
                self._unflushed = 0
                self._flushing = _flusher().submit(_fdatasync, self._fh.fileno())
        except BaseException:
            self.abort()
            raise

    def _flushed(self) -> None:
        """Wait for the background flush, if one runs; re-raise its error."""
        flushing, self._flushing = self._flushing, None
        if flushing is not None:
            flushing.result()

    def encode(self, raw_headers: np.ndarray, samples: np.ndarray,
               extra_headers: np.ndarray | None = None) -> np.ndarray:
        """The bytes of K traces, as :meth:`write_traces` writes them.

        Thread-safe (it reads only the writer's settings): blocks may be encoded in
        parallel and written in order with :meth:`write_block`.

        Returns
        -------
        numpy.ndarray
            ``(K, trace bytes)`` uint8.

        Raises
        ------
        PromethiumError
            As :meth:`write_traces` (without aborting the writer).
        """
        headers = _header_bytes(raw_headers, TRACE_HEADER_SIZE, "raw_headers")
        k = headers.shape[0]
        width = TRACE_HEADER_SIZE * self.extra_trace_headers
        if width:
            if extra_headers is None:
                raise PromethiumError(
                    ErrorCode.INVALID_PARAMETER,
                    f"the writer was opened with {self.extra_trace_headers} additional trace "
                    "headers per trace; pass them as extra_headers",
                )
            extra = _header_bytes(extra_headers, width, "extra_headers")
            if extra.shape[0] != k:
                raise PromethiumError(
                    ErrorCode.INVALID_PARAMETER,
                    f"{extra.shape[0]} extra_headers for {k} raw_headers",
                )
        elif extra_headers is not None and np.asarray(extra_headers).size:
            raise PromethiumError(
                ErrorCode.INVALID_PARAMETER,
                "extra_headers given, but the writer was opened with extra_trace_headers=0",
            )
        values = np.asarray(samples)
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
        head = TRACE_HEADER_SIZE + width
        block = np.empty((k, head + self.n_samples * self._dtype.itemsize), np.uint8)
        block[:, :TRACE_HEADER_SIZE] = headers
        if width:
            block[:, TRACE_HEADER_SIZE:head] = extra
        dst = block[:, head:].view(self._dtype)
        if self.sample_format == SampleFormat.IBM:
            dst[...] = ieee_to_ibm(values)
        elif not self.sample_format.is_integer:
            dst[...] = values
        else:
            self._check_integral(values)
            np.copyto(dst, values, casting="unsafe")
        return block

    def _check_integral(self, values: np.ndarray) -> None:
        info = np.iinfo(self._dtype)
        if values.dtype.kind == "f":
            # float(max) + 1 is exact (a power of two): no rounding lets 2**64 through
            with np.errstate(invalid="ignore"):
                bad = ~(np.isfinite(values) & (values == np.round(values)))
                bad |= (values < float(info.min)) | (values >= float(info.max) + 1.0)
        else:
            bad = (values < info.min) | (values > info.max)
        if bad.any():
            trace, index = (int(i) for i in np.argwhere(bad)[0])
            fmt = self.sample_format
            raise PromethiumError(
                ErrorCode.EXPORT_UNSUPPORTED,
                f"SEG-Y format {fmt.code} ({fmt.description}) holds integers "
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
            self._flushed()
            fh.write(self._trailer)
            if self._count_traces:  # a rev 2 trace count (bytes 3513-3520) says what is there
                fh.seek(TEXT_HEADER_SIZE + _BINARY_FIELD_AT["num_traces"][0])
                fh.write(np.array(self.traces_written, dtype=self.endian + "u8").tobytes())
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
        try:
            self._flushed()
        except OSError:
            pass
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


def _extra_count(value: int, rev2: bool) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise PromethiumError(
            ErrorCode.INVALID_PARAMETER,
            f"extra_trace_headers must be a non-negative integer, got {value!r}",
        )
    if value and not rev2:
        raise PromethiumError(
            ErrorCode.INVALID_PARAMETER,
            f"{value} additional trace headers need a SEG-Y rev 2 binary header "
            "(bytes 3501-3502)",
            hint="write the source's rev 2 binary header, or leave the additional headers out",
        )
    return int(value)


def _header_bytes(headers: np.ndarray, width: int, name: str) -> np.ndarray:
    """``(K, width)`` uint8 view of ``(K, width)`` uint8 or ``(K,)`` ``V{width}`` headers."""
    arr = np.asarray(headers)
    if arr.ndim == 1 and arr.dtype.kind == "V" and arr.dtype.itemsize == width:
        return np.ascontiguousarray(arr).view(np.uint8).reshape(-1, width)
    if arr.ndim == 2 and arr.dtype == np.uint8 and arr.shape[1] == width:
        return arr
    raise PromethiumError(
        ErrorCode.INVALID_PARAMETER,
        f"{name} must be (K, {width}) uint8 or (K,) V{width}, got shape {arr.shape} "
        f"dtype {arr.dtype}",
    )


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
