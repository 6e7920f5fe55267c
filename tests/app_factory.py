"""Starting SafeSpace in tests, one way for every folder: in-process apps, uvicorn in a
thread, and ``safespace`` as a real process.

``tests/conftest.py`` gives every test a ``start_app`` fixture (an :class:`AppStarter` on the
test's database); the folders' own fixtures (``make_api``, ``make_svc``, ``make_console``,
``make_app``, ``make_sr``) wrap it with their defaults and extras: keys, fast passwords, a
clock. Test modules import from here (a unique module name), never from ``conftest``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safespace.api import create_app
from safespace.api._state import ServiceState
from safespace.config import Settings
from waiting import WAIT_SECONDS


@dataclass
class Started:
    """A started app: its lifespan is running (matcher, workers) until the test ends."""

    app: FastAPI
    client: TestClient
    state: ServiceState


class AppStarter:
    """Builds and starts apps on one test's data folder and database; stops them after.

    ``clients`` is every client to close at the end, newest first: the started ones, and any
    plain client a folder's helper adds (a signed-in browser stand-in, say).
    """

    def __init__(self, data_dir: Path, database_url: str) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.clients: list[TestClient] = []

    def __call__(self, *, wait_matcher: bool = True, **overrides: Any) -> Started:
        values: dict[str, Any] = {"data_dir": self.data_dir, "database_url": self.database_url}
        values.update(overrides)
        app = create_app(Settings(**values))
        client = TestClient(app)
        client.__enter__()  # runs the lifespan: matcher and workers
        self.clients.append(client)
        state: ServiceState = app.state.safespace
        if wait_matcher:
            assert state.matcher.wait_ready(60), "matcher did not load"
        return Started(app, client, state)

    def close(self) -> None:
        for client in reversed(self.clients):
            if hasattr(client, "exit_stack"):  # entered: leave it, ending the lifespan
                client.__exit__(None, None, None)
            else:
                client.close()
        self.clients.clear()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve_in_thread(app: FastAPI, name: str = "safespace-live") -> Iterator[str]:
    """The app under uvicorn on a free 127.0.0.1 port, in a thread of this process; its URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped during start-up"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


# --- `safespace` as a real process --------------------------------------------------------


def safespace_command() -> list[str]:
    """The venv's ``safespace`` script (what ``make run`` calls), else the same entry point."""
    script = Path(sys.executable).with_name("safespace")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from safespace.cli import main; main()"]


def start_safespace(
    args: Sequence[str], data_dir: Path, extra_env: dict[str, str] | None = None, **popen: Any
) -> subprocess.Popen[Any]:
    """``safespace ARGS`` in its own process group (so its workers stop with it), with none of
    this environment's SAFESPACE_ settings: only the data folder and ``extra_env``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFESPACE_")}
    env.update({"SAFESPACE_DATA_DIR": str(data_dir), **(extra_env or {})})
    return subprocess.Popen([*safespace_command(), *args], env=env, start_new_session=True, **popen)


def answers_ready(base: str, proc: subprocess.Popen[Any], log: Callable[[], str]) -> bool:
    """True once ``/readyz`` says 200; an exited server fails the test with its ``log()``."""
    if proc.poll() is not None:
        raise AssertionError(f"the server exited with {proc.returncode}:\n{log()}")
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def stop_group(
    proc: subprocess.Popen[Any], sig: signal.Signals = signal.SIGINT, timeout: float = 20.0
) -> None:
    """``sig`` to the process group (Ctrl-C by default); killed if not stopped in time.

    The group is signalled only while its leader is unreaped, so its id is still ours.
    """
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
