"""Issue 5's "Done means", the whole way, as a new user would do it, in Chromium.

`make run`'s command serves the demo; on a phone-sized touch browser someone reports a
picture of themselves (only fingerprints leave the device); the platform "re-uploads" the
same picture through /v1/match and it matches the self-report bank; a reviewer signs in to the
console with the printed credentials, finds the match in the queue (hashes and metadata
first, any media blurred), claims and confirms it; the signed webhook actions reach the
platform's receiver and the item page shows them delivered; the referral downloads and fits
NCMEC's schema; the reporter's status page tells them the outcome.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import httpx
import pytest
from e2e_helpers import BRIDGE, REPORTER, DemoServer, Receiver, poll

from browser_helpers import PHONE, local_context, record_requests
from safespace.reports._referrals import validate_cybertip

CONTENT_ID = "post/e2e-4711"
TIMEOUT_MS = 30_000


@pytest.fixture
def phone(browser: Any, server: DemoServer) -> Iterator[Any]:
    """A phone-sized touch browser that may reach only the server; every request recorded."""
    with local_context(browser, server.url, **PHONE) as context:
        context.set_default_timeout(TIMEOUT_MS)
        yield context


@pytest.fixture
def desk(browser: Any, server: DemoServer) -> Iterator[Any]:
    """A desktop browser for the reviewer."""
    desktop = {"viewport": {"width": 1280, "height": 900}, "locale": "en-GB"}
    with local_context(browser, server.url, **desktop, accept_downloads=True) as context:
        context.set_default_timeout(TIMEOUT_MS)
        yield context


def test_report_rematch_review_confirm_webhook_referral(
    server: DemoServer, receiver: Receiver, phone: Any, desk: Any, tmp_path: Path
) -> None:
    image = BRIDGE.read_bytes()
    case_number, pin = _self_report(server, phone, image)
    _rematch(server, image)
    page = desk.new_page()
    item = _review_and_confirm(server, page)
    _webhook_delivered(server, page, receiver, item)
    _referrals(page, item, image, tmp_path)
    # Confirming the re-upload is enough: the match knows which self-report it answers.
    _status_shows_outcome(server, phone, case_number, pin)
    _case_confirmed_with_its_reupload(server, page, image, item, case_number)


# --- 1. the self-report, on a phone ----------------------------------------------------------


def _self_report(server: DemoServer, phone: Any, image: bytes) -> tuple[str, str]:
    requests = record_requests(phone)
    page = phone.new_page()
    page.goto(f"{server.url}/report")
    page.wait_for_function("() => !!window.SafeSpaceHashing")
    page.get_by_label("Pictures or videos of you").set_input_files(str(BRIDGE))
    page.wait_for_function(
        "() => document.getElementById('progress-text').textContent.includes('ready for 1 of 1')"
    )
    page.get_by_label("13 to 15").check()
    page.get_by_label("Where did you see it? (optional)").fill("https://example.org/where-i-saw-it")
    page.get_by_role("button", name="Send the fingerprints").tap()
    page.wait_for_selector("#result", state="visible")
    case_number = page.inner_text("#case-number").strip()
    pin = page.inner_text("#pin").strip()
    assert re.fullmatch(r"SR-[A-Z0-9-]+", case_number), case_number
    assert pin
    page.close()

    # The file itself never left the phone: only the page's own files and one JSON POST.
    assert requests
    middle = len(image) // 2
    for r in requests:
        assert r["url"].startswith(server.url + "/"), r["url"]
        assert "multipart" not in r["headers"].get("content-type", "")
        assert len(r["body"]) < 4096, (r["url"], len(r["body"]))
        for chunk in (image[:2048], image[middle : middle + 2048], image[-2048:]):
            assert chunk not in r["body"]
            assert base64.b64encode(chunk[:1500]) not in r["body"]
    posts = [r for r in requests if r["method"] != "GET"]
    assert [(p["method"], p["url"]) for p in posts] == [("POST", f"{server.url}/v1/self-reports")]
    sent = json.loads(posts[0]["body"])
    assert sent["items"][0]["md5"] == hashlib.md5(image).hexdigest()
    assert BRIDGE.name not in posts[0]["body"].decode()
    return case_number, pin


# --- 2. the platform "re-uploads" the picture --------------------------------------------------


def _rematch(server: DemoServer, image: bytes) -> None:
    found: list[dict[str, Any]] = []

    def matched() -> bool:
        response = httpx.post(
            f"{server.url}/v1/match",
            headers={"Authorization": f"Bearer {server.api_key}"},
            files={"file": ("upload.jpg", image, "image/jpeg")},
            data={"content_id": CONTENT_ID},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        found[:] = [g for g in body["matches"] if g["bank"]["name"] == "self-reports"]
        return bool(body["matched"] and found)

    assert poll(matched, every=0.2), "the re-upload never matched the self-report bank"
    assert {g["bank"]["name"] for g in found} == {"self-reports"}


# --- 3. review in the console -----------------------------------------------------------------


def _review_and_confirm(server: DemoServer, page: Any) -> int:
    page.goto(f"{server.url}/console")
    page.wait_for_url("**/console/sign-in**")
    page.get_by_label("Name").fill("admin")
    page.get_by_label("Password").fill(server.admin_password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/console")  # signed in: back where they were going

    # The review thread turns the match event into an item; the queue page shows it.
    row = page.locator("#queue tbody tr", has_text=CONTENT_ID)

    def listed() -> bool:
        page.goto(f"{server.url}/console/queue")
        return bool(row.count() == 1)

    assert poll(listed, every=0.25), "the match never reached the review queue"
    assert "self-reports" in row.inner_text()
    row.get_by_role("link").click()
    page.wait_for_url(re.compile(r".*/console/items/\d+$"))
    item = int(page.url.rsplit("/", 1)[1])

    # Reviewer protection: the match and metadata come first; media, if any, is blurred.
    facts = page.locator("#facts").inner_text()
    assert CONTENT_ID in facts
    assert "self-reports" in facts
    md5 = hashlib.md5(BRIDGE.read_bytes()).hexdigest()
    assert md5 in facts or re.search(r"\bpdq\b.*\n[0-9a-f]{64}\b", facts), facts
    _media_is_protected(page)

    _confirm(page, item, "The re-upload is the self-reported picture.")
    # With the defaults (SAFESPACE_REVIEW_SECOND_LOOK off) one admin's decision is final.
    status = page.locator("main p").first.inner_text()
    assert "confirmed" in status, f"not final after one decision: {status}"
    assert "confirm A1, final" in page.locator("#decisions").inner_text()
    return item


def _submit(page: Any, button: str, action: str) -> None:
    """Press a form's button; the POST must answer with the console's redirect."""
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(action)) as r:
        page.get_by_role("button", name=button).click()
    status = r.value.status
    page.wait_for_load_state()
    assert status == 303, f"{button}: HTTP {status}\n{page.locator('main').inner_text()}"


def _confirm(page: Any, item: int, reason: str) -> None:
    """Claim the open item, then confirm it with category A1 and a reason."""
    _submit(page, "Claim this item", f"/console/items/{item}/claim")
    page.get_by_label("Confirm", exact=True).check()
    page.get_by_label("Category (for a confirmation)").select_option("A1")
    page.get_by_label(re.compile(r"^Reason \(required")).fill(reason)
    _submit(page, "Record decision", f"/console/items/{item}/decide")
    page.wait_for_url(f"**/console/items/{item}")


def _media_is_protected(page: Any) -> None:
    media = page.locator("#media")
    if media.count() == 0:
        # Hashes only (SAFESPACE_REVIEW_STORE_MEDIA is off by default): nothing to see.
        assert page.locator("main img, main video").count() == 0
        return
    # eval_on_selector, not evaluate: the console's CSP allows no eval.
    assert page.eval_on_selector(
        "#facts", "f => !!(f.compareDocumentPosition(document.getElementById('media')) & 4)"
    ), "the media comes before the hashes and metadata"
    css = page.eval_on_selector("#media", "e => getComputedStyle(e).filter")
    assert "blur" in css, css
    assert "grayscale" in css, css


# --- 4. the signed webhook actions ------------------------------------------------------------


def _webhook_delivered(server: DemoServer, page: Any, receiver: Receiver, item: int) -> None:
    wanted = {"take_down_content", "preserve_evidence"}
    assert poll(lambda: wanted <= set(receiver.kinds())), (
        f"actions not delivered: {receiver.kinds()}, refused {len(receiver.refused)}"
    )
    assert receiver.refused == []
    for delivery in receiver.received:
        assert delivery.path == "/hooks/safespace"
        assert delivery.headers.get("Content-Type") == "application/json"
        assert delivery.headers.get("SafeSpace-Action-Id") == str(delivery.payload["id"])
        assert delivery.payload["case_id"] == f"review-{item}"
        target = delivery.payload["target"]
        assert target["content_id"] == CONTENT_ID
        assert target["review_item"] == item
        assert target["category"] == "A1"
    assert set(receiver.kinds()) == wanted  # no account id was given: no restrict_account

    rows = page.locator("#actions tbody tr")

    def shown_delivered() -> bool:
        page.goto(f"{server.url}/console/items/{item}")
        texts = [rows.nth(i).inner_text() for i in range(rows.count())]
        return len(texts) == len(wanted) and all("delivered" in t for t in texts)

    assert poll(shown_delivered, every=0.25), page.locator("main").inner_text()
    table = page.locator("#actions").inner_text()
    for kind in wanted:
        assert kind in table
    assert "204" in table  # the receiver's answer, on the attempt


# --- 5. the referral --------------------------------------------------------------------------


def _download(page: Any, name: str, folder: Path) -> tuple[str, bytes]:
    with page.expect_download() as info:
        page.get_by_role("link", name=name).click()
    download = info.value
    path = folder / download.suggested_filename
    download.save_as(path)
    return download.suggested_filename, path.read_bytes()


def _referrals(page: Any, item: int, image: bytes, folder: Path) -> None:
    name, xml = _download(page, "CyberTipline XML", folder)
    assert name == f"referral-review-{item}.xml"
    validate_cybertip(xml, what="downloaded referral")  # NCMEC's schema, shipped with us
    root = SafeET.fromstring(xml)
    text = " ".join(t.strip() for t in root.itertext())
    assert REPORTER["SAFESPACE_REPORTER_EMAIL"] in text
    md5 = hashlib.md5(image).hexdigest()
    assert md5 in text or "PDQ" in text, text

    name, raw = _download(page, "JSON referral", folder)
    assert name == f"referral-review-{item}.json"
    referral = json.loads(raw)
    assert referral["format"] == "safespace.referral"
    assert referral["case_id"] == f"review-{item}"
    assert referral["content"]["content_id"] == CONTENT_ID
    assert referral["content"]["classification"] == "A1"
    hashes = {h["type"]: h["value"] for h in referral["content"]["hashes"]}
    assert {"md5", "pdq"} & set(hashes), hashes
    assert hashes.get("md5", md5) == md5
    assert referral["reporter"]["email"] == REPORTER["SAFESPACE_REPORTER_EMAIL"]
    assert referral["reporter"]["platform"] == REPORTER["SAFESPACE_REPORTER_PLATFORM"]


# --- 7. the self-report's own item -----------------------------------------------------------


def _case_confirmed_with_its_reupload(
    server: DemoServer, page: Any, image: bytes, item: int, case_number: str
) -> None:
    """The case itself is an item too (hashes only). A self-report and its re-uploads are one
    case, so confirming the re-upload confirmed the case's own item as well."""
    page.goto(f"{server.url}/console/queue")
    # the demo's own review items (demo-post-1...) stay waiting; none of this case does
    waiting = page.locator("#queue tbody tr").filter(has_not_text="demo-post-")
    assert waiting.count() == 0, page.locator("main").inner_text()
    others = page.locator("#decided tbody tr").filter(has_not_text=f"#{item}")
    assert others.count() == 1, page.locator("main").inner_text()
    assert "confirmed" in others.inner_text()
    others.get_by_role("link").click()
    page.wait_for_url(re.compile(r".*/console/items/\d+$"))
    assert hashlib.md5(image).hexdigest() in page.locator("#facts").inner_text()
    case = page.locator("#case").inner_text()
    assert case_number in case, case
    assert f"#{item}" in page.locator("#case-items").inner_text()
    _media_is_protected(page)
    assert "confirmed" in page.locator("main p").first.inner_text()


# --- 6. the reporter checks their case ---------------------------------------------------------


def _status_shows_outcome(server: DemoServer, phone: Any, case_number: str, pin: str) -> None:
    page = phone.new_page()
    page.goto(f"{server.url}/report/status")
    page.locator("#case-number-input").fill(case_number)
    page.locator("#pin-input").fill(pin)
    page.get_by_role("button", name="Check my report").tap()
    page.wait_for_selector("#outcome", state="visible")
    assert page.inner_text("#outcome-case").strip() == case_number
    assert page.inner_text("#outcome-status").strip() == "Acted on"
