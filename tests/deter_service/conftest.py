"""Fixtures for Deter in the service: an app per database backend with a Deter folder, keys,
and, for the widget, a live server plus Debian's Chromium driven by Playwright.

The Deter folder holds an operator term list of placeholder tokens (never real terms) and an
enabled experiment on search and message with three arms. Browser tests skip without
``/usr/bin/chromium``, except under ``CI=true``, where they fail (CI installs Chromium).
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deter_service_helpers import SECRET, Live, MakeSvc, Svc, write_deter_dir

from app_factory import AppStarter, serve_in_thread
from safespace.api import create_app
from safespace.api._state import ServiceState
from safespace.config import Settings


@pytest.fixture
def make_svc(start_app: AppStarter, tmp_path: Path) -> MakeSvc:
    """Started apps with the test Deter folder and a key for each scope."""

    def make(**overrides: Any) -> Svc:
        overrides.setdefault("deter_secret", SECRET)
        overrides.setdefault("deter_dir", write_deter_dir(tmp_path / "deter"))
        started = start_app(**{"matcher_refresh_seconds": 0.05, **overrides})
        svc = Svc(started.client, started.state, started.app.state.deter)
        for scope in ("match", "curate", "admin"):
            svc.keys[scope] = started.state.keys.create(scope, name=f"test-{scope}")[1]
        return svc

    return make


@pytest.fixture
def svc(make_svc: MakeSvc) -> Svc:
    return make_svc()


# --- browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser(chromium_browser: Any) -> Any:
    """The session's one browser (tests/conftest.py)."""
    return chromium_browser


class _Pages(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    pages = tmp_path_factory.mktemp("platform")
    handler = functools.partial(_Pages, directory=str(pages))
    platform = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    platform.daemon_threads = True
    threading.Thread(target=platform.serve_forever, daemon=True).start()
    platform_url = f"http://127.0.0.1:{platform.server_address[1]}"
    root = tmp_path_factory.mktemp("safespace")
    settings = Settings(
        data_dir=root / "data",
        deter_secret=SECRET,
        deter_dir=write_deter_dir(root / "deter"),
        deter_allowed_origins=platform_url,
        matcher_snapshots=False,
    )
    app = create_app(settings)
    state: ServiceState = app.state.safespace
    keys = {s: state.keys.create(s, name=f"test-{s}")[1] for s in ("match", "admin")}
    try:
        with serve_in_thread(app) as url:
            yield Live(platform_url, url, pages, keys, app.state.deter)
    finally:
        platform.shutdown()
        platform.server_close()
