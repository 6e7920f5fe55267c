"""The case number and PIN (issue 11): after Send they can be copied or saved as a file; on
the status page the PIN is hidden unless the young person shows it, hidden again once used,
and the outcome says what happened and what they can do next."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selfreport_helpers import BRIDGE, Live

from safespace.reports._selfreport import SelfReportService
from safespace.reports._selfreport_input import NewSelfReport, ReportItem

MD5 = "0cc175b9c0f1b6a831c399e269772661"


def _send(phone: Any, live: Live) -> tuple[str, str]:
    phone.goto(f"{live.url}/report")
    phone.wait_for_function("() => !!window.SafeSpaceHashing")
    phone.set_input_files("#files", str(BRIDGE))
    phone.wait_for_function(
        "() => document.getElementById('progress-text').textContent.includes('ready for 1 of 1')"
    )
    phone.get_by_label("13 to 15").check()
    phone.click("#submit")
    phone.wait_for_selector("#result", state="visible")
    return phone.inner_text("#case-number").strip(), phone.inner_text("#pin").strip()


def test_the_codes_can_be_saved_as_a_file_and_copied(phone: Any, live: Live) -> None:
    case_number, pin = _send(phone, live)
    assert phone.is_visible("#copy-codes")
    with phone.expect_download() as info:
        phone.click("#save-codes")
    saved = Path(info.value.path()).read_text(encoding="utf-8")
    assert case_number in saved
    assert pin in saved
    assert "/report/status" in saved
    assert "downloads" in phone.inner_text("#codes-status")

    phone.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    phone.click("#copy-codes")
    phone.wait_for_function(
        "() => document.getElementById('codes-status').textContent.includes('Cop')"
    )
    copied = phone.evaluate("() => navigator.clipboard.readText()")
    assert case_number in copied
    assert pin in copied


def test_the_pin_stays_hidden_and_the_outcome_says_what_next(phone: Any, live: Live) -> None:
    receipt = SelfReportService(live.state.db).create(
        NewSelfReport([ReportItem(MD5)], age_band="13-15")
    )
    phone.goto(f"{live.url}/report/status")
    assert phone.get_attribute("#pin-input", "type") == "password"
    phone.fill("#case-number-input", receipt.case_number)
    phone.fill("#pin-input", receipt.pin)
    phone.get_by_label("Show my PIN").check()
    assert phone.get_attribute("#pin-input", "type") == "text"
    phone.click("#check")
    phone.wait_for_selector("#outcome", state="visible")
    assert phone.get_attribute("#pin-input", "type") == "password"  # hidden again once used
    assert "Nothing more is needed from you" in phone.inner_text("#outcome-next")
    assert not phone.is_visible("#outcome-new")

    phone.click("#withdraw")
    phone.click("#confirm-yes")
    phone.wait_for_function(
        "() => document.getElementById('outcome-status').textContent === 'Withdrawn'"
    )
    assert "new report at any time" in phone.inner_text("#outcome-next")
    assert phone.is_visible("#outcome-new")
    assert phone.get_attribute("#outcome-new a", "href") == "/report"
