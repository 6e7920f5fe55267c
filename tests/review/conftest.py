"""Review fixtures: a queue per database backend; a console app per backend with fast
passwords; a live uvicorn server; Chromium (Debian's, never a downloaded build)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from review_helpers import CHROMIUM, ReviewApp, fast_passwords

from app_factory import AppStarter


@pytest.fixture
def make_app(start_app: AppStarter) -> Any:
    """Started apps with fast password hashing; the review thread polls only when told."""

    def make(**overrides: Any) -> ReviewApp:
        defaults = {"matcher_snapshots": False, "review_poll_seconds": 3600}
        started = start_app(wait_matcher=False, **{**defaults, **overrides})
        started.app.state.accounts.passwords = fast_passwords()
        return ReviewApp(started.app, start_app.clients)

    return make


@pytest.fixture
def chromium_path() -> Path:
    """Debian's Chromium; the test drives it from its own thread (see test_review_browser)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing but CI=true: browser tests must run in CI")
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}")
    return CHROMIUM
