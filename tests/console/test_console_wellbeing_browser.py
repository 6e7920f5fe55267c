"""Looking after reviewers in Chromium (issue 11): settings -> the item page's blur class and
what a reveal shows, the break notice with the queue's clock moved by the test (no waiting)
and "Not now", and the lead's view; on a desktop and a 320 px phone (no sideways scroll),
with axe-core finding no serious or critical violation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_helpers import PASSWORD, Clock, LiveServer, fast_passwords

from app_factory import serve_in_thread
from browser_helpers import local_context
from datafiles import BRIDGE
from queue_rows import add_items
from safespace.accounts import Accounts
from safespace.api import create_app
from safespace.config import Settings
from safespace.reports._queue import ReviewQueue

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
EVIDENCE_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="  # test-only, bytes 0..31
_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
_AXE = """async () => {
  const r = await axe.run(document, { resultTypes: ["violations"] });
  return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => [v.id, v.nodes.slice(0, 3).map((n) => n.target.join(" "))]);
}"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    """A live server that keeps reported media (sealed with a test-only key)."""
    settings = Settings(
        data_dir=tmp_path / "live",
        matcher_snapshots=False,
        review_store_media=True,
        evidence_key=EVIDENCE_KEY,
        review_poll_seconds=3600,
    )
    app = create_app(settings)
    accounts: Accounts = app.state.accounts
    accounts.passwords = fast_passwords()
    with serve_in_thread(app, "wellbeing-live-server") as url:
        yield LiveServer(url, app, accounts)


def _report_with_media(server: LiveServer) -> int:
    _, key = server.app.state.safespace.keys.create(["match", "curate"], name="wb-test")
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.url, headers=headers) as api, BRIDGE.open("rb") as f:
        made = api.post(
            "/v1/reports",
            files={"file": ("a.jpg", f, "image/jpeg")},
            data={"content_id": "img-1", "reason": "reported"},
        )
    assert made.status_code == 201, made.text
    item_id: int = made.json()["item_id"]
    return item_id


def _sign_in(page: Any, server: LiveServer, name: str) -> None:
    page.goto(f"{server.url}/console/sign-in?next=/console/me")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/console/me$"))


def _check(page: Any, url: str) -> None:
    """No sideways scroll, and no serious or critical axe violation."""
    page.goto(url)
    page.wait_for_load_state("load")
    assert page.evaluate(_OVERFLOW) <= 0, f"{url} scrolls sideways"
    page.add_script_tag(content=files("axe_playwright_python").joinpath("axe.min.js").read_text())
    assert page.evaluate(_AXE) == [], url


def test_settings_blur_break_notice_and_lead_view(chromium: Any, server: LiveServer) -> None:
    queue = server.app.state.review.queue
    assert isinstance(queue, ReviewQueue)
    clock = Clock(START)
    queue.clock = clock
    item = _report_with_media(server)
    server.accounts.users.create("lee", "lead", PASSWORD)
    ids = add_items(queue.db, 6, now=START - timedelta(hours=1))
    with local_context(chromium, server.url, bypass_csp=True) as context:
        page = context.new_page()
        _sign_in(page, server, "lee")
        # The defaults: strong blur, and greyscale kept once revealed.
        page.goto(f"{server.url}/console/items/{item}")
        assert "blur(24px)" in page.locator("#media").evaluate("e => getComputedStyle(e).filter")
        page.get_by_role("button", name=re.compile("Reveal for")).click()
        page.wait_for_function("document.querySelector('#media').classList.contains('revealed')")
        assert page.locator("#media").evaluate("e => getComputedStyle(e).filter") == "grayscale(1)"
        page.goto(f"{server.url}/console/me")
        # Settings: light blur, colour once revealed.
        page.get_by_label("Light").check()
        page.get_by_label("Keep media in greyscale when I reveal it (recommended)").uncheck()
        page.get_by_role("button", name="Save my settings").click()
        page.wait_for_url(re.compile(r".*/console/me\?saved=1$"))
        assert page.locator("#settings-saved").is_visible()
        page.goto(f"{server.url}/console/items/{item}")
        box = page.locator("#protected-media")
        assert box.get_attribute("class").split() == ["protected-media", "blur-light"]
        media = page.locator("#media")
        assert "blur(8px)" in media.evaluate("e => getComputedStyle(e).filter")
        page.get_by_role("button", name=re.compile("Reveal for")).click()
        page.wait_for_function("document.querySelector('#media').classList.contains('revealed')")
        assert media.evaluate("e => getComputedStyle(e).filter") == "none"
        # Fifty minutes of steady work (a claim every ten): the notice, then "Not now".
        for n, item_id in enumerate(ids):
            queue.claim(item_id, "lee", "lead")
            if n < len(ids) - 1:
                clock.advance(minutes=10)
        page.goto(f"{server.url}/console/queue")
        notice = page.locator("#break-notice")
        assert notice.is_visible()
        assert "reviewing for 50 minutes" in notice.inner_text()
        _check(page, f"{server.url}/console/queue")
        page.get_by_role("button", name=re.compile("Not now")).click()
        page.wait_for_url(re.compile(r".*/console/queue$"))
        assert page.locator("#break-notice").count() == 0
        for minutes, item_id in ((10, ids[0]), (6, ids[1])):  # work goes on past "not now"
            clock.advance(minutes=minutes)
            queue.release(item_id, "lee")
            queue.claim(item_id, "lee", "lead")
        page.goto(f"{server.url}/console/items/{ids[0]}")
        assert page.locator("#break-notice").is_visible()
        # The lead's view, and the settings page, checked too.
        page.goto(f"{server.url}/console/reviewers")
        row = page.locator("#reviewers tbody tr", has_text="lee")
        assert "over the break time" in row.inner_text()
        for path in ("/console/reviewers", "/console/me", f"/console/items/{item}"):
            _check(page, server.url + path)
    phone = {"viewport": {"width": 320, "height": 640}, "is_mobile": True, "has_touch": True}
    with local_context(chromium, server.url, bypass_csp=True, **phone) as context:
        page = context.new_page()
        _sign_in(page, server, "lee")
        for path in ("/console/me", "/console/queue", f"/console/items/{item}"):
            page.goto(server.url + path)
            page.wait_for_load_state("load")
            assert page.evaluate(_OVERFLOW) <= 0, f"{path} scrolls sideways on a phone"
        _check(page, f"{server.url}/console/reviewers")
