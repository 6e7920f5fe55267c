"""The embeddable widget in Chromium: a platform page on one origin, SafeSpace on another.

The test plays the platform's backend (it calls ``/v1/deter/check`` with an API key) and
hands the decision to ``SafeSpaceDeter.show`` in the page, as a platform would.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from deter_service_helpers import QUERY, Live

from waiting import WAIT_SECONDS

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A forum</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<script src="{safespace}/v1/deter/widget.js"></script></head>
<body><h1>Forum search</h1>
<label for="q">Search</label> <input id="q"> <button id="go" type="button">Search</button>
<p><a id="elsewhere" href="#elsewhere">Somewhere else on the page</a></p>
</body></html>
"""

INSIDE = "() => !!document.activeElement.closest('[role=dialog]')"


@pytest.fixture
def page(browser: Any, live: Live) -> Iterator[Any]:
    (live.pages / "forum.html").write_text(PAGE.format(safespace=live.safespace), "utf-8")
    context = browser.new_context()
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
    page.goto(f"{live.platform}/forum.html")
    page.wait_for_function("() => !!window.SafeSpaceDeter")
    page.wait_for_function(
        "() => [...document.styleSheets].some(s => (s.href || '').endsWith('widget.css'))"
    )
    try:
        yield page
    finally:
        context.close()


def _decide(live: Live, session: str, context: str = "search") -> dict[str, Any]:
    r = httpx.post(
        f"{live.safespace}/v1/deter/check",
        json={"context": context, "text": QUERY, "session": session, "locale": "en-GB"},
        headers={"Authorization": f"Bearer {live.keys['match']}"},
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _session_for(live: Live, arm: str) -> str:
    deterrer = live.runtime.loader().current
    experiment = deterrer.data.experiments.for_context("search")
    assert experiment is not None
    for i in range(500):
        name = f"w-{arm}-{i}"
        if deterrer._assigner.assign(experiment, name, time.time())[0].id == arm:
            return name
    raise AssertionError(arm)


def _show(page: Any, decision: dict[str, Any]) -> None:
    page.focus("#go")
    page.evaluate(
        """(d) => { window.seenOutcomes = [];
            SafeSpaceDeter.show(d, {onClose: (o) => window.seenOutcomes.push(o)}); }""",
        decision,
    )
    page.wait_for_selector("[role=dialog]")


def _outcomes(page: Any, live: Live, event_id: str, expected: str) -> tuple[str, ...]:
    """The event's stored outcomes, once ``expected`` arrives (the request is asynchronous;
    waiting through Playwright lets its request routing run meanwhile)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        event = live.runtime.events.get(event_id)
        if event is not None and expected in event.outcomes:
            return event.outcomes
        page.wait_for_timeout(50)
    event = live.runtime.events.get(event_id)
    return event.outcomes if event else ()


def test_dialog_is_labelled_modal_and_takes_focus(page: Any, live: Live) -> None:
    d = _decide(live, _session_for(live, "harm"))
    _show(page, d)
    dialog = page.locator("[role=dialog]")
    assert dialog.get_attribute("aria-modal") == "true"
    title_id = dialog.get_attribute("aria-labelledby")
    assert page.locator(f"#{title_id}").inner_text() == d["intervention"]["title"]
    assert page.evaluate(INSIDE)
    assert dialog.locator("a.ssd-link").count() == len(d["intervention"]["help"])
    names = dialog.locator("button").all_inner_texts()
    assert names == ["Continue", "Close"]


def test_keyboard_only_tab_cycles_escape_closes_and_focus_returns(page: Any, live: Live) -> None:
    d = _decide(live, _session_for(live, "neutral"))
    _show(page, d)
    seen = set()
    for _ in range(12):
        page.keyboard.press("Tab")
        assert page.evaluate(INSIDE), "Tab left the dialog"
        seen.add(page.evaluate("() => document.activeElement.textContent"))
    assert {"Continue", "Close"} <= seen
    for _ in range(5):
        page.keyboard.press("Shift+Tab")
        assert page.evaluate(INSIDE), "Shift+Tab left the dialog"
    # a focus ring that shows, on the keyboard-focused element
    outline = page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    assert outline[0] != "none"
    assert outline[1] >= 2
    page.keyboard.press("Escape")
    page.wait_for_selector("[role=dialog]", state="detached")
    assert page.evaluate("() => document.activeElement.id") == "go"
    assert page.evaluate("() => window.seenOutcomes") == ["left"]
    assert _outcomes(page, live, d["event_id"], "left") == ("left",)
    sent = [u for u in page.requests if u.endswith("/v1/deter/widget/outcomes")]
    assert sent, "no outcome request"
    assert all(u.startswith((live.platform, live.safespace)) for u in page.requests)


def test_outcome_request_carries_the_token(page: Any, live: Live) -> None:
    d = _decide(live, _session_for(live, "harm"))
    _show(page, d)
    with page.expect_request(lambda r: r.url.endswith("/widget/outcomes")) as caught:
        page.get_by_role("button", name="Continue").click()
    body = caught.value.post_data_json
    assert body == {"event_id": d["event_id"], "token": d["token"], "outcome": "proceeded"}
    assert _outcomes(page, live, d["event_id"], "proceeded") == ("proceeded",)
    assert page.evaluate("() => window.seenOutcomes") == ["proceeded"]


def test_help_link_records_clicked_help(page: Any, live: Live) -> None:
    d = _decide(live, _session_for(live, "harm"))
    _show(page, d)
    page.evaluate(  # keep the test on this machine: no new tab to the help service
        "() => document.querySelectorAll('a.ssd-link').forEach(a =>"
        " a.addEventListener('click', e => e.preventDefault()))"
    )
    page.locator("a.ssd-link").first.click()
    assert _outcomes(page, live, d["event_id"], "clicked_help") == ("clicked_help",)
    assert page.locator("[role=dialog]").count() == 1  # help does not close the dialog


def test_chatbot_buttons_reach_the_help_handoff(page: Any, live: Live) -> None:
    d = _decide(live, _session_for(live, "chatbot"), context="message")
    assert d["intervention"]["kind"] == "chatbot"
    _show(page, d)
    log = page.locator("[role=log]")
    assert log.get_attribute("aria-live") == "polite"
    page.locator("button[data-button=help]").click()
    page.wait_for_selector("button[data-button=go]")
    assert page.evaluate("() => document.activeElement.dataset.button")  # focus on a choice
    page.keyboard.press("Tab")
    assert page.evaluate(INSIDE)
    page.locator("button[data-button=go]").click()
    page.wait_for_selector("[role=log] a.ssd-link")
    assert page.locator("button[data-button]").count() == 0
    assert _outcomes(page, live, d["event_id"], "engaged_chatbot") == ("engaged_chatbot",)
    chats = [u for u in page.requests if u.endswith("/v1/deter/chat")]
    assert len(chats) >= 2


NEWEST_IN_VIEW = """() => { const log = document.querySelector("[role=log]");
  const last = log.lastElementChild.getBoundingClientRect(), box = log.getBoundingClientRect();
  return [log.scrollHeight > log.clientHeight, last.bottom <= box.bottom + 1]; }"""


def test_the_chat_log_keeps_the_newest_message_in_view(page: Any, live: Live) -> None:
    """After enough turns to overflow the log, its newest message is the one in view."""
    d = _decide(live, _session_for(live, "chatbot"), context="message")
    _show(page, d)
    page.set_viewport_size({"width": 360, "height": 560})
    for _ in range(4):  # a question the bot answers and stays open for more
        page.locator("[role=dialog] input[type=text]").fill("is it anonymous?")
        count = page.locator("[role=log] p").count()
        page.locator("[role=dialog] button[type=submit]").click()
        page.wait_for_function(f"() => document.querySelectorAll('[role=log] p').length > {count}")
    overflowing, newest_in_view = page.evaluate(NEWEST_IN_VIEW)
    assert overflowing
    assert newest_in_view


CONTRAST = """() => {
  const lum = (c) => { const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map(v => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const bg = (el) => { for (let e = el; e; e = e.parentElement) {
      const c = getComputedStyle(e).backgroundColor;
      const parts = c.match(/[\\d.]+/g);
      if (parts && (parts.length < 4 || Number(parts[3]) > 0.99)) return c; }
    return "rgb(255, 255, 255)"; };
  const out = [];
  for (const el of document.querySelectorAll("[role=dialog] *")) {
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest(".ssd-visually-hidden")) continue;
    const a = lum(getComputedStyle(el).color), b = lum(bg(el));
    out.push([el.className, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)]);
  }
  return out;
}"""


def test_text_contrast_meets_wcag_aa(page: Any, live: Live) -> None:
    d = _decide(live, _session_for(live, "chatbot"), context="message")
    _show(page, d)
    ratios = page.evaluate(CONTRAST)
    assert len(ratios) >= 8
    low = [(cls, round(r, 2)) for cls, r in ratios if r < 4.5]
    assert low == []


def test_fits_320_px_and_respects_reduced_motion(browser: Any, live: Live) -> None:
    (live.pages / "forum.html").write_text(PAGE.format(safespace=live.safespace), "utf-8")
    d = _decide(live, _session_for(live, "chatbot"), context="message")
    for motion, animation in (("reduce", "none"), ("no-preference", "ssd-in")):
        context = browser.new_context(viewport={"width": 320, "height": 640}, reduced_motion=motion)
        try:
            page = context.new_page()
            page.goto(f"{live.platform}/forum.html")
            page.wait_for_function(
                "() => [...document.styleSheets].some(s => (s.href || '').endsWith('widget.css'))"
            )
            _show(page, d)
            box = page.locator("[role=dialog]").bounding_box()
            assert box["x"] >= 0
            assert box["x"] + box["width"] <= 320
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 320
            for button in page.locator("[role=dialog] button").all():
                b = button.bounding_box()
                if b is not None:
                    assert b["x"] + b["width"] <= 320
            name = page.evaluate(
                "() => getComputedStyle(document.querySelector('[role=dialog]')).animationName"
            )
            assert name == animation
        finally:
            context.close()
