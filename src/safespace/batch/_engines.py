"""Where batch work runs: the local process pool (the default) or a Dask cluster.

An engine runs one function over many argument tuples and yields the results as they finish,
keeping at most ``window`` tasks in flight, so a tree of millions of files never sits in
memory as futures. Order is not kept: the caller records each result as it comes.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from typing import Any, Protocol

from safespace.errors import InvalidInput, NotConfigured, ServiceUnavailable

__all__ = ["ENGINES", "DaskEngine", "Engine", "LocalEngine", "open_engine"]

ENGINES = ("local", "dask")
_CONNECT_TIMEOUT = 30.0  # seconds to reach a scheduler before giving up
_LOST_CLOSE_TIMEOUT = 2.0  # seconds to close a client whose scheduler is gone


def _distributed() -> Any:
    """The ``distributed`` package (the cluster extra), typed loosely: it has no stubs."""
    return importlib.import_module("distributed")


class Engine(Protocol):
    name: str
    workers: int  # how many tasks can run at once (sizes the window)
    chunk: int  # files per task at most: larger amortises the engine's per-task cost

    def imap_unordered(
        self, fn: Callable[..., Any], jobs: Iterable[tuple[Any, ...]], window: int
    ) -> Iterator[Any]: ...

    def close(self) -> None: ...


class LocalEngine:
    """A process pool on this machine; its workers die with this process (even ``kill -9``)."""

    name = "local"

    def __init__(self, workers: int | None = None, chunk: int = 4) -> None:
        from safespace._scan import worker_pool

        self.workers = max(1, workers or os.cpu_count() or 1)
        self.chunk = chunk
        self._pool = worker_pool(self.workers)

    def imap_unordered(
        self, fn: Callable[..., Any], jobs: Iterable[tuple[Any, ...]], window: int
    ) -> Iterator[Any]:
        pending: set[Future[Any]] = set()
        queue = iter(jobs)

        def refill() -> None:
            for args in queue:
                pending.add(self._pool.submit(fn, *args))
                if len(pending) >= window:
                    break

        try:
            refill()
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    pending.discard(fut)
                    yield fut.result()
                refill()
        except BaseException:
            self._pool.shutdown(wait=False, cancel_futures=True)
            raise

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskEngine:
    """A ``distributed`` cluster: the scheduler at ``address``, or a local cluster of
    ``workers`` single-threaded processes when no address is given.

    A worker that dies mid-task has its tasks run again elsewhere by the scheduler; a lost
    scheduler ends the run with :class:`ServiceUnavailable` (what finished is recorded by the
    caller, so the same command resumes).
    """

    name = "dask"

    def __init__(
        self, address: str | None = None, workers: int | None = None, chunk: int = 256
    ) -> None:
        # Up to 256 files a task: the client and scheduler spend about 8 ms of CPU on each
        # task (bench/bench_engine.py). Tasks shrink towards the end of a run (task_sizes in
        # _run.py), so large ones leave no worker idle while another finishes.
        try:
            dask = _distributed()
        except ImportError:
            raise NotConfigured(
                "the dask engine needs the cluster extra: pip install 'safespace[cluster]'"
            ) from None
        self.chunk = chunk
        self._cluster: Any = None
        self._lost = False  # the scheduler went away mid-run
        try:
            if address is None:
                self._cluster = dask.LocalCluster(
                    n_workers=max(1, workers or os.cpu_count() or 1),
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                )
                self._client = dask.Client(self._cluster)
            else:
                self._client = dask.Client(address, timeout=_CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            self.close()
            raise ServiceUnavailable(f"cannot reach the dask scheduler {address}: {exc}") from exc
        threads = self._client.nthreads()
        self.workers = max(1, sum(threads.values()) if threads else workers or 1)

    def imap_unordered(
        self, fn: Callable[..., Any], jobs: Iterable[tuple[Any, ...]], window: int
    ) -> Iterator[Any]:
        queue = iter(jobs)
        running = _distributed().as_completed()
        # what a future raises when the client lost its scheduler (the client cancels all)
        lost = importlib.import_module("distributed.client").FutureCancelledError
        in_flight = 0

        def refill() -> None:
            nonlocal in_flight
            for args in queue:
                running.add(self._client.submit(fn, *args, pure=False, retries=1))
                in_flight += 1
                if in_flight >= window:
                    break

        try:
            refill()
            while in_flight:
                fut = next(running)
                in_flight -= 1
                try:
                    result = fut.result()
                except (OSError, TimeoutError, lost) as exc:  # the scheduler went away
                    self._lost = True
                    _quiet_distributed()  # its reconnect tracebacks: the error line says it
                    raise ServiceUnavailable(
                        f"lost the dask scheduler ({type(exc).__name__}): connect to a "
                        "running scheduler and run the same command again to resume"
                    ) from None
                fut.release()
                yield result
                refill()
        finally:
            if not self._lost:
                for fut in list(running.futures):
                    fut.cancel()

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            with contextlib.suppress(OSError, TimeoutError):
                # a lost scheduler has nothing to say goodbye to: do not wait for it
                client.close(**({"timeout": _LOST_CLOSE_TIMEOUT} if self._lost else {}))
        if self._cluster is not None:
            self._cluster.close()


def _quiet_distributed() -> None:
    """Silence ``distributed``'s loggers in this process (the client's, once its scheduler is
    lost: it logs each failed reconnect and its cancellation with a traceback)."""
    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def open_engine(
    name: str, *, scheduler: str | None = None, workers: int | None = None
) -> LocalEngine | DaskEngine:
    """The engine called ``name`` ("local" or "dask"); ``scheduler`` is a cluster address."""
    if name == "local":
        if scheduler is not None:
            raise InvalidInput("--scheduler needs a cluster engine (--engine dask)")
        return LocalEngine(workers)
    if name == "dask":
        return DaskEngine(scheduler, workers)
    raise InvalidInput(f"unknown engine {name!r}: one of {', '.join(ENGINES)}")
