"""Run a function over untrusted items in worker processes that may die, one item at a time.

A native library that aborts, segfaults or runs out of memory on one input ends the process it
runs in. :func:`run_isolated` runs each item in a pool of worker processes with resource limits
(address space and CPU seconds per item, see :mod:`monev.limits`); when a worker dies, the items
that were running are tried again one at a time in a fresh single worker to find the one that
kills it, and the items that had not started go back to a fresh pool. The item that kills its
worker comes back as :class:`Stopped`; every other item gets its result. The batch never sees
``BrokenProcessPool``.

On Linux, workers are forked from the calling process when it runs no other thread, so a small
pool costs almost nothing, else from a fork server that has imported monev once; elsewhere they
are spawned (see :func:`_context`).
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["ProcessLimits", "Stopped", "run_isolated"]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class ProcessLimits:
    """Limits applied inside each worker: address space (bytes) it may add to what it starts
    with, and CPU seconds per item."""

    memory_bytes: int
    cpu_seconds: int
    #: Added to the worker's niceness: background work (the web's PDFs) yields the cores to
    #: requests (0: as its parent).
    nice: int = 0


@dataclass(frozen=True)
class Stopped:
    """An item whose worker died or ran out of a resource while working on it.

    ``reason`` is ``"memory"`` (a ``MemoryError`` was raised), ``"cpu"`` (the CPU limit killed the
    worker), or ``"crashed"`` (any other death: abort, segfault, a native panic).
    """

    reason: str
    detail: str = ""


@dataclass
class _Item(Generic[T]):
    index: int
    value: T
    #: Times the item was running when its worker died / was pending in a pool that broke.
    tries: int = 0
    misses: int = 0


# --- inside the worker -------------------------------------------------------------------------

_STATE: dict[str, Any] = {}


def _init(
    limits: ProcessLimits,
    started: Any,
    initializer: Callable[..., None] | None,
    initargs: tuple[Any, ...],
) -> None:
    _STATE["limits"], _STATE["started"] = limits, started
    gc.enable()  # a worker forked while the parent had paused it (_collection_paused) collects
    _exit_when_orphaned()
    if limits.nice:
        with contextlib.suppress(OSError, AttributeError):  # no os.nice on Windows
            os.nice(limits.nice)
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        # A forked worker starts with its parent's address space: the limit is on what it adds.
        soft = _address_space() + limits.memory_bytes
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    except (ImportError, ValueError, OSError):  # no resource module (Windows) or not allowed
        pass
    if initializer is not None:
        initializer(*initargs)


def _exit_when_orphaned(every: float = 1.0) -> None:
    """End this worker when its parent is gone (a run killed with -9): a daemon thread watches
    for the worker being handed to another parent. (PR_SET_PDEATHSIG cannot be used: it follows
    the thread that forked the worker, and pools fork from helper threads.)"""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(every)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="monev-orphan-watch", daemon=True).start()


def _address_space() -> int:
    """This process's current address space in bytes (0 where /proc is not available)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _cpu_budget(seconds: int) -> None:
    """Allow ``seconds`` more CPU seconds from now (RLIMIT_CPU counts the whole process)."""
    try:
        import resource

        usage = resource.getrusage(resource.RUSAGE_SELF)
        used = int(usage.ru_utime + usage.ru_stime) + 1
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        soft = used + seconds
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    except (ImportError, ValueError, OSError):
        pass


def _call(fn: Callable[[T], R], index: int, value: T) -> R | Stopped:
    _STATE["started"].put(index)  # SimpleQueue: written before the work starts, no feeder thread
    return _guarded(fn, value)


def _guarded(fn: Callable[[T], R], value: T) -> R | Stopped:
    """``fn(value)`` with this item's own CPU budget; running out of memory, a runaway
    recursion or a native panic is this item's :class:`Stopped`, not the worker's death."""
    _cpu_budget(_STATE["limits"].cpu_seconds)
    try:
        return fn(value)
    except MemoryError:
        return Stopped("memory")
    except RecursionError:
        return Stopped("crashed", "RecursionError")
    except BaseException as exc:  # a Rust panic arrives as a BaseException subclass
        if type(exc).__name__ == "PanicException":
            return Stopped("crashed", str(exc)[:80])
        raise


def _call_many(fn: Callable[[T], R], chunk: list[tuple[int, T]]) -> list[R | Stopped]:
    """Several items in one task (one round trip to the parent instead of one per item). Each
    item still gets its own CPU budget, and is marked finished (``~index``) once its result is
    in hand, so that when the worker dies only the item that was running is a suspect."""
    out = []
    for index, value in chunk:
        out.append(_call(fn, index, value))
        _STATE["started"].put(~index)
    return out


# --- in the parent -----------------------------------------------------------------------------


def _context() -> Any:
    """How workers start: forked from this process when it runs no other thread (no start-up
    cost: the modules are already imported); from a fork server that has imported monev once
    when threads run here (a progress bar, link checks: forking those is unsafe); spawned
    where neither exists (Windows, macOS)."""
    if sys.platform.startswith("linux"):
        if threading.active_count() == 1:
            return multiprocessing.get_context("fork")
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["__main__", "monev.batch"])
        return ctx
    return multiprocessing.get_context("spawn")


def _reason(code: int | None) -> Stopped:
    if code is not None and code < 0 and -code == getattr(signal, "SIGXCPU", -1):
        return Stopped("cpu")
    if code is not None and code < 0:
        try:
            return Stopped("crashed", signal.Signals(-code).name)
        except ValueError:
            pass
    return Stopped("crashed", "" if code is None else f"exit {code}")


def run_isolated(
    fn: Callable[[T], R],
    items: Sequence[T],
    *,
    limits: ProcessLimits,
    jobs: int = 1,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
    on_result: Callable[[int, R | Stopped], None] | None = None,
    chunk: int = 1,
    while_waiting: Callable[[], None] | None = None,
) -> list[R | Stopped]:
    """``[fn(item) for item in items]``, each call in a worker process under ``limits``.

    ``fn``, ``initializer`` and the items must be picklable (module-level functions).
    ``initializer(*initargs)`` runs once in each worker, after the limits are set (send large
    shared arguments such as the rubric this way, once per worker). ``on_result(index, result)``
    is called in the parent as each item finishes, in completion order. Results come back in the
    order of ``items``; an item whose worker died is a :class:`Stopped`. Exceptions that ``fn``
    raises (other than running out of memory or a native panic) are re-raised: they are bugs.

    ``chunk`` items at most go to a worker in one task (fewer round trips for many small items,
    such as workbooks; issue 13). Isolation is the same: when a worker dies, only the item it was
    running is a suspect (tried alone); the items it had finished or not started go back to a
    fresh pool.

    ``while_waiting()`` is called once in the parent as soon as the first pool's workers have
    their items: work of the parent's own that runs beside theirs instead of before or after.
    """
    results: dict[int, R | Stopped] = {}
    ctx = _context()
    pending = [_Item(i, v) for i, v in enumerate(items)]

    def done(item: _Item[T], result: R | Stopped) -> None:
        results[item.index] = result
        if on_result:
            on_result(item.index, result)

    while pending:
        # Items that were running when a worker died before go one at a time: a death then
        # names its item. The others share a pool of ``jobs`` workers.
        alone = [it for it in pending if it.tries > 0 or it.misses > 2]
        together = [it for it in pending if not (it.tries > 0 or it.misses > 2)]
        pending = []
        for it in alone:
            code, result = _run_alone(ctx, fn, it, limits, initializer, initargs)
            done(it, result if code is None else _reason(code))
        if together:
            pending = _run_pool(
                ctx, fn, together, limits, jobs, initializer, initargs, done, chunk, while_waiting
            )
            while_waiting = None
    return [results[i] for i in range(len(items))]


def _pool(
    ctx: Any,
    workers: int,
    limits: ProcessLimits,
    initializer: Callable[..., None] | None,
    initargs: tuple[Any, ...],
) -> tuple[ProcessPoolExecutor, Any]:
    started = ctx.SimpleQueue()
    pool = ProcessPoolExecutor(
        workers,
        mp_context=ctx,
        initializer=_init,
        initargs=(limits, started, initializer, initargs),
    )
    return pool, started


def _drain(started: Any, began: set[int], ended: set[int]) -> None:
    """Add the items the workers reported started / finished to ``began`` / ``ended``. Called
    whenever a task comes back: a pipe holds 64 KiB, and a worker writing to a full one would
    wait for ever (any run of more than about 3,300 items did, before issue 13)."""
    while not started.empty():
        index = started.get()
        if index >= 0:
            began.add(index)
        else:
            ended.add(~index)


#: From this many items on, the parent collects results with the cyclic garbage collector paused.
GC_PAUSE_ITEMS = 64


@contextlib.contextmanager
def _collection_paused(items: int) -> Iterator[None]:
    """The cyclic garbage collector paused while the parent takes the workers' results in.

    Each result unpickled here is a few hundred objects that live to the end of the run; with the
    collector on, the growing heap is traversed again and again (its full collections run each
    time the long-lived objects grow by a quarter), which doubled the parent's cost of taking
    1,000 results in (issue 13: 1.0 s against 0.5 s of CPU). Nothing the collection makes is
    cyclic garbage, and reference counting still frees everything else. The previous state is
    restored at the end, whatever happens. Only in a process with no other thread (``monev
    score``): the collector is one switch for every thread.
    """
    if items < GC_PAUSE_ITEMS or not gc.isenabled() or threading.active_count() > 1:
        # The switch is the whole process's: with other threads (``monev serve``'s requests)
        # they would run without it too, for as long as a city's PDFs take.
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _chunks(items: list[_Item[T]], jobs: int, chunk: int) -> list[list[_Item[T]]]:
    """``items`` in tasks of at most ``chunk``, about four tasks per worker at least so that the
    workers share the work evenly."""
    size = max(1, min(chunk, -(-len(items) // (4 * max(jobs, 1)))))
    return [items[k : k + size] for k in range(0, len(items), size)]


def _run_pool(
    ctx: Any,
    fn: Callable[[T], R],
    items: list[_Item[T]],
    limits: ProcessLimits,
    jobs: int,
    initializer: Callable[..., None] | None,
    initargs: tuple[Any, ...],
    done: Callable[[_Item[T], R | Stopped], None],
    chunk: int = 1,
    while_waiting: Callable[[], None] | None = None,
) -> list[_Item[T]]:
    """Run ``items`` in one pool; return the items to try again when a worker died."""
    pool, started = _pool(ctx, max(1, min(jobs, len(items))), limits, initializer, initargs)
    futures: dict[Future[list[R | Stopped]], list[_Item[T]]] = {}
    recorded: set[int] = set()
    began: set[int] = set()
    ended: set[int] = set()
    broken = False
    try:
        with _collection_paused(len(items)):
            for task in _chunks(items, jobs, chunk):
                pairs = [(it.index, it.value) for it in task]
                futures[pool.submit(_call_many, fn, pairs)] = task
            if while_waiting is not None:
                while_waiting()
            waiting = set(futures)
            while waiting:
                finished, waiting = wait(waiting, return_when=FIRST_COMPLETED)
                _drain(started, began, ended)
                for fut in finished:
                    try:
                        got = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    for it, result in zip(futures[fut], got, strict=True):
                        done(it, result)
                        recorded.add(it.index)
                if broken:
                    break
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if not broken:
        started.close()
        return []
    _drain(started, began, ended)
    retry = []
    for fut, task in futures.items():
        if fut.done() and not fut.cancelled() and fut.exception() is None:
            for it, result in zip(task, fut.result(), strict=True):
                if it.index not in recorded:  # finished, but not yet handed over when it broke
                    done(it, result)
            continue
        for it in task:
            if it.index in began and it.index not in ended:
                it.tries += 1  # it was running when the worker died: a suspect
            else:
                it.misses += 1
            retry.append(it)
    started.close()
    return retry


def _run_alone(
    ctx: Any,
    fn: Callable[[T], R],
    item: _Item[T],
    limits: ProcessLimits,
    initializer: Callable[..., None] | None,
    initargs: tuple[Any, ...],
) -> tuple[int | None, R | Stopped]:
    """Run one item in its own worker: (None, result), or (exit code, Stopped) when it died."""
    pool, started = _pool(ctx, 1, limits, initializer, initargs)
    try:
        future = pool.submit(_call, fn, item.index, item.value)
        procs = list(getattr(pool, "_processes", {}).values())
        try:
            return None, future.result()
        except BrokenProcessPool:
            for proc in procs:
                proc.join(5)
            codes = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            code = codes[0] if codes else -1
            return code, _reason(code)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        started.close()


# --- a long-lived pool, for a server -----------------------------------------------------------


class WorkerPool:
    """Workers under ``limits`` that stay alive between calls, for a server that checks one
    upload per request (``monev serve``): :meth:`call` runs ``fn(value)`` in one of them and
    waits for it. Several request threads may call at once (``workers`` run in parallel).

    A call whose worker dies (or that was running in the pool when another call killed a worker)
    is run again alone, as :func:`run_isolated` does, so that only the call that kills its worker
    gets its :class:`Stopped`; the pool is then replaced. Workers start from a fork server (never
    forked from a threaded server) or are spawned where there is none.
    """

    def __init__(self, limits: ProcessLimits, workers: int = 1):
        self.limits = limits
        self.workers = max(1, workers)
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                if sys.platform.startswith("linux"):
                    ctx = multiprocessing.get_context("forkserver")
                else:
                    ctx = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=ctx,
                    initializer=_init,
                    initargs=(self.limits, None, None, ()),
                )
            return self._pool

    def call(self, fn: Callable[[T], R], value: T) -> R | Stopped:
        pool = self._current()
        try:
            return pool.submit(_guarded, fn, value).result()
        except BrokenProcessPool:
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
        return run_isolated(fn, [value], limits=self.limits, jobs=1)[0]

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
