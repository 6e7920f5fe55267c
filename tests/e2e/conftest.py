"""Fixtures for the end-to-end test; the shared code is in e2e_helpers.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import REPORTER, WEBHOOK_SECRET, DemoServer, Receiver, demo_server


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(WEBHOOK_SECRET).start()
    try:
        yield r
    finally:
        r.stop()


@pytest.fixture
def server(tmp_path: Path, receiver: Receiver) -> Iterator[DemoServer]:
    """`make run` on a free port, configured the way docs/review.md tells an operator."""
    env = {
        "SAFESPACE_REVIEW_WEBHOOK_URL": receiver.url,
        "SAFESPACE_REVIEW_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SAFESPACE_REVIEW_POLL_SECONDS": "0.2",
        **REPORTER,
    }
    with demo_server(tmp_path / "data", env) as running:
        yield running


@pytest.fixture
def browser(chromium_browser: Any) -> Any:
    """The session's one browser (tests/conftest.py)."""
    return chromium_browser
