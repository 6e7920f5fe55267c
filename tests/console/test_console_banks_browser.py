"""Bank management in Chromium (issue 11): a lead searches a bank, adds an entry, withdraws it
through the confirm page with a reason, and uploads a list that becomes an import job; at a
desktop width and on a 320 px phone no page scrolls sideways, and axe-core finds no serious
or critical violation on any of the pages."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from console_helpers import LiveServer, axe_source, sign_in_as

from browser_helpers import local_context
from safespace.banks.formats import HashRecord
from waiting import WAIT_SECONDS

_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
_AXE = """async () => {
  const r = await axe.run(document, { resultTypes: ["violations"] });
  return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => [v.id, v.help, v.nodes.slice(0, 3).map((n) => n.target.join(" "))]);
}"""


def _md5(i: int) -> str:
    return f"{i:032x}"


@pytest.fixture
def bank_page(chromium: Any, live_server: LiveServer) -> Iterator[Any]:
    """CSP bypassed only so that axe-core can be put into the pages."""
    with local_context(chromium, live_server.url, bypass_csp=True) as context:
        yield context.new_page()


def _axe(page: Any) -> list[Any]:
    page.add_script_tag(content=axe_source())
    found: list[Any] = page.evaluate(_AXE)
    return found


def _sign_in(page: Any, server: LiveServer, name: str) -> None:
    sign_in_as(page, server, name, "lead")


def _check(page: Any, found: dict[str, Any]) -> None:
    """Record this page's sideways overflow at 320 px and at the desktop width, and axe."""
    page.wait_for_load_state("load")
    path = page.url.split("/console", 1)[1] or "/"
    problems = {"axe": _axe(page)}
    page.set_viewport_size({"width": 320, "height": 640})
    problems["phone overflow"] = page.evaluate(_OVERFLOW)
    page.set_viewport_size({"width": 1280, "height": 800})
    problems["desktop overflow"] = page.evaluate(_OVERFLOW)
    found[path] = {k: v for k, v in problems.items() if v}


def test_a_lead_searches_adds_withdraws_and_uploads(
    bank_page: Any, live_server: LiveServer
) -> None:
    page = bank_page
    page.set_viewport_size({"width": 1280, "height": 800})
    banks = live_server.app.state.safespace.banks
    banks.create_bank("browser-bank", description="a list for the browser test")
    records = [HashRecord("md5", _md5(i), source="list A", note=f"n{i}") for i in range(60)]
    banks.add_entries("browser-bank", records)
    _sign_in(page, live_server, "leo")
    found: dict[str, Any] = {}

    # Search by value: typed in capitals, found through the type's normalisation.
    page.goto(f"{live_server.url}/console/banks/browser-bank")
    assert "60 entries." in page.locator("#entries-total").inner_text()
    _check(page, found)
    page.get_by_label("Value (hash, URL or keyword)").fill(_md5(42).upper())
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    assert page.locator("#entries-total").inner_text() == "1 of 60 entries match."
    assert page.locator("#entries tbody tr").count() == 1
    _check(page, found)

    # Add one entry; a bad value first: the error is shown and the typed text kept.
    page.get_by_role("link", name="Add an entry").click()
    page.wait_for_load_state()
    page.get_by_label("Signal type").select_option("md5")
    page.get_by_label("Value").fill("not a hash")
    page.get_by_label("Note (optional)").fill("added in the browser")
    page.get_by_role("button", name="Add the entry").click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").is_visible()
    assert page.get_by_label("Note (optional)").input_value() == "added in the browser"
    _check(page, found)
    page.get_by_label("Value").fill(_md5(1000))
    page.get_by_role("button", name="Add the entry").click()
    page.wait_for_load_state()
    assert "The entry was added" in page.get_by_role("status").inner_text()
    assert "added in the browser" in page.locator("#provenance").inner_text()
    _check(page, found)

    # Withdraw it: a confirm page that needs a reason and a tick.
    page.get_by_role("link", name="Withdraw this entry…").click()
    page.wait_for_load_state()
    _check(page, found)
    page.get_by_label("Reason (required)").fill("added to the wrong bank")
    page.get_by_label("Yes, withdraw this entry").check()
    page.get_by_role("button", name="Withdraw the entry").click()
    page.wait_for_load_state()
    assert "no longer matches" in page.get_by_role("status").first.inner_text()
    assert len(banks.list_entries("browser-bank")) == 60

    # Upload a list: the format detected, a job queued, its page shown.
    page.get_by_role("link", name="Upload an import").click()
    page.wait_for_load_state()
    _check(page, found)
    body = "signal_type,value\n" + "".join(f"md5,{_md5(i)}\n" for i in range(2000, 2005))
    page.get_by_label("Hash-list file").set_input_files(
        {"name": "more.csv", "mimeType": "text/csv", "buffer": body.encode()}
    )
    page.get_by_role("button", name="Upload and import").click()
    page.wait_for_url("**/console/imports/*")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Import job #")
    deadline = time.monotonic() + WAIT_SECONDS
    while len(banks.list_entries("browser-bank")) < 65:
        assert time.monotonic() < deadline, "the import job did not run"
        time.sleep(0.05)
    page.reload()
    _check(page, found)
    bad = {path: problems for path, problems in found.items() if problems}
    assert bad == {}, bad
