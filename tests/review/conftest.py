"""Review fixtures: a queue per database backend; a console app per backend with fast
passwords; a live uvicorn server; Chromium (Debian's, never a downloaded build)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from review_helpers import CHROMIUM, CHROMIUM_ARGS, ReviewApp, fast_passwords, free_port

from safespace.api import create_app
from safespace.config import Settings


@pytest.fixture
def make_app(db_url: str, tmp_path: Path) -> Iterator[Any]:
    started: list[TestClient] = []

    def make(**overrides: Any) -> ReviewApp:
        settings = Settings(
            data_dir=tmp_path / "data",
            database_url=db_url,
            matcher_snapshots=False,
            review_poll_seconds=3600,
            **overrides,
        )
        app = create_app(settings)
        runner = TestClient(app)
        runner.__enter__()
        started.append(runner)
        app.state.accounts.passwords = fast_passwords()
        return ReviewApp(app, started)

    yield make
    for client in reversed(started):
        client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing but CI=true: browser tests must run in CI")
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def serve(settings: Settings) -> Iterator[tuple[str, Any]]:
    """The app under uvicorn on 127.0.0.1, in a thread of this process."""
    import uvicorn

    app = create_app(settings)
    app.state.accounts.passwords = fast_passwords()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="review-live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped during start-up"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(10)
