"""Chromium against a real server: blurred media, reveal on click, re-blur on leave,
a confirmation with a reason, and a signed webhook delivered to a local receiver."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from review_helpers import (
    BENIGN_IMAGE,
    CHROMIUM_ARGS,
    EVIDENCE_KEY,
    PASSWORD,
    SECRET,
    Receiver,
    fast_passwords,
    free_port,
)

from safespace.api import create_app
from safespace.config import Settings
from waiting import WAIT_SECONDS


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(SECRET).start()
    yield r
    r.stop()


@pytest.fixture
def server(tmp_path: Path, receiver: Receiver) -> Iterator[tuple[str, Any]]:
    import uvicorn

    settings = Settings(
        data_dir=tmp_path / "live",
        matcher_snapshots=False,
        matcher_refresh_seconds=0.05,
        review_store_media=True,
        evidence_key=EVIDENCE_KEY,
        review_poll_seconds=0.1,
        review_webhook_url=receiver.url,
        review_webhook_secret=SECRET,
    )
    app = create_app(settings)
    app.state.accounts.passwords = fast_passwords()
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, name="review-live", daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_SECONDS
    while not srv.started:
        assert thread.is_alive()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        srv.should_exit = True
        thread.join(10)


def _until(page: Any, script: str) -> None:
    """Poll with eval_on_selector: the console's CSP forbids wait_for_function's eval."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not page.eval_on_selector("#media", script):
        assert time.monotonic() < deadline, script
        time.sleep(0.05)


def _filter(page: Any) -> str:
    value: str = page.eval_on_selector("#media", "e => getComputedStyle(e).filter")
    return value


def in_own_thread(fn: Callable[[], None]) -> None:
    """Playwright's sync API refuses a thread where another sync Playwright (the console
    tests' session fixture) runs its loop, so this test drives Chromium from its own."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="review-browser")
    thread.start()
    thread.join(5 * WAIT_SECONDS)
    assert not thread.is_alive(), "the browser test did not finish"
    if failure:
        raise failure[0]


def test_blur_reveal_confirm_and_webhook(
    chromium_path: Path, server: tuple[str, Any], receiver: Receiver
) -> None:
    url, app = server
    app.state.accounts.users.create("ann", "reviewer", PASSWORD)
    _, key = app.state.safespace.keys.create(["curate"], name="t")
    with BENIGN_IMAGE.open("rb") as f:
        response = httpx.post(
            f"{url}/v1/reports",
            headers={"Authorization": f"Bearer {key}"},
            files={"file": ("bridge.jpg", f, "image/jpeg")},
            data={"content_id": "post-42", "reason": "reported by a user", "account_id": "u-9"},
        )
    assert response.status_code == 201, response.text
    item = response.json()["item_id"]

    in_own_thread(lambda: _drive(chromium_path, url, item, receiver))
    kinds = sorted(a["kind"] for a in receiver.received)
    assert kinds == ["preserve_evidence", "restrict_account", "take_down_content"]
    assert receiver.refused == 0


def _drive(chromium_path: Path, url: str, item: int, receiver: Receiver) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            _steps(browser, url, item, receiver)
        finally:
            browser.close()


PAIRS = """() => [...document.querySelectorAll("#facts dt")].map(dt => {
  const dd = dt.nextElementSibling, a = dt.getBoundingClientRect(), b = dd.getBoundingClientRect();
  return [Math.abs(a.top - b.top) < 2, a.right <= b.left]; })"""


def _steps(browser: Any, url: str, item: int, receiver: Receiver) -> None:
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{url}/console/sign-in?next=/console/items/{item}")
        page.fill("#name", "ann")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"**/console/items/{item}")
        page.click("#claim")
        page.wait_for_selector("#media")
        _until(page, "e => e.complete")
        # Each label sits on the same row as its value, left of it, at desktop width.
        rows = page.evaluate(PAIRS)
        assert rows
        assert all(same_row and left_of for same_row, left_of in rows), rows
        page.set_viewport_size({"width": 320, "height": 640})  # the decision form on a phone
        wide = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        assert page.evaluate(wide) <= 0, "the item page scrolls sideways at 320 px"
        page.set_viewport_size({"width": 1280, "height": 720})
        blurred = _filter(page)
        assert "blur" in blurred
        assert "grayscale" in blurred
        page.click("#media")
        # Revealed: unblurred, and still greyscale (each reviewer's default, /console/me).
        _until(page, "e => getComputedStyle(e).filter === 'grayscale(1)'")
        page.mouse.move(0, 0)
        _until(page, "e => getComputedStyle(e).filter.includes('blur')")
        assert "blur" in _filter(page)
        page.check("#d-confirm")
        page.select_option("#category", "A1")
        page.fill("#reason", "matches the description; confirmed")
        page.click("#decide button[type=submit]")
        page.wait_for_selector("#actions")
        deadline = time.monotonic() + WAIT_SECONDS
        while len(receiver.received) < 3:
            assert time.monotonic() < deadline, "actions were not delivered"
            time.sleep(0.1)
        page.reload()
        assert page.locator("#actions").inner_text().count("delivered") == 3
    finally:
        context.close()
