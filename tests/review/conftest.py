"""Review fixtures: a queue per database backend; a console app per backend with fast
passwords; a live uvicorn server; Chromium (Debian's, never a downloaded build)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from review_helpers import CHROMIUM, ReviewApp, fast_passwords

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
        if hasattr(client, "exit_stack"):
            client.__exit__(None, None, None)
        else:
            client.close()


@pytest.fixture
def chromium_path() -> Path:
    """Debian's Chromium; the test drives it from its own thread (see test_review_browser)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing but CI=true: browser tests must run in CI")
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}")
    return CHROMIUM
