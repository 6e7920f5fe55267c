"""Chromium on a matched video's review item (issue 15): the matched ranges in both videos
and the still's timestamp are on the page, the sheet of matched frames is blurred and in
greyscale, and a click reveals it (counted) until the pointer leaves."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from review_helpers import CHROMIUM_ARGS, EVIDENCE_KEY, PASSWORD, fast_passwords, free_port
from video_helpers import VideoBanks, video_banks

from video_clips import video
from waiting import WAIT_SECONDS


def _in_own_thread(fn: Callable[[], None]) -> None:
    """Playwright's sync API refuses a thread where another sync Playwright runs its loop."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # re-raised in the test's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="review-video-browser")
    thread.start()
    thread.join(5 * WAIT_SECONDS)
    assert not thread.is_alive(), "the browser test did not finish"
    if failure:
        raise failure[0]


def _until(page: Any, script: str) -> None:
    """Poll with eval_on_selector: the console's CSP forbids wait_for_function's eval."""
    deadline = time.monotonic() + WAIT_SECONDS
    while not page.eval_on_selector("#media", script):
        assert time.monotonic() < deadline, script
        time.sleep(0.05)


def test_video_ranges_and_blurred_frames_in_chromium(chromium_path: Path, make_app: Any) -> None:
    app = make_app(review_store_media=True, evidence_key=EVIDENCE_KEY, matcher_refresh_seconds=0.05)
    banks: VideoBanks = video_banks(app)
    banks.match(video(start=2.0, seconds=4.0), content_id="clip-9")
    queue = app.app.state.review.queue
    [listed] = queue.list_items()
    item = queue.get(listed.id)
    assert item.video is not None
    ranged = next(m for m in item.video.matches if m.query_timestamp is None)
    app.app.state.accounts.passwords = fast_passwords()
    app.app.state.accounts.users.create("ann", "reviewer", PASSWORD)

    import uvicorn

    # The app already runs (its lifespan is the test client's): uvicorn only serves it.
    port = free_port()
    config = uvicorn.Config(app.app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="review-video-live", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped during start-up"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        url = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{url}/healthz").status_code == 200
        _in_own_thread(lambda: _drive(chromium_path, url, item.id, ranged.query_text))
    finally:
        server.should_exit = True
        thread.join(10)


def _drive(chromium_path: Path, url: str, item: int, query_text: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context().new_page()
            page.goto(f"{url}/console/sign-in?next=/console/items/{item}")
            page.fill("#name", "ann")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"**/console/items/{item}")
            listed = page.locator("#video-matches").inner_text()
            assert f"query: {query_text}" in listed, listed
            assert "banked: 0:0" in listed, listed
            assert "the frame at 0:01" in listed, listed
            assert "matched the banked image" in listed
            assert page.locator("#video-frames").is_visible()
            page.wait_for_selector("#media")
            _until(page, "e => e.complete && e.naturalWidth > 0")
            shown = page.eval_on_selector("#media", "e => getComputedStyle(e).filter")
            assert "blur" in shown
            assert "grayscale" in shown
            page.click("#media")
            # Revealed: unblurred, still greyscale by default (each reviewer may choose).
            _until(page, "e => getComputedStyle(e).filter === 'grayscale(1)'")
            assert "revealed 1 item" in page.locator("#reveal-count").inner_text()
            page.mouse.move(0, 0)
            _until(page, "e => getComputedStyle(e).filter.includes('blur')")
        finally:
            browser.close()
