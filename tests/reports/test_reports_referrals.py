"""Hotline referrals: CyberTipline documents fit NCMEC's schema; bad data is a clear error."""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from safespace.config import Settings
from safespace.errors import ConfigError, ReferralInvalid
from safespace.reports import (
    ConfirmedCase,
    ReportedUser,
    Reporter,
    build_cybertip_file_details,
    build_cybertip_report,
    build_json_referral,
    validate_cybertip,
)
from safespace.reports._referrals import SCHEMA_PATH

# SHA-256 of the published schema (November 2025, as in Boostport/ncmec-go): the shipped copy
# must be that file unchanged (schemas/README.md); a new version changes this value on purpose.
PUBLISHED_XSD_SHA256 = "aee4c88099409b8a27d1403a5bc9bf0809bdc4819c079081abc1e2275efb392b"
REPORTER = Reporter(email="safety@example.org", first_name="Sam", last_name="Lee",
                    phone="+1 555 0100", platform="Example Forum")  # fmt: skip
# Hashes of a benign generated image: the referral only carries hex strings.
CASE = ConfirmedCase(
    case_id="case-42",
    content_id="post-9/img-1",
    confirmed_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
    reviewer="rev-bo",
    category="A1",
    uploaded_at=datetime(2026, 3, 1, 22, 5, tzinfo=UTC),
    urls=("https://forum.example.org/p/9",),
    md5="D41D8CD98F00B204E9800998ECF8427E",
    sha256="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    pdq="f" * 64,
    media_type="image/jpeg",
    file_name="upload.jpg",
    publicly_available=True,
    reported_user=ReportedUser(
        esp_identifier="user-77",
        screen_name="someone",
        upload_ip="203.0.113.7",
        upload_ip_at=datetime(2026, 3, 1, 22, 5, tzinfo=UTC),
    ),
    notes="Matched bank 'hotline-list' at distance 4; confirmed by a reviewer.",
)


def _tags(xml: bytes) -> list[str]:
    return [el.tag for el in ET.fromstring(xml)]


def test_the_shipped_schema_is_the_published_one() -> None:
    assert hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest() == PUBLISHED_XSD_SHA256
    assert SCHEMA_PATH.with_name("README.md").exists()


def test_report_fits_the_schema_in_order() -> None:
    xml = build_cybertip_report(CASE, REPORTER)
    validate_cybertip(xml)  # built documents are validated already; again, explicitly
    assert _tags(xml) == [
        "incidentSummary", "internetDetails", "reporter", "personOrUserReported", "additionalInfo"
    ]  # fmt: skip
    root = ET.fromstring(xml)
    assert root.findtext("incidentSummary/incidentType", "").startswith("Child Pornography")
    assert root.findtext("incidentSummary/incidentDateTime") == "2026-03-01T22:05:00Z"
    assert root.findtext("reporter/reportingPerson/email") == "safety@example.org"
    assert root.findtext("personOrUserReported/espIdentifier") == "user-77"
    assert root.findtext("personOrUserReported/ipCaptureEvent/eventName") == "Upload"
    assert "rev-bo" not in xml.decode()  # the reviewer's identity stays inside
    assert "d41d8cd98f00b204e9800998ecf8427e" in root.findtext("additionalInfo", "")


def test_a_minimal_report_fits_too() -> None:
    case = ConfirmedCase(
        case_id="c", content_id="x", confirmed_at=CASE.confirmed_at, reviewer="r",
        incident_at=CASE.confirmed_at, sha256=CASE.sha256,
    )  # fmt: skip
    xml = build_cybertip_report(case, Reporter(email="a@example.org"))
    assert _tags(xml) == ["incidentSummary", "reporter", "additionalInfo"]


def test_file_details_carry_hashes_and_classification() -> None:
    xml = build_cybertip_file_details(CASE, report_id=123456, file_id="abc123")
    root = ET.fromstring(xml)
    assert root.findtext("industryClassification") == "A1"
    hashes = {h.get("hashType"): h.text for h in root.findall("originalFileHash")}
    assert hashes == {"MD5": "d41d8cd98f00b204e9800998ecf8427e", "SHA256": CASE.sha256}
    assert root.findtext("details/nameValuePair/value") == "f" * 64
    assert root.find("details").get("type") == "HASH"  # type: ignore[union-attr]
    assert root.findtext("fileViewedByEsp") == "true"


def test_a_bad_classification_names_the_element() -> None:
    with pytest.raises(ReferralInvalid, match="industryClassification"):
        build_cybertip_file_details(replace(CASE, category="C"), 1, "f")
    with pytest.raises(ReferralInvalid, match="classification 'C'"):
        build_json_referral(replace(CASE, category="C"), REPORTER)


def test_a_bad_incident_type_names_the_element() -> None:
    with pytest.raises(ReferralInvalid, match=r"/report/incidentSummary/incidentType"):
        build_cybertip_report(replace(CASE, incident_type="Something else"), REPORTER)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"md5": None, "sha256": None, "pdq": None}, "no hash"),
        ({"md5": "xyz"}, "md5 hash must be 32 hex digits"),
        ({"uploaded_at": None}, "incidentDateTime is required"),
        ({"confirmed_at": datetime(2026, 1, 1)}, "timezone-aware"),
    ],
)
def test_missing_or_bad_case_data_is_a_clear_error(
    changes: dict[str, object], message: str
) -> None:
    def build() -> bytes:
        return build_cybertip_report(replace(CASE, **changes), REPORTER)  # type: ignore[arg-type]

    with pytest.raises(ReferralInvalid, match=message):
        build()


def test_validation_reports_missing_required_elements() -> None:
    doc = b"<report><incidentSummary><incidentType>Child Sex Tourism</incidentType>"
    doc += b"</incidentSummary></report>"
    with pytest.raises(ReferralInvalid, match="incidentDateTime"):
        validate_cybertip(doc)
    with pytest.raises(ReferralInvalid, match="not well-formed"):
        validate_cybertip(b"<report>")


def test_reporter_comes_from_settings() -> None:
    with pytest.raises(ConfigError, match="SAFESPACE_REPORTER_EMAIL"):
        Reporter.from_settings(Settings())
    settings = Settings(reporter_email="t@example.org", reporter_platform="Forum")
    assert Reporter.from_settings(settings).platform == "Forum"


def test_json_referral_shape() -> None:
    doc = build_json_referral(CASE, REPORTER, created_at=CASE.confirmed_at)
    assert json.loads(json.dumps(doc)) == doc
    assert doc["format"] == "safespace.referral"
    assert doc["version"] == 1
    assert doc["content"]["hashes"] == [
        {"type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e"},
        {"type": "sha256", "value": CASE.sha256},
        {"type": "pdq", "value": "f" * 64},
    ]
    assert doc["incident"]["at"] == "2026-03-01T22:05:00Z"
    assert doc["reported_user"]["id"] == "user-77"
    assert "rev-bo" not in json.dumps(doc)
