"""The block engine: one tiler, one block runner, one filled-survey builder, one preview slicer.

Ingest (:func:`promethium_lab.io.store.write_store`), windowed classical reconstruction
and deep inference all work on blocks of a survey's trace dims (every sample of each
trace). This module owns how a survey is cut into blocks (:func:`tile` with
:func:`aligned_step` or :func:`budget_step`), how the blocks run (:func:`run_blocks`: in
this thread, in threads, or as tasks on a Dask cluster, with a cancel check between
blocks), how a filled survey is assembled (:func:`filled_survey`) and which 2-D section
of a block a preview shows (:func:`middle_section`). A method supplies only "process this
block".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "aligned_step",
    "budget_step",
    "filled_survey",
    "middle_section",
    "run_blocks",
    "tile",
]

Block = tuple[slice, ...]


def tile(shape: Sequence[int], step: Sequence[int],
         origin: Sequence[int] | None = None) -> list[Block]:
    """Blocks of ``step`` covering ``shape`` (offset by ``origin``) in C order.

    Parameters
    ----------
    shape : sequence of int
        Extent of the region to cover, per dim.
    step : sequence of int
        Block size per dim (the last block of a dim may be shorter).
    origin : sequence of int, optional
        Start of the region per dim (default 0).

    Returns
    -------
    list of tuple of slice
    """
    origin = [0] * len(shape) if origin is None else list(origin)
    ranges = [range(o, o + n, s) for o, n, s in zip(origin, shape, step)]
    out: list[Block] = []
    for starts in np.ndindex(*[len(r) for r in ranges]):
        out.append(tuple(slice(r[i], min(r[i] + s, o + n))
                         for r, i, s, o, n in zip(ranges, starts, step, origin, shape)))
    return out


def aligned_step(trace_shape: Sequence[int], chunk_sets: Sequence[Sequence[int]], nt: int,
                 budget_bytes: int) -> tuple[int, ...]:
    """Trace-dim block shape aligned to every chunk grid, ~``budget_bytes`` of float32."""
    step = [1] * len(trace_shape)
    for ch in chunk_sets:
        step = [math.lcm(a, b) for a, b in zip(step, ch)]
    step = [min(s, n) for s, n in zip(step, trace_shape)]
    # grow the last trace dims first while under budget (reads of sorted files stay long)
    for i in reversed(range(len(step))):
        while step[i] < trace_shape[i] and 2 * math.prod(step) * nt * 4 <= budget_bytes:
            step[i] = min(trace_shape[i], step[i] * 2)
        base = 1
        for ch in chunk_sets:  # keep alignment
            base = math.lcm(base, ch[i])
        if step[i] < trace_shape[i]:
            step[i] = max(base, (step[i] // base) * base)
    return tuple(step)


def budget_step(trace_shape: Sequence[int], nt: int, block_mb: float, *,
                halve: bool = False) -> tuple[int, ...]:
    """Trace-dim block shape of about ``block_mb`` of float32 samples (``nt`` per trace).

    By default the last dims are filled first (``trace_shape[-1]``, then the one before, as
    far as the budget goes); ``halve=True`` starts from the whole survey and halves its
    largest dim until the block fits.
    """
    if halve:
        step = list(trace_shape)
        while math.prod(step) * nt * 4 > block_mb * 2**20 and max(step) > 1:
            i = int(np.argmax(step))
            step[i] = max(1, step[i] // 2)
        return tuple(step)
    budget = max(1, int(block_mb * 2**20 // (4 * nt)))
    out = [1] * len(trace_shape)
    for i in reversed(range(len(trace_shape))):
        out[i] = max(1, min(trace_shape[i], budget // math.prod(out)))
    return tuple(out)


def run_blocks(
    work: Callable[[int], Any],
    todo: Iterable[int],
    *,
    workers: int = 1,
    client: Any = None,
    resources: dict[str, float] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_done: Callable[[Any], None] | None = None,
) -> bool:
    """Run ``work(i)`` for every block number in ``todo``.

    Parameters
    ----------
    work : callable
        ``work(i)`` processes block ``i`` and returns what ``on_done`` receives; picklable
        when ``client`` is given.
    todo : iterable of int
        Block numbers, in order.
    workers : int
        1: in this thread, in order; more: Dask's threaded scheduler with this many threads.
    client : distributed.Client, optional
        Run the blocks as tasks on this cluster (at most two per worker in flight).
    resources : dict, optional
        Dask resource annotations of each task (e.g. ``{"GPU": 1}``).
    should_stop : callable, optional
        Cancel check, run before each block; once True no new block starts.
    on_done : callable, optional
        ``on_done(result)`` after each block, in this process (in the worker thread with
        ``workers > 1``).

    Returns
    -------
    bool
        True when ``should_stop`` ended the run early.
    """
    import threading

    stop_flag = threading.Event()

    def stopping() -> bool:
        if not stop_flag.is_set() and should_stop is not None and should_stop():
            stop_flag.set()
        return stop_flag.is_set()

    done = on_done or (lambda _r: None)
    if client is not None:
        _run_distributed(client, work, list(todo), done, stopping, resources)
    elif workers <= 1:
        for i in todo:
            if stopping():
                break
            done(work(i))
    else:
        import dask

        def one(i: int) -> None:
            if not stopping():
                done(work(i))

        with dask.config.set(scheduler="threads", num_workers=workers):
            dask.compute(*[dask.delayed(one)(i) for i in todo])
    return stop_flag.is_set()


def _run_distributed(client: Any, work: Callable[[int], Any], todo: list[int],
                     done: Callable[[Any], None], stopping: Callable[[], bool],
                     resources: dict[str, float] | None) -> None:
    """Blocks as tasks on a Dask cluster; ``done`` runs here as each finishes."""
    from distributed import as_completed

    limit = max(2, 2 * len(client.scheduler_info().get("workers", {})) or 2)
    pending = iter(todo)
    remote = client.scatter(work, broadcast=True)
    kwargs = {"resources": resources} if resources else {}
    batch = [client.submit(_call, remote, i, pure=False, **kwargs)
             for i in _take(pending, limit)]
    queue = as_completed(batch, loop=client.loop)
    for fut in queue:
        done(fut.result())
        if stopping():
            for other in batch:
                other.cancel()
            break
        for i in _take(pending, 1):
            queue.add(client.submit(_call, remote, i, pure=False, **kwargs))


def _call(work: Callable[[int], Any], i: int) -> Any:
    return work(i)


def _take(it: Iterator[int], n: int) -> list[int]:
    out: list[int] = []
    for _ in range(n):
        try:
            out.append(next(it))
        except StopIteration:
            break
    return out


def filled_survey(ds: xr.Dataset, amplitude: Any = None,
                  input_mask: Any = None) -> xr.Dataset:
    """A reconstructed survey: every trace live, the given mask kept, stale copies dropped.

    Parameters
    ----------
    ds : xarray.Dataset
        The survey that was reconstructed (``amplitude``; ``trace_mask`` when it has one).
    amplitude : array-like or xarray.DataArray, optional
        The new samples, laid out like ``ds.amplitude`` (numpy or dask); default keep
        ``ds.amplitude`` (a template to be filled block by block).
    input_mask : array-like, optional
        The mask given to the reconstruction (True = live), over the trace dims in
        ``ds.amplitude``'s order; default ``ds.trace_mask`` (all live without one).

    Returns
    -------
    xarray.Dataset
        ``ds`` with the new ``amplitude``, ``trace_mask`` True everywhere (its attrs kept),
        the given mask as ``input_trace_mask`` and no ``fast_<dim>`` copies.
    """
    old_amp = ds["amplitude"]
    dims = old_amp.dims[:-1]
    old = ds["trace_mask"] if "trace_mask" in ds else None
    if input_mask is not None:
        live = np.asarray(input_mask, dtype=bool)
    elif old is not None:
        live = np.asarray(old.transpose(*dims).values, dtype=bool)
    else:
        live = np.ones(old_amp.shape[:-1], dtype=bool)
    out = ds.drop_vars([v for v in ds.data_vars if str(v).startswith("fast_")])
    if amplitude is not None:
        if isinstance(amplitude, xr.DataArray):
            out["amplitude"] = amplitude
        else:
            out["amplitude"] = xr.DataArray(amplitude, dims=old_amp.dims, coords=old_amp.coords,
                                            attrs=dict(old_amp.attrs), name=old_amp.name)
    out["input_trace_mask"] = xr.Variable(
        dims, live.copy(), attrs={"long_name": "trace_mask given to the reconstruction "
                                               "(True = live)"})
    out["trace_mask"] = xr.Variable(dims, np.ones(live.shape, dtype=bool),
                                    attrs=dict(old.attrs) if old is not None else {})
    return out


def middle_section(block: Any, max_size: int | None = None) -> Any:
    """The 2-D section of a block a preview shows.

    Singleton dims are dropped first, then the middle of the leading dims is taken (for
    ``inline, crossline, time``: the middle inline); with ``max_size`` every dim is then
    decimated by an integer stride to at most that many samples. Works on
    ``xarray.DataArray``/``Dataset`` (by dim name) and numpy arrays (by axis).
    """
    if isinstance(block, np.ndarray):
        while block.ndim > 2:
            ones = [a for a, n in enumerate(block.shape) if n == 1]
            axis = ones[0] if ones else 0
            block = np.take(block, block.shape[axis] // 2, axis=axis)
        if max_size is not None:
            block = block[tuple(slice(None, None, math.ceil(n / max_size))
                                for n in block.shape)]
        return block
    dims = list(block["amplitude"].dims if isinstance(block, xr.Dataset) else block.dims)
    while len(dims) > 2:
        ones = [d for d in dims if block.sizes[d] == 1]
        lead = ones[0] if ones else dims[0]
        dims.remove(lead)
        block = block.isel({lead: block.sizes[lead] // 2})
    if max_size is not None:
        strides = {d: slice(None, None, math.ceil(n / max_size))
                   for d, n in block.sizes.items() if n > max_size}
        if strides:
            block = block.isel(strides)
    return block
