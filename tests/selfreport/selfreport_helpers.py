"""Fixtures for self-reports: started apps per database backend, a live server, Chromium.

The browser is Debian's Chromium at ``/usr/bin/chromium`` driven by Playwright (never a
downloaded build); without it the browser tests skip, except under ``CI=true``, where they
fail. The live server is uvicorn on 127.0.0.1 (a free port) in a thread, on a temporary
SQLite database; the browser may reach nothing else.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from safespace.api import create_app
from safespace.api.state import ServiceState
from safespace.config import Settings

# The team's benign test images live in shared/ beside the repository (so in CI too).
TESTDATA = Path(__file__).resolve().parents[3] / "shared" / "testdata"
BRIDGE = TESTDATA / "pdq" / "bridge-mods" / "aaa-orig.jpg"
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
def make_sr(db_url: str, tmp_path: Path) -> Iterator[MakeSR]:
    """Build and start apps on this test's database; self-report rate limit off by default."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> SR:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": db_url,
            "matcher_refresh_seconds": 0.05,
            "matcher_snapshots": False,
            "self_report_requests_per_minute": 0,
        }
        values.update(overrides)
        app = create_app(Settings(**values))
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        state: ServiceState = app.state.safespace
        assert state.matcher.wait_ready(60), "matcher did not load"
        key = state.keys.create("match", name=f"test-{len(clients)}")[1]
        return SR(client, state, key)

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def sr(make_sr: MakeSR) -> SR:
    return make_sr()


def poll(check: Callable[[], bool], deadline: float = 10.0) -> bool:
    """True as soon as ``check()`` is; False after ``deadline`` seconds (no timing asserted)."""
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The real service under uvicorn on 127.0.0.1, on a temporary SQLite database."""
    import uvicorn

    data = tmp_path_factory.mktemp("live")
    settings = Settings(
        data_dir=data,
        database_url=f"sqlite:///{data / 'safespace.db'}",
        matcher_refresh_seconds=0.05,
        matcher_snapshots=False,
    )
    app = create_app(settings)
    state: ServiceState = app.state.safespace
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        assert poll(lambda: server.started, 30), "uvicorn did not start"
        assert state.matcher.wait_ready(60), "matcher did not load"
        key = state.keys.create("match", name="browser-test")[1]
        yield Live(f"http://127.0.0.1:{port}", state, key)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(chromium_browser: Any) -> Any:
    """The session's one browser (tests/conftest.py)."""
    return chromium_browser


@pytest.fixture
def phone(browser: Any, live: Live) -> Iterator[Any]:
    """A page in a phone-sized, touch browser context that can reach only the live server."""
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
        locale="en-GB",
    )

    def local_only(route: Any) -> None:
        if route.request.url.startswith(live.url + "/"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", local_only)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
