"""The review queue in Chromium with a few thousand generated items (written straight into
the database): filters and paging with a filter, the keyboard flow claim -> confirm -> next,
a bulk false positive of selected rows, on a desktop and on a phone (no sideways scroll at
320 px)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from console_helpers import PASSWORD, LiveServer

from browser_helpers import PHONE, local_context
from queue_rows import add_items
from safespace.reports._queue import QueueFilter, ReviewQueue, count_filtered

COUNT = 3000
_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _queue(server: LiveServer) -> ReviewQueue:
    queue = server.app.state.review.queue
    assert isinstance(queue, ReviewQueue)
    return queue


@pytest.fixture
def big(live_server: LiveServer) -> LiveServer:
    add_items(_queue(live_server).db, COUNT)
    return live_server


def _sign_in(page: Any, server: LiveServer, name: str, role: str = "reviewer") -> None:
    server.accounts.users.create(name, role, PASSWORD)
    page.goto(f"{server.url}/console/queue")
    assert "/console/sign-in" in page.url
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/console/queue$"))


def _filter_and_page(page: Any, server: LiveServer) -> None:
    total = count_filtered(_queue(server), QueueFilter(source="retro"))
    assert 100 < total < COUNT
    page.get_by_label("Source").select_option("retro")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r".*source=retro.*"))
    heading = page.locator("#open-heading")
    assert heading.inner_text() == f"Waiting, filtered ({total})"
    page.get_by_role("link", name="Next page").click()
    page.wait_for_url(re.compile(r".*page=2.*"))
    assert "source=retro" in page.url
    assert heading.inner_text() == f"Waiting, filtered ({total})"
    assert page.get_by_label("Source").input_value() == "retro"
    sources = page.locator("#queue tbody tr td:nth-child(4)").all_inner_texts()
    assert sources
    assert all(s.startswith("retro-match") for s in sources)


def test_filters_and_paging_on_a_desktop(page: Any, big: LiveServer) -> None:
    _sign_in(page, big, "ann")
    assert page.locator("#open-heading").inner_text() == f"Waiting ({COUNT})"
    _filter_and_page(page, big)
    # A search stays within the other filters: item 1230 is a retro-match, 1234 is not.
    search = page.get_by_label("Search: content id, account or hash (exact)")
    for content, found in (("content-1230", 1), ("content-1234", 0)):
        search.fill(content)
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(re.compile(rf".*q={content}.*"))
        assert page.locator("#open-heading").inner_text() == f"Waiting, filtered ({found})"
        assert "source=retro" in page.url
        search = page.get_by_label("Search: content id, account or hash (exact)")


def test_keyboard_claim_confirm_next(page: Any, big: LiveServer) -> None:
    queue = _queue(big)
    _sign_in(page, big, "ann")
    ids = [i.id for i in queue_items(queue, QueueFilter(source="retro"))]
    page.goto(f"{big.url}/console/items/{ids[0]}?filter=source%3Dretro")
    page.locator("body").press("c")  # claim
    page.wait_for_selector("#decide")
    assert queue.get(ids[0]).claimed_by == "ann"
    page.keyboard.press("y")  # confirm: the category gets focus
    assert page.locator("#d-confirm").is_checked()
    assert page.evaluate("document.activeElement.id") == "category"
    page.keyboard.type("A")  # a focused select picks the option typed
    assert page.locator("#category").input_value() == "A"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "reason"
    page.keyboard.type("Matches the listed content; jk typed here moves nothing")
    assert f"/items/{ids[0]}" in page.url
    page.keyboard.press("Control+Enter")  # record and claim the next of this filter
    page.wait_for_url(re.compile(rf".*/console/items/{ids[1]}\?filter=source%3Dretro$"))
    first = queue.get(ids[0])
    assert (first.status, first.decision_category) == ("confirmed", "A")
    assert queue.get(ids[1]).claimed_by == "ann"
    page.keyboard.press("j")  # next in the queue
    page.wait_for_url(re.compile(rf".*/console/items/{ids[2]}\?filter=.*"))
    page.keyboard.press("k")  # and back
    page.wait_for_url(re.compile(rf".*/console/items/{ids[1]}\?filter=.*"))
    help_box = page.locator("#keyboard-help")
    assert not help_box.evaluate("d => d.open")
    page.keyboard.press("?")
    assert help_box.evaluate("d => d.open")
    page.keyboard.press("n")  # false positive: focus to the reason
    assert page.locator("#d-fp").is_checked()
    page.keyboard.press("e")  # typing in the reason: no shortcut
    assert page.locator("#d-fp").is_checked()
    assert page.locator("#reason").input_value() == "e"


def queue_items(queue: ReviewQueue, flt: QueueFilter) -> list[Any]:
    from safespace.reports._queue import list_filtered

    return list_filtered(queue, flt, limit=5)


def test_bulk_false_positive_of_selected_rows(page: Any, big: LiveServer) -> None:
    queue = _queue(big)
    _sign_in(page, big, "lea", "lead")
    page.goto(f"{big.url}/console/queue?source=match&bank=beta-list")
    boxes = page.locator('#queue input[name="items"]')
    picked = [int(boxes.nth(n).get_attribute("value").split(":")[0]) for n in range(3)]
    for n in range(3):
        boxes.nth(n).check()
    page.get_by_label("False positive (their hashes go into the allow bank)").check()
    page.get_by_label("Reason (required)").fill("Not the listed content")
    page.get_by_role("button", name="Check the selected items").click()
    page.wait_for_url(re.compile(r".*/console/queue/bulk$"))
    assert page.locator("h1").inner_text() == "Confirm: mark as false positive 3 items"
    assert all(queue.get(i).status == "open" for i in picked)
    page.get_by_role("button", name="Yes, mark as false positive 3 items").click()
    page.wait_for_selector("#bulk-done")
    assert page.locator("#bulk-done").inner_text().startswith("Marked as false positive: 3 items")
    assert [queue.get(i).status for i in picked] == ["false-positive"] * 3
    page.get_by_role("link", name="Back to the queue").click()
    page.wait_for_url(re.compile(r".*bank=beta-list.*"))


def test_phone_filters_paging_and_no_sideways_scroll(chromium: Any, big: LiveServer) -> None:
    with local_context(chromium, big.url, **PHONE) as context:
        page = context.new_page()
        _sign_in(page, big, "pat")
        assert page.evaluate(_OVERFLOW) <= 0, "the queue scrolls sideways on a phone"
        _filter_and_page(page, big)
        page.set_viewport_size({"width": 320, "height": 640})
        for path in ("/console/queue", "/console/queue?view=retro&sort=bank"):
            page.goto(f"{big.url}{path}")
            assert page.evaluate(_OVERFLOW) <= 0, f"{path} scrolls sideways at 320 px"
        first = page.locator("#queue tbody a").first
        first.click()
        page.wait_for_selector("#keyboard-help")
        assert page.evaluate(_OVERFLOW) <= 0, "the item page scrolls sideways at 320 px"
