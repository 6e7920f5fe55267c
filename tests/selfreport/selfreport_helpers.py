"""Fixtures for self-reports: started apps per database backend, a live server, Chromium.

The browser is Debian's Chromium at ``/usr/bin/chromium`` driven by Playwright (never a
downloaded build); without it the browser tests skip, except under ``CI=true``, where they
fail. The live server is uvicorn on 127.0.0.1 (a free port) in a thread, on a temporary
SQLite database; the browser may reach nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app_factory import AppStarter, serve_in_thread
from browser_helpers import PHONE, local_context
from datafiles import BRIDGE as BRIDGE  # the tests of this folder take it from here
from safespace.api import create_app
from safespace.api._state import ServiceState
from safespace.config import Settings
from waiting import WAIT_SECONDS

CSS = Path(__file__).resolve().parents[2] / "src" / "safespace" / "web" / "static" / "css"


@dataclass
class SR:
    """A started app, its state and a key with the ``match`` scope."""

    client: TestClient
    state: ServiceState
    key: str

    def report(self, body: dict[str, Any], **kw: Any) -> Any:
        return self.client.post("/v1/self-reports", json=body, **kw)

    def status(self, case: str, pin: str) -> Any:
        return self.client.post("/v1/self-reports/status", json={"case_number": case, "pin": pin})

    def withdraw(self, case: str, pin: str) -> Any:
        body = {"case_number": case, "pin": pin}
        return self.client.post("/v1/self-reports/withdraw", json=body)

    def match(self, **signals: str) -> Any:
        auth = {"Authorization": f"Bearer {self.key}"}
        response = self.client.post("/v1/match", headers=auth, json={"signals": signals})
        assert response.status_code == 200, response.text
        return response.json()


MakeSR = Callable[..., SR]


@pytest.fixture
def make_sr(start_app: AppStarter) -> MakeSR:
    """Build and start apps on this test's database; self-report rate limit off by default."""

    def make(**overrides: Any) -> SR:
        defaults: dict[str, Any] = {
            "matcher_refresh_seconds": 0.05,
            "matcher_snapshots": False,
            "self_report_requests_per_minute": 0,
        }
        started = start_app(**{**defaults, **overrides})
        name = f"test-{len(start_app.clients)}"
        key = started.state.keys.create("match", name=name)[1]
        return SR(started.client, started.state, key)

    return make


@pytest.fixture
def sr(make_sr: MakeSR) -> SR:
    return make_sr()


def poll(check: Callable[[], bool], deadline: float = WAIT_SECONDS) -> bool:
    """True as soon as ``check()`` is; False after ``deadline`` seconds (a ceiling only)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.02)
    return check()


# --- live server and browser ----------------------------------------------------------------


@dataclass(frozen=True)
class Live:
    url: str
    state: ServiceState
    key: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The real service under uvicorn on 127.0.0.1, on a temporary SQLite database."""
    data = tmp_path_factory.mktemp("live")
    settings = Settings(
        data_dir=data,
        database_url=f"sqlite:///{data / 'safespace.db'}",
        matcher_refresh_seconds=0.05,
        matcher_snapshots=False,
    )
    app = create_app(settings)
    state: ServiceState = app.state.safespace
    with serve_in_thread(app) as url:
        assert state.matcher.wait_ready(60), "matcher did not load"
        key = state.keys.create("match", name="browser-test")[1]
        yield Live(url, state, key)


@pytest.fixture(scope="module")
def browser(chromium_browser: Any) -> Any:
    """The session's one browser (tests/conftest.py)."""
    return chromium_browser


@pytest.fixture
def phone(browser: Any, live: Live) -> Iterator[Any]:
    """A page in a phone-sized, touch browser context that can reach only the live server."""
    with local_context(browser, live.url, **PHONE) as context:
        yield context.new_page()
