"""Console fixtures: an app per database backend with a movable clock, signed-in clients, and
(for the browser tests) a real uvicorn server plus Debian's Chromium driven by Playwright.

Chromium comes from ``/usr/bin/chromium`` (never a downloaded build). Without it the browser
tests skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_helpers import (
    Clock,
    Console,
    LiveServer,
    MakeConsole,
    fast_passwords,
)
from fastapi.testclient import TestClient

from safespace.accounts import Accounts
from safespace.api import create_app
from safespace.config import Settings


@pytest.fixture
def make_console(db_url: str, tmp_path: Path) -> Iterator[MakeConsole]:
    started: list[TestClient] = []

    def make(**overrides: Any) -> Console:
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=db_url,
            matcher_snapshots=False,
            import_job_poll_seconds=0.05,
            **overrides,
        )
        app = create_app(settings)
        runner = TestClient(app)
        runner.__enter__()  # runs the lifespan: matcher and import worker
        started.append(runner)
        accounts: Accounts = app.state.accounts
        accounts.passwords = fast_passwords()
        clock = Clock()
        accounts.set_clock(clock)
        return Console(app, accounts, clock, started)

    yield make
    for client in reversed(started):
        if hasattr(client, "exit_stack"):
            client.__exit__(None, None, None)
        else:
            client.close()


@pytest.fixture
def console(make_console: MakeConsole) -> Console:
    return make_console()


# --- a real server and a browser -----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The app under uvicorn on 127.0.0.1 (SQLite), in a thread of this process."""
    import uvicorn

    settings = Settings(
        data_dir=tmp_path / "live",
        matcher_snapshots=False,
        matcher_refresh_seconds=0.05,
    )
    app = create_app(settings)
    accounts: Accounts = app.state.accounts
    accounts.passwords = fast_passwords()
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="console-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped during start-up"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", app, accounts)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="session")
def chromium(chromium_browser: Any) -> Any:
    """The session's one browser (tests/conftest.py)."""
    return chromium_browser


@pytest.fixture
def page(chromium: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh browser context (no cookies) that may reach only the live server."""
    context = chromium.new_context()
    origin = live_server.url

    def only_local(route: Any) -> None:
        if route.request.url.startswith(origin):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
