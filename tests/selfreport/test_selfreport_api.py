"""The public self-report API on SQLite and PostgreSQL: hashes in, case and PIN out."""

from __future__ import annotations

import copy
import json
import re
from datetime import timedelta
from typing import Any

import pytest
from selfreport_helpers import BRIDGE, SR, MakeSR, poll
from sqlalchemy import inspect, select, update

from safespace.reports import _audit as audit
from safespace.store import BankEntry, SelfReportCase, SelfReportItem
from safespace.store._models import utcnow
from safespace.store._models_reports import AuditRecord

MD5 = "d35c785545392755e7e4164457657269"
PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
GOOD: dict[str, Any] = {
    "items": [{"md5": MD5, "media_kind": "image", "pdq": PDQ, "pdq_quality": 100}],
    "age_band": "13-15",
    "seen_at_urls": ["https://example.org/post/1"],
    "contact": {"email": "someone@example.org"},
    "locale": "en-GB",
}
CASE = re.compile(r"SR-[ABCDEFGHJKMNPQRSTVWXYZ2-9]{4}-[ABCDEFGHJKMNPQRSTVWXYZ2-9]{4}")
PIN = re.compile(r"[ABCDEFGHJKMNPQRSTVWXYZ2-9]{4}-[ABCDEFGHJKMNPQRSTVWXYZ2-9]{4}")


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{code}"
    assert body["detail"]
    return body


def _banks(result: dict[str, Any]) -> set[str]:
    return {group["bank"]["name"] for group in result["matches"]}


def _cases(sr: SR) -> list[SelfReportCase]:
    with sr.state.db.session() as s:
        cases = list(s.scalars(select(SelfReportCase)))
        s.expunge_all()  # keep the loaded values: the read session rolls back on exit
        return cases


def test_a_report_goes_into_the_bank_and_matches_at_once(sr: SR) -> None:
    response = sr.report(GOOD)
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert CASE.fullmatch(body["case_number"])
    assert PIN.fullmatch(body["pin"])
    assert (body["status"], body["items"], body["hashes"], body["pdq_not_used"]) == (
        "received", 1, 2, 0
    )  # fmt: skip
    assert body["next_steps"]
    assert {"Childline Report Remove", "Take It Down (NCMEC)"} <= {h["name"] for h in body["help"]}
    assert "StopNCII.org" not in {h["name"] for h in body["help"]}  # adults only

    for signals in ({"md5": MD5}, {"pdq": PDQ}):
        result = sr.match(**signals)
        assert result["matched"]
        assert _banks(result) == {"self-reports"}
        meta = result["matches"][0]["entries"][0]["metadata"]
        assert (meta["source"], meta["category"]) == ("self-report", "self-report")
        assert meta["extra"] == {"self_report_case": str(_cases(sr)[0].id)}


def test_another_worker_matches_within_the_freshness_window(make_sr: MakeSR) -> None:
    reporter, other = make_sr(), make_sr()
    assert not other.match(md5=MD5)["matched"]
    assert reporter.report(GOOD).status_code == 201
    assert poll(lambda: other.match(md5=MD5)["matched"])
    assert poll(lambda: other.match(pdq=PDQ)["matched"])


def test_what_is_stored_and_what_is_not(sr: SR) -> None:
    assert sr.report(GOOD).status_code == 201
    columns = {c["name"] for c in inspect(sr.state.db.engine).get_columns("self_report_cases")}
    assert columns == {
        "id", "case_number", "pin_hash", "status", "age_band", "locale", "seen_at_urls",
        "contact_email", "created_at", "updated_at", "withdrawn_at", "failed_attempts",
        "locked_until",
    }  # fmt: skip
    (case,) = _cases(sr)
    assert case.pin_hash.startswith("scrypt$")
    assert (case.age_band, case.locale) == ("13-15", "en-GB")
    assert case.seen_at_urls == GOOD["seen_at_urls"]
    with sr.state.db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM self_report_cases")
        dump = "\n".join(str(row) for row in rows)
    assert "testclient" not in dump  # the client's address is never written


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        (None, None),  # multipart upload of the picture itself
        ("text/plain", b'{"items": []}'),
        ("application/x-www-form-urlencoded", b"age_band=13-15"),
        ("application/octet-stream", b"\xff\xd8\xff\xe0"),
    ],
)
def test_anything_but_json_is_refused_unread(
    sr: SR, content_type: str | None, data: bytes | None
) -> None:
    if content_type is None:
        files = {"file": ("photo.jpg", BRIDGE.read_bytes(), "image/jpeg")}
        response = sr.client.post("/v1/self-reports", files=files, data={"age_band": "13-15"})
    else:
        response = sr.client.post(
            "/v1/self-reports", content=data, headers={"Content-Type": content_type}
        )
    body = _problem(response, 415, "unsupported-media")
    assert "hashes only" in body["detail"]
    assert "your file never leaves your device" in body["detail"]
    assert _cases(sr) == []


def test_a_large_body_is_refused(sr: SR) -> None:
    big = {**GOOD, "padding": "x" * 70_000}
    _problem(sr.report(big), 413, "request-too-large")


def _with(path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(GOOD)
    target: Any = body
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if isinstance(target, list) else target[key]
    last = keys[-1]
    if value is _DROP:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    return body


_DROP = object()
_VIDEO = {"md5": MD5, "media_kind": "video", "pdq": PDQ, "pdq_quality": 100}


@pytest.mark.parametrize(
    ("path", "value", "loc", "says"),
    [
        ("items", [], "items", "at least 1"),
        ("items", [GOOD["items"][0]] * 21, "items", "at most 20"),
        ("items.0.md5", "abc", "items.0.md5", "32 hex digits"),
        ("items.0.md5", "z" * 32, "items.0.md5", "hexadecimal"),
        ("items.0.md5", _DROP, "items.0.md5", "Field required"),
        ("items.0.pdq", "ab" * 31, "items.0.pdq", "64 hex digits"),
        ("items.0.pdq_quality", 101, "items.0.pdq_quality", "less than or equal to 100"),
        ("items.0.pdq_quality", "90", "items.0.pdq_quality", "valid integer"),
        ("items.0.pdq_quality", None, "items.0", "pdq_quality must be"),
        ("items.0.media_kind", "audio", "items.0.media_kind", "'image' or 'video'"),
        ("items.0", _VIDEO, "items.0", "a video has no PDQ"),
        ("items.0.filename", "me.jpg", "items.0.filename", "Extra inputs"),
        ("age_band", "12", "age_band", "Input should be"),
        ("age_band", _DROP, "age_band", "Field required"),
        ("seen_at_urls", ["ftp://example.org/x"], "seen_at_urls", "http:// or https://"),
        ("seen_at_urls", ["https://"], "seen_at_urls", "name a site"),
        ("seen_at_urls", ["https://a b.org/"], "seen_at_urls", "spaces"),
        ("seen_at_urls", ["https://me:pw@example.org/"], "seen_at_urls", "password"),
        ("seen_at_urls", ["https://example.org/" + "a" * 2048], "seen_at_urls", "2048"),
        ("seen_at_urls", ["https://example.org/"] * 11, "seen_at_urls", "at most 10"),
        ("contact", {"email": "not-an-email"}, "contact.email", "email must be"),
        ("contact", {"phone": "0123"}, "contact.phone", "Extra inputs"),
        ("contact", "me@example.org", "contact", "should be an object"),
        ("locale", "english", "locale", "language tag"),
        ("ip", "10.0.0.1", "ip", "Extra inputs"),
    ],
)
def test_every_field_is_validated(sr: SR, path: str, value: Any, loc: str, says: str) -> None:
    body = _problem(sr.report(_with(path, value)), 422, "invalid-request")
    assert any(".".join(e["loc"]) == loc and says in e["msg"] for e in body["errors"]), body
    assert _cases(sr) == []


def test_malformed_json_is_a_422(sr: SR) -> None:
    response = sr.client.post(
        "/v1/self-reports", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    _problem(response, 422, "invalid-request")


def test_plain_pdq_is_not_banked_but_its_md5_is(sr: SR) -> None:
    body = _with("items.0.pdq_quality", 10)
    result = sr.report(body).json()
    assert (result["hashes"], result["pdq_not_used"]) == (1, 1)
    assert sr.match(md5=MD5)["matched"]
    assert not sr.match(pdq=PDQ)["matched"]


def test_status_accepts_the_case_number_as_typed(sr: SR) -> None:
    made = sr.report(GOOD).json()
    typed = made["case_number"].lower().replace("-", " ")
    response = sr.status(typed, made["pin"].lower())
    assert response.status_code == 200, response.text
    assert response.json() == {
        "case_number": made["case_number"],
        "status": "received",
        "message": "We have your report. Its fingerprints are on the block list.",
    }
    assert response.headers["cache-control"] == "no-store"


def test_wrong_pin_and_unknown_case_look_the_same(sr: SR) -> None:
    made = sr.report(GOOD).json()
    wrong = _problem(sr.status(made["case_number"], "AAAA-AAAA"), 404, "self-report-not-found")
    unknown = _problem(sr.status("SR-AAAA-AAAA", made["pin"]), 404, "self-report-not-found")
    garbage = _problem(sr.status("hello", "x"), 404, "self-report-not-found")
    withdraw = _problem(sr.withdraw(made["case_number"], "x"), 404, "self-report-not-found")
    assert wrong == unknown == garbage == withdraw


def test_a_case_locks_after_too_many_wrong_pins(make_sr: MakeSR) -> None:
    sr = make_sr(self_report_pin_failures=3, self_report_lock_minutes=30)
    made = sr.report(GOOD).json()
    case, pin = made["case_number"], made["pin"]
    assert sr.status(case, "AAAA-AAAA").status_code == 404
    assert sr.status(case, pin).status_code == 200  # a right PIN resets the count
    for _ in range(3):
        assert sr.status(case, "AAAA-AAAA").status_code == 404
    locked = sr.status(case, pin)  # locked now: even the right PIN gets the same answer
    assert locked.json() == sr.status("SR-AAAA-AAAA", pin).json()
    assert sr.withdraw(case, pin).status_code == 404
    assert sr.match(md5=MD5)["matched"]  # the locked attempt withdrew nothing
    with sr.state.db.transaction() as s:
        s.execute(update(SelfReportCase).values(locked_until=utcnow() - timedelta(seconds=1)))
    assert sr.status(case, pin).status_code == 200  # the lock ran out


def test_withdrawal_stops_matching_and_forgets_the_contact(sr: SR) -> None:
    made = sr.report(GOOD).json()
    response = sr.withdraw(made["case_number"], made["pin"])
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "withdrawn"
    assert response.json()["removed"] == 2
    assert not sr.match(md5=MD5)["matched"]
    assert not sr.match(pdq=PDQ)["matched"]
    (case,) = _cases(sr)
    assert (case.status, case.contact_email, case.seen_at_urls) == ("withdrawn", None, [])
    assert case.withdrawn_at is not None
    with sr.state.db.session() as s:
        assert s.scalars(select(SelfReportItem)).all() == []
        assert s.scalars(select(BankEntry)).all() == []
    assert sr.status(made["case_number"], made["pin"]).json()["status"] == "withdrawn"
    again = sr.withdraw(made["case_number"], made["pin"])
    assert again.status_code == 200
    assert again.json()["removed"] == 0


def test_withdrawal_keeps_hashes_another_case_reported(sr: SR) -> None:
    first = sr.report(GOOD).json()
    second = sr.report({"items": GOOD["items"], "age_band": "16-17"}).json()
    assert sr.withdraw(first["case_number"], first["pin"]).json()["removed"] == 0
    assert sr.match(md5=MD5)["matched"]
    assert sr.withdraw(second["case_number"], second["pin"]).json()["removed"] == 2
    assert not sr.match(md5=MD5)["matched"]


def test_staff_move_the_status_but_not_a_withdrawn_one(sr: SR) -> None:
    runtime_service = _service(sr)
    made = sr.report(GOOD).json()
    runtime_service.set_status(made["case_number"], "under-review")
    assert sr.status(made["case_number"], made["pin"]).json()["status"] == "under-review"
    sr.withdraw(made["case_number"], made["pin"])
    with pytest.raises(Exception, match="withdrawn"):
        runtime_service.set_status(made["case_number"], "actioned")


def _service(sr: SR) -> Any:
    from safespace.reports import SelfReportService

    return SelfReportService.from_settings(sr.state.db, sr.state.settings)


def test_requests_are_limited_per_client_address(make_sr: MakeSR) -> None:
    sr = make_sr(self_report_requests_per_minute=2)
    assert sr.report(GOOD).status_code == 201
    assert sr.status("SR-AAAA-AAAA", "x").status_code == 404
    limited = _problem(sr.report(GOOD), 429, "rate-limited")
    assert int(sr.report(GOOD).headers["retry-after"]) >= 1
    assert limited["status"] == 429


def test_the_endpoints_are_public_and_say_so(sr: SR) -> None:
    spec = sr.client.get("/openapi.json").json()
    for path in ("/v1/self-reports", "/v1/self-reports/status", "/v1/self-reports/withdraw"):
        assert spec["paths"][path]["post"]["security"] == []


def test_the_bank_changes_a_report_makes_are_audited(sr: SR) -> None:
    """A report's hashes going into the bank, and out again on withdrawal, are in the audit
    log under the case number alone, in the same transaction as the change."""
    made = sr.report(GOOD).json()
    sr.withdraw(made["case_number"], made["pin"])
    actor = f"self-report:{made['case_number']}"
    with sr.state.db.session() as s:
        assert audit.verify(s).ok
        rows = s.scalars(select(AuditRecord).where(AuditRecord.actor == actor)).all()
        changes = [(r.action, r.subject, json.loads(r.details)) for r in rows]
    bank = f"bank:{sr.state.settings.self_report_bank}"
    assert changes == [
        ("bank.entries.add", bank, {"added": 2, "duplicates": 0}),
        ("bank.entries.remove", bank, {"removed": 2, "withdrawn": True}),
    ]
