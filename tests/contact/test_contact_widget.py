"""The contact widget in Chromium, at desktop and phone sizes: a platform page on one origin,
SafeSpace on another. The test plays the platform's backend (it calls ``/v1/contact/check``
with a key) and hands the child's prompt to ``SafeSpaceContact.show``, as a platform would."""

from __future__ import annotations

import functools
import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app_factory import serve_in_thread
from browser_helpers import PHONE
from safespace.api import create_app
from safespace.config import Settings
from safespace.contact._runtime import runtime_for
from safespace.store._models_contact import ContactPromptOutcomeRow, ContactPromptRow
from waiting import WAIT_SECONDS

SECRET = "a4c9e1f70b3d5e8f2a6c0d9b7e1f3a5c8d2e4f60"
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A social app</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<script src="{safespace}/v1/contact/widget.js"></script></head>
<body><h1>Requests</h1><button id="open" type="button">Open requests</button>
<div id="slot"></div></body></html>
"""


@dataclass
class Live:
    platform: str
    safespace: str
    pages: Path
    key: str
    app: Any


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
        deter_allowed_origins=platform_url,
        matcher_snapshots=False,
    )
    app = create_app(settings)
    key = app.state.safespace.keys.create("contact", name="platform")[1]
    try:
        with serve_in_thread(app) as url:
            (pages / "app.html").write_text(PAGE.format(safespace=url), "utf-8")
            yield Live(platform_url, url, pages, key, app)
    finally:
        platform.shutdown()
        platform.server_close()


@pytest.fixture(params=["desktop", "phone"])
def page(request: pytest.FixtureRequest, chromium_browser: Any, live: Live) -> Iterator[Any]:
    options: dict[str, Any] = (
        PHONE if request.param == "phone" else {"viewport": {"width": 1280, "height": 800}}
    )
    context = chromium_browser.new_context(**options)
    requests: list[str] = []

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith((live.platform + "/", live.safespace + "/")):
            requests.append(url)
            r.continue_()
        else:
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.requests = requests
    page.size = request.param
    page.goto(f"{live.platform}/app.html")
    page.wait_for_function("() => !!window.SafeSpaceContact")
    try:
        yield page
    finally:
        context.close()


def _prompt(live: Live, child: str) -> dict[str, Any]:
    r = httpx.post(
        f"{live.safespace}/v1/contact/check",
        json={
            "actor": {"id": "stranger-1", "age_band": "18-plus", "age_assured": True},
            "target": {"id": child, "age_band": "13-15"},
            "relation": {"connected": False, "follows": False, "mutual_contacts": 0},
            "action": "friend_request",
            "country": "GB",
        },
        headers={"Authorization": f"Bearer {live.key}"},
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["decision"] == "prompt"
    prompt: dict[str, Any] = body["prompts"]["target"]
    assert prompt["token"]
    return prompt


def _outcomes(page: Any, live: Live, event_id: str, expected: str) -> list[str]:
    """The prompt's stored outcomes once ``expected`` arrives (the request is asynchronous)."""
    state = live.app.state.safespace
    db = runtime_for(live.app.state, state.settings, state.db).service().signals.db
    found: list[str] = []
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        with db.session() as s:
            found = list(
                s.scalars(
                    select(ContactPromptOutcomeRow.outcome)
                    .join(
                        ContactPromptRow, ContactPromptRow.id == ContactPromptOutcomeRow.prompt_ref
                    )
                    .where(ContactPromptRow.event_id == event_id)
                )
            )
        if expected in found:
            return found
        page.wait_for_timeout(50)
    return found


def test_the_prompt_shows_with_help_and_blocking_is_recorded(page: Any, live: Live) -> None:
    prompt = _prompt(live, f"child-{page.size}-1")
    page.focus("#open")
    page.evaluate(
        """(p) => { window.actions = [];
            SafeSpaceContact.show(p, {onAction: (a) => window.actions.push(a)}); }""",
        prompt,
    )
    card = page.locator("section.ssc-card")
    card.wait_for()
    title_id = card.get_attribute("aria-labelledby")
    assert page.locator(f"#{title_id}").inner_text() == prompt["title"]
    assert page.evaluate("() => document.activeElement.classList.contains('ssc-title')")
    assert card.locator("a.ssc-link").count() == len(prompt["help"]) > 0
    assert card.locator("button").all_inner_texts() == ["Ignore", "Block", "Report", "Accept"]
    box = card.bounding_box()
    viewport = page.viewport_size
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= viewport["width"]
    assert box["y"] + box["height"] <= viewport["height"]
    for button in card.locator("button").all():
        assert button.bounding_box()["height"] >= 44
    card.locator("button.ssc-block").click()
    assert page.evaluate("() => window.actions") == ["block"]
    assert page.locator("section.ssc-card").count() == 0
    assert page.evaluate("() => document.activeElement.id") == "open"
    assert _outcomes(page, live, prompt["event_id"], "blocked") == ["blocked"]
    assert all(u.startswith((live.platform, live.safespace)) for u in page.requests)


def test_a_help_link_click_is_recorded_once(page: Any, live: Live) -> None:
    prompt = _prompt(live, f"child-{page.size}-2")
    page.evaluate("(p) => SafeSpaceContact.show(p, {container: '#slot'})", prompt)
    link = page.locator("#slot a.ssc-link").first
    link.evaluate("(a) => a.addEventListener('click', (e) => e.preventDefault())")
    link.click()
    link.click()
    assert _outcomes(page, live, prompt["event_id"], "clicked_help") == ["clicked_help"]


def test_a_forged_token_is_refused(live: Live) -> None:
    prompt = _prompt(live, "child-forged")
    r = httpx.post(
        f"{live.safespace}/v1/contact/widget/outcomes",
        json={"event_id": prompt["event_id"], "token": "1.forged", "outcome": "accepted"},
        headers={"Origin": live.platform},
    )
    assert r.status_code == 403
    other = httpx.post(
        f"{live.safespace}/v1/contact/widget/outcomes",
        json={"event_id": prompt["event_id"], "token": prompt["token"], "outcome": "accepted"},
        headers={"Origin": "https://elsewhere.example"},
    )
    assert other.status_code == 403
