"""The /report pages in Chromium on a phone-sized, touch viewport, against the real server.

The flow a person follows: pick a picture, answer, send, get a case number and PIN; every
request the page makes is recorded, and none may carry the file. Then the same picture is
"re-uploaded" through /v1/match and matches the self-report bank, and after withdrawal it
no longer does.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from selfreport_helpers import BRIDGE, Live, poll

from browser_helpers import record_requests


def _match_upload(live: Live, data: bytes) -> dict[str, Any]:
    response = httpx.post(
        f"{live.url}/v1/match",
        headers={"Authorization": f"Bearer {live.key}"},
        files={"file": ("upload.jpg", data, "image/jpeg")},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _self_report_banks(result: dict[str, Any]) -> set[str]:
    return {g["bank"]["name"] for g in result["matches"]} & {"self-reports"}


def test_report_check_rematch_and_withdraw_on_a_phone(phone: Any, live: Live) -> None:
    image = BRIDGE.read_bytes()
    assert not _self_report_banks(_match_upload(live, image))
    requests = record_requests(phone)

    phone.goto(f"{live.url}/report")
    phone.wait_for_function("() => !!window.SafeSpaceHashing")
    assert not phone.is_visible("#progress-wrap")  # no progress before a file is picked
    phone.set_input_files("#files", str(BRIDGE))
    phone.wait_for_function(
        "() => document.getElementById('progress-text').textContent.includes('ready for 1 of 1')"
    )
    assert "ready" in phone.inner_text("#file-list")
    phone.get_by_label("13 to 15").check()
    phone.fill("#urls", "https://example.org/where-i-saw-it")
    phone.click("#submit")
    phone.wait_for_selector("#result", state="visible")
    assert phone.evaluate("document.activeElement.id") == "result"  # focus moves to the result
    in_view = """(id) => { const r = document.getElementById(id).getBoundingClientRect();
      return r.top >= 0 && r.bottom <= window.innerHeight; }"""
    assert phone.evaluate(in_view, "case-number")  # the case number and PIN are on screen
    assert phone.evaluate(in_view, "pin")
    case_number = phone.inner_text("#case-number").strip()
    pin = phone.inner_text("#pin").strip()
    assert case_number.startswith("SR-")
    assert len(pin) == 9
    assert "Childline" in phone.inner_text("#result-help")

    # Nothing but the page, its own files, and one JSON POST of hashes.
    for r in requests:
        assert r["url"].startswith(live.url + "/"), r["url"]
        assert "multipart" not in r["headers"].get("content-type", "")
        for chunk in (image[:4096], image[len(image) // 2 : len(image) // 2 + 4096], image[-4096:]):
            assert chunk not in r["body"]
            assert base64.b64encode(chunk[:3000]) not in r["body"]
        assert len(r["body"]) < 4096
    posts = [r for r in requests if r["method"] != "GET"]
    assert [(p["method"], p["url"]) for p in posts] == [("POST", f"{live.url}/v1/self-reports")]
    # Every script, the hashing worker's included, is loaded with the release's version query.
    scripts = [r["url"] for r in requests if "/static/js/" in r["url"]]
    loaded = {s.split("/static/js/")[1].split("?")[0] for s in scripts}
    assert {"hashing.js", "pdq.js", "md5.js", "png.js"} <= loaded
    assert all("?v=" in s for s in scripts), scripts
    assert posts[0]["headers"]["content-type"] == "application/json"
    sent = json.loads(posts[0]["body"])
    assert set(sent) == {"items", "age_band", "seen_at_urls", "contact", "locale"}
    assert sent["items"][0]["md5"] == hashlib.md5(image).hexdigest()
    assert sent["items"][0]["pdq"]
    assert sent["items"][0]["media_kind"] == "image"
    assert "aaa-orig" not in posts[0]["body"].decode()  # the file name stays on the device
    assert (sent["age_band"], sent["contact"]) == ("13-15", None)

    # Someone re-uploads the same picture: it matches the self-report bank.
    assert poll(lambda: bool(_self_report_banks(_match_upload(live, image))))

    # Check, then withdraw, on the status page.
    phone.goto(f"{live.url}/report/status")
    phone.fill("#case-number-input", case_number.lower())
    phone.fill("#pin-input", pin)
    phone.click("#check")
    phone.wait_for_selector("#outcome", state="visible")
    assert phone.inner_text("#outcome-status") == "Received"
    phone.click("#withdraw")
    phone.wait_for_selector("#confirm", state="visible")
    assert phone.evaluate("document.activeElement.id") == "confirm"
    phone.click("#confirm-yes")
    phone.wait_for_function(
        "() => document.getElementById('outcome-status').textContent === 'Withdrawn'"
    )
    assert poll(lambda: not _self_report_banks(_match_upload(live, image)))


def test_a_picture_this_browser_cannot_read_is_never_uploaded(
    phone: Any, live: Live, tmp_path: Path
) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    rng = np.random.default_rng(7)
    small = Image.fromarray(rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8))
    buf = io.BytesIO()
    small.resize((256, 256)).save(buf, format="HEIF")
    heic = tmp_path / "photo.heic"
    heic.write_bytes(buf.getvalue())
    requests = record_requests(phone)
    phone.goto(f"{live.url}/report")
    phone.wait_for_function("() => !!window.SafeSpaceHashing")
    phone.set_input_files("#files", str(heic))
    phone.wait_for_function(
        "() => document.getElementById('progress-text').textContent.includes('ready for')"
    )
    text = phone.inner_text("#file-list")
    assert "can't be read on this device" in text
    assert "screenshot" in text
    assert "JPEG" in text
    assert all(r["method"] == "GET" for r in requests)


def test_labels_tab_order_and_no_sideways_scrolling(phone: Any, live: Live) -> None:
    for path in ("/report", "/report/status"):
        response = phone.goto(f"{live.url}{path}")
        headers = response.headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "connect-src 'self'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
        unlabelled = phone.evaluate(
            """() => [...document.querySelectorAll('input, textarea, select')]
                 .filter(e => e.type !== 'hidden' && e.labels.length === 0
                              && !e.getAttribute('aria-label'))
                 .map(e => e.id)"""
        )
        assert unlabelled == []
        assert phone.evaluate("document.querySelectorAll('script:not([src])').length") == 0
        for width in (360, 390):
            phone.set_viewport_size({"width": width, "height": 780})
            assert phone.evaluate("document.documentElement.scrollWidth") <= width
    phone.goto(f"{live.url}/report")
    assert phone.evaluate(
        "document.querySelector('#age-field').tagName === 'FIELDSET' && "
        "!!document.querySelector('#age-field > legend')"
    )
    described = phone.evaluate("document.getElementById('email').getAttribute('aria-describedby')")
    assert "email-error" in described
    reached = []
    for _ in range(60):
        phone.keyboard.press("Tab")
        reached.append(phone.evaluate("document.activeElement.id"))
        if reached[-1] == "submit":
            break
    assert reached[-1] == "submit", reached
    assert reached.index("files") < reached.index("age-under-13") < reached.index("email")


def test_errors_are_tied_to_their_fields_and_focused(phone: Any, live: Live) -> None:
    phone.goto(f"{live.url}/report")
    phone.wait_for_function("() => !!window.SafeSpaceHashing")
    phone.fill("#email", "not an email")
    phone.click("#submit")
    assert phone.evaluate("document.activeElement.id") == "form-error"
    assert phone.is_visible("#files-error")
    assert phone.is_visible("#age-error")
    assert phone.get_attribute("#email", "aria-invalid") == "true"
    assert "email" in phone.inner_text("#email-error")
    # Fixing a field takes its error away at once, not at the next Send.
    phone.fill("#email", "me@example.org")
    assert not phone.is_visible("#email-error")
    assert phone.get_attribute("#email", "aria-invalid") is None
    phone.get_by_label("13 to 15").check()
    assert not phone.is_visible("#age-error")
    assert phone.is_visible("#files-error")  # still true: no file was picked
