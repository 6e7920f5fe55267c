"""Running the server: settings checked once up front, and several uvicorn workers, each
with its own listening socket on the same port.

Kept out of :mod:`safespace.api` so the supervising process never imports the web app
(two seconds a worker would wait for).

uvicorn's own multi-worker mode shares one listening socket: whichever worker is waiting
first accepts the next connection, so a platform's connection pool (or a load generator)
that opens its connections at once often lands all of them on one worker, and the other
cores sit idle while that worker's queue grows (measured on 2 cores: 5,500 against 9,000
lookups/s and twice the p99, depending on the run). Here each worker binds its own socket
with ``SO_REUSEPORT``, and the kernel spreads new connections across the workers evenly by
a hash of the client's address and port.

The parent only supervises: it starts the workers, restarts one that dies (unless they
keep dying), and on SIGINT or SIGTERM asks them all to finish their requests and stop.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import os
import signal
import socket
import time
from collections.abc import Mapping
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from safespace.config import Settings
from safespace.errors import ConfigError

__all__ = ["check_port", "check_settings", "run_workers"]

log = logging.getLogger("safespace.serve")

_RESTARTS = 5  # more deaths than this within _RESTART_WINDOW seconds: give up
_RESTART_WINDOW = 60.0
_STOP_SECONDS = 30.0


def check_settings(settings: Settings) -> None:
    """Refuse, with one :class:`ConfigError` line, what each worker's app would refuse at
    start-up (keys, the review webhook): checked once before any worker starts."""
    from safespace.reports._evidence import load_master_key
    from safespace.reports._queue import ReviewPolicy
    from safespace.reports._sealing import MediaSealer

    ReviewPolicy.from_settings(settings)
    MediaSealer.from_settings(settings)
    if settings.evidence_key is not None:
        load_master_key(settings.evidence_key)


def _socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def check_port(host: str, port: int) -> None:
    """A clear error now, not in every worker, when the address cannot be used.

    The probe binds without ``SO_REUSEPORT``, so a port that any process listens on (another
    SafeSpace too, whose workers use ``SO_REUSEPORT``) is refused instead of shared.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
            probe.listen(1)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def _worker(
    host: str,
    port: int,
    options: Mapping[str, Any],
    settings: Settings,
    extra_routers: tuple[str, ...] = (),
) -> None:
    """One worker process: its app is built from the supervisor's ``settings``, as given, with
    the default routers and ``extra_routers`` ("module:attribute" names: the demo's page)."""
    # One search thread per worker unless told otherwise: the workers already use every
    # core, and numba's parallel kernels in each of them would fight for the same cores.
    # Set in this new process's own environment, before anything loads numba.
    os.environ.setdefault("NUMBA_NUM_THREADS", str(settings.index_threads))
    import uvicorn

    from safespace.api import create_app
    from safespace.api._routes import DEFAULT_ROUTERS

    routers = list(DEFAULT_ROUTERS)
    for name in extra_routers:
        module, _, attribute = name.partition(":")
        routers.append(getattr(importlib.import_module(module), attribute))
    sock = _socket(host, port)
    app = create_app(settings, serving=True, routers=routers)
    config = uvicorn.Config(app, host=host, port=port, **options)
    uvicorn.Server(config).run(sockets=[sock])


def run_workers(
    host: str,
    port: int,
    workers: int,
    options: Mapping[str, Any],
    *,
    settings: Settings,
    extra_routers: tuple[str, ...] = (),
) -> int:
    """Run ``workers`` processes, each serving with ``settings`` (and ``extra_routers``, see
    :func:`_worker`), until told to stop; returns the exit status."""
    check_port(host, port)
    ctx = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> BaseProcess:
        args = (host, port, dict(options), settings, extra_routers)
        proc = ctx.Process(target=_worker, args=args, daemon=False)
        proc.start()
        return proc

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    procs = [start() for _ in range(workers)]
    log.info("started %d workers on %s:%d (one socket each, SO_REUSEPORT)", workers, host, port)
    deaths: list[float] = []
    status = 0
    try:
        while not stopping:
            time.sleep(0.2)
            for i, proc in enumerate(procs):
                if proc.is_alive() or stopping:
                    continue
                now = time.monotonic()
                deaths = [t for t in deaths if now - t < _RESTART_WINDOW] + [now]
                if len(deaths) > _RESTARTS:
                    log.error("workers keep exiting (last code %s): stopping", proc.exitcode)
                    stopping, status = True, 1
                    break
                log.warning("worker %d exited with code %s: restarting it", i, proc.exitcode)
                procs[i] = start()
    finally:
        for proc in procs:
            if proc.is_alive() and proc.pid is not None:
                _signal(proc.pid, signal.SIGTERM)  # uvicorn finishes requests in flight
        deadline = time.monotonic() + _STOP_SECONDS
        for proc in procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.kill()
                proc.join()
        for s, handler in previous.items():
            signal.signal(s, handler)
    return status


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it exited meanwhile
        os.kill(pid, signum)
