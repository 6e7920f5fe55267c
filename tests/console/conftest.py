"""Console fixtures: an app per database backend with a movable clock, signed-in clients, and
(for the browser tests) a real uvicorn server plus Debian's Chromium driven by Playwright.

Chromium comes from ``/usr/bin/chromium`` (never a downloaded build). Without it the browser
tests skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

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

from app_factory import AppStarter, serve_in_thread
from browser_helpers import local_context
from safespace.accounts import Accounts
from safespace.api import create_app
from safespace.config import Settings


@pytest.fixture
def make_console(start_app: AppStarter) -> MakeConsole:
    """Started apps with fast password hashing and a clock the test moves."""

    def make(**overrides: Any) -> Console:
        defaults = {"matcher_snapshots": False, "import_job_poll_seconds": 0.05}
        started = start_app(wait_matcher=False, **{**defaults, **overrides})
        accounts: Accounts = started.app.state.accounts
        accounts.passwords = fast_passwords()
        clock = Clock()
        accounts.set_clock(clock)
        return Console(started.app, accounts, clock, start_app.clients)

    return make


@pytest.fixture
def console(make_console: MakeConsole) -> Console:
    return make_console()


# --- a real server and a browser -----------------------------------------------------------


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    """The app under uvicorn on 127.0.0.1 (SQLite), in a thread of this process."""
    settings = Settings(
        data_dir=tmp_path / "live",
        matcher_snapshots=False,
        matcher_refresh_seconds=0.05,
    )
    app = create_app(settings)
    accounts: Accounts = app.state.accounts
    accounts.passwords = fast_passwords()
    with serve_in_thread(app, "console-live-server") as url:
        yield LiveServer(url, app, accounts)


@pytest.fixture(scope="session")
def chromium(chromium_browser: Any) -> Any:
    """The session's one browser (tests/conftest.py)."""
    return chromium_browser


@pytest.fixture
def page(chromium: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh browser context (no cookies) that may reach only the live server."""
    with local_context(chromium, live_server.url) as context:
        yield context.new_page()
