"""The console in Chromium against a real uvicorn server: sign-in, lockout, what the overview
shows after API calls, CSRF refusal, sign-out, and a phone-width layout."""

from __future__ import annotations

import time
from typing import Any

import httpx
from console_helpers import PASSWORD, LiveServer

from waiting import WAIT_SECONDS

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d35c785545392755e7e4164457657269"


def _sign_in(page: Any, server: LiveServer, name: str, password: str = PASSWORD) -> None:
    page.goto(f"{server.url}/console")
    assert "/console/sign-in" in page.url
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _api_setup(server: LiveServer, content_id: str) -> None:
    """A bank with a PDQ and an MD5 entry, and a match recorded for ``content_id``."""
    _, key = server.app.state.safespace.keys.create("admin", name="browser-test")
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as api:
        assert api.post("/v1/banks", json={"name": "browser-bank"}).status_code == 201
        entries = [
            {"signal_type": "pdq", "value": PDQ, "source": "test list", "category": "A"},
            {"signal_type": "md5", "value": MD5, "source": "test list"},
        ]
        added = api.post("/v1/banks/browser-bank/entries", json={"entries": entries})
        assert added.status_code == 201, added.text
        deadline = time.monotonic() + WAIT_SECONDS
        body = {"signals": {"md5": MD5}, "content_id": content_id}
        while True:  # the matcher follows bank changes within a moment
            result = api.post("/v1/match", json=body).json()
            if result.get("events_recorded"):
                break
            assert time.monotonic() < deadline, result
            time.sleep(0.05)


def test_wrong_password_then_lockout(page: Any, live_server: LiveServer) -> None:
    live_server.accounts.users.create("alice", "reviewer", PASSWORD)
    _sign_in(page, live_server, "alice", "not the right one")
    alert = page.get_by_role("alert")
    assert alert.inner_text() == "Wrong name or password."
    assert page.get_by_label("Name").input_value() == "alice"
    for _ in range(4):
        page.get_by_label("Password").fill("still not the right one")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
    assert "Too many failed sign-ins" in page.get_by_role("alert").inner_text()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "Too many failed sign-ins" in page.get_by_role("alert").inner_text()
    assert "/console/sign-in" in page.url


def test_overview_shows_a_bank_and_a_match_event_made_through_the_api(
    page: Any, live_server: LiveServer
) -> None:
    _api_setup(live_server, "post/4242")
    live_server.accounts.users.create("rita", "reviewer", PASSWORD)
    _sign_in(page, live_server, "rita")
    assert page.url == f"{live_server.url}/console"
    assert page.get_by_role("heading", name="Overview", level=1).is_visible()
    banks = page.locator("#banks")
    assert "browser-bank" in banks.inner_text()
    event = page.locator("#events tbody tr").first
    cells = event.locator("td").all_inner_texts()
    assert cells[1:] == ["post/4242", "browser-bank", cells[3], "md5", "0"]
    assert page.locator("img, video").count() == 0
    page.get_by_role("link", name="browser-bank").first.click()
    page.wait_for_load_state()
    assert PDQ in page.locator("#entries").inner_text()
    assert MD5 in page.locator("#entries").inner_text()


def test_a_forged_csrf_token_is_refused(page: Any, live_server: LiveServer) -> None:
    live_server.accounts.users.create("alice", "reviewer", PASSWORD)
    _sign_in(page, live_server, "alice")
    page.evaluate("document.querySelector('form.signout input[name=csrf_token]').value = 'forged'")
    with page.expect_navigation() as nav:
        page.get_by_role("button", name="Sign out").click()
    assert nav.value.status == 403
    assert page.get_by_role("heading", name="Form refused").is_visible()
    page.goto(f"{live_server.url}/console")
    assert page.url == f"{live_server.url}/console"  # still signed in


def test_sign_out(page: Any, live_server: LiveServer) -> None:
    live_server.accounts.users.create("alice", "reviewer", PASSWORD)
    _sign_in(page, live_server, "alice")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    assert "/console/sign-in" in page.url
    assert page.get_by_role("status").inner_text() == "You have signed out."
    page.goto(f"{live_server.url}/console")
    assert "/console/sign-in" in page.url
    cookies = {c["name"] for c in page.context.cookies()}
    assert "safespace_console" not in cookies


def test_phone_width_has_no_horizontal_scroll(page: Any, live_server: LiveServer) -> None:
    _api_setup(live_server, "upload/" + "x" * 200)
    live_server.accounts.users.create("lena", "lead", PASSWORD)
    page.set_viewport_size({"width": 360, "height": 740})
    _sign_in(page, live_server, "lena")
    for path in ("/console", "/console/banks/browser-bank", "/console/sign-in"):
        page.goto(f"{live_server.url}{path}")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px"
    # Keyboard users reach the skip link first, and it is visible when focused.
    page.goto(f"{live_server.url}/console")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to content"
    box = page.locator("a.skip").bounding_box()
    assert box is not None
    assert box["y"] >= 0
