"""Hotline referrals built from a confirmed case: CyberTipline XML, and a generic JSON form.

The CyberTipline API takes a ``report`` document (``/submit``, which answers a report id),
then per uploaded file (``/upload`` answers a file id) a ``fileDetails`` document
(``/fileinfo``). Both are built here and validated against NCMEC's published schema, shipped
in ``schemas/cyber_tipline.xsd``, before anything is offered: a document that does not fit
raises :class:`~safespace.errors.ReferralInvalid` naming the element. The reviewer's identity
stays out of outgoing documents (the audit log records it); ``fileViewedByEsp`` says a
person confirmed the file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import xmlschema

from safespace.config import Settings
from safespace.errors import ConfigError, InvalidSignal, ReferralInvalid
from safespace.signals import SIGNAL_TYPES, MediaKind, SignalType

__all__ = [
    "CSAM_INCIDENT",
    "INDUSTRY_CLASSIFICATIONS",
    "ConfirmedCase",
    "ReportedUser",
    "Reporter",
    "build_cybertip_file_details",
    "build_cybertip_report",
    "build_json_referral",
    "validate_cybertip",
]

SCHEMA_PATH = Path(__file__).with_name("schemas") / "cyber_tipline.xsd"
CSAM_INCIDENT = "Child Pornography (possession, manufacture, and distribution)"
CYBERTIP = "cybertip"  # SignalType.exchange_names key: the CyberTipline's hash labels


def _file_digest_first(kind: SignalType) -> bool:
    return MediaKind.FILE not in kind.media


# The signal types a referral carries, file digests first (as referrals list them).
_REFERRED: tuple[SignalType, ...] = tuple(sorted(SIGNAL_TYPES.values(), key=_file_digest_first))
INDUSTRY_CLASSIFICATIONS = ("A1", "A2", "B1", "B2")
JSON_FORMAT = "safespace.referral"
JSON_VERSION = 1


@dataclass(frozen=True)
class Reporter:
    """The platform's reporting person, from ``SAFESPACE_REPORTER_*`` settings."""

    email: str
    first_name: str = ""
    last_name: str = ""
    phone: str = ""
    platform: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> Reporter:
        if "@" not in settings.reporter_email:
            raise ConfigError(
                "SAFESPACE_REPORTER_EMAIL is not set: hotline referrals need the reporting "
                "person's email"
            )
        return cls(
            email=settings.reporter_email,
            first_name=settings.reporter_first_name,
            last_name=settings.reporter_last_name,
            phone=settings.reporter_phone,
            platform=settings.reporter_platform,
        )


@dataclass(frozen=True)
class ReportedUser:
    """What the platform knows of the account that shared the content (all optional)."""

    esp_identifier: str | None = None  # the platform's own user id
    screen_name: str | None = None
    display_name: str | None = None
    profile_url: str | None = None
    email: str | None = None
    upload_ip: str | None = None
    upload_ip_at: datetime | None = None


@dataclass(frozen=True)
class ConfirmedCase:
    """A case a reviewer confirmed: what a referral is built from.

    ``category`` is the industry classification (A1, A2, B1, B2) or None; ``incident_at`` is
    when the content was shared (default: ``uploaded_at``). At least one hash is needed.
    """

    case_id: str
    content_id: str
    confirmed_at: datetime
    reviewer: str
    category: str | None = None
    incident_type: str = CSAM_INCIDENT
    incident_at: datetime | None = None
    urls: tuple[str, ...] = ()
    md5: str | None = None
    sha256: str | None = None
    pdq: str | None = None
    media_type: str | None = None
    file_name: str | None = None
    uploaded_at: datetime | None = None
    publicly_available: bool | None = None
    reported_user: ReportedUser | None = None
    notes: str = ""
    # Text matches (a listed URL or keyword in a post): signal type, listed expression, span
    # offsets; never the post's text. A case with text matches needs no hash.
    text_matches: tuple[Mapping[str, Any], ...] = ()
    hashes: dict[str, str] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        found: dict[str, str] = {}
        for kind in _REFERRED:  # the fields named after signal types
            value = getattr(self, kind.name, None)
            if value:
                try:
                    found[kind.name] = kind.normalize(value)
                except InvalidSignal as exc:
                    raise ReferralInvalid(f"case {self.case_id}: {exc}") from None
        if not found and not self.text_matches:
            names = ", ".join(k.name for k in _REFERRED if hasattr(self, k.name))
            raise ReferralInvalid(f"case {self.case_id}: no hash ({names}) to refer")
        object.__setattr__(self, "hashes", found)
        for name in ("confirmed_at", "incident_at", "uploaded_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ReferralInvalid(f"case {self.case_id}: {name} must be timezone-aware")

    @property
    def when(self) -> datetime:
        when = self.incident_at or self.uploaded_at
        if when is None:
            raise ReferralInvalid(
                f"case {self.case_id}: incidentDateTime is required: set incident_at or uploaded_at"
            )
        return when


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    child = ET.SubElement(parent, tag, attrs)
    if text is not None:
        child.text = text
    return child


def _summary(case: ConfirmedCase) -> str:
    parts = [f"SafeSpace case {case.case_id}, content {case.content_id}."]
    parts += [f"{kind.upper()}: {value}" for kind, value in case.hashes.items()]
    if case.category:
        parts.append(f"Industry classification: {case.category}")
    if case.notes:
        parts.append(case.notes)
    return "\n".join(parts)


def build_cybertip_report(case: ConfirmedCase, reporter: Reporter) -> bytes:
    """The ``report`` document for ``/submit``, validated against the schema."""
    root = ET.Element("report")
    summary = _add(root, "incidentSummary")
    _add(summary, "incidentType", case.incident_type)
    if reporter.platform:
        _add(summary, "platform", reporter.platform)
    _add(summary, "incidentDateTime", _time(case.when))
    if case.urls:
        page = _add(_add(root, "internetDetails"), "webPageIncident")
        for url in case.urls:
            _add(page, "url", url)
    person = _add(_add(root, "reporter"), "reportingPerson")
    for tag, value in (("firstName", reporter.first_name), ("lastName", reporter.last_name)):
        if value:
            _add(person, tag, value)
    if reporter.phone:
        _add(person, "phone", reporter.phone)
    _add(person, "email", reporter.email)
    if case.reported_user is not None:
        _reported_user(root, case.reported_user)
    _add(root, "additionalInfo", _summary(case))
    return _finish(root, "report")


def _reported_user(root: ET.Element, user: ReportedUser) -> None:
    node = _add(root, "personOrUserReported")
    if user.email:
        _add(_add(node, "personOrUserReportedPerson"), "email", user.email)
    if user.esp_identifier:
        _add(node, "espIdentifier", user.esp_identifier)
    if user.screen_name:
        _add(node, "screenName", user.screen_name)
    if user.display_name:
        _add(node, "displayName", user.display_name)
    if user.profile_url:
        _add(node, "profileUrl", user.profile_url)
    if user.upload_ip:
        event = _add(node, "ipCaptureEvent")
        _add(event, "ipAddress", user.upload_ip)
        _add(event, "eventName", "Upload")
        if user.upload_ip_at is not None:
            _add(event, "dateTime", _time(user.upload_ip_at))


def build_cybertip_file_details(case: ConfirmedCase, report_id: int, file_id: str) -> bytes:
    """The ``fileDetails`` document for ``/fileinfo``, once NCMEC has given both ids.

    MD5 and SHA-256 go in ``originalFileHash``; PDQ, a perceptual hash, in ``details`` of
    type ``HASH``.
    """
    root = ET.Element("fileDetails")
    _add(root, "reportId", str(report_id))
    _add(root, "fileId", file_id)
    if case.file_name:
        _add(root, "originalFileName", case.file_name)
    if case.uploaded_at is not None:
        _add(root, "uploadedToEspTimestamp", _time(case.uploaded_at))
    if case.urls:
        _add(root, "locationOfFile", case.urls[0])
    _add(root, "fileViewedByEsp", "true")
    if case.publicly_available is not None:
        _add(root, "publiclyAvailable", "true" if case.publicly_available else "false")
    if case.category is not None:
        _add(root, "industryClassification", case.category)
    others = []
    for kind in _REFERRED:
        label = kind.exchange_name(CYBERTIP)
        if kind.name not in case.hashes or label is None:
            continue
        if MediaKind.FILE in kind.media:  # a digest of the file's bytes
            _add(root, "originalFileHash", case.hashes[kind.name], hashType=label)
        else:
            others.append((label, case.hashes[kind.name]))
    for label, value in others:  # perceptual hashes: after every originalFileHash
        pair = _add(_add(root, "details", type="HASH"), "nameValuePair")
        _add(pair, "name", label)
        _add(pair, "value", value)
    return _finish(root, "fileDetails")


def _finish(root: ET.Element, what: str) -> bytes:
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    validate_cybertip(data, what=what)
    return data


@lru_cache(maxsize=1)
def _schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA_PATH))


def validate_cybertip(document: bytes, *, what: str = "document") -> None:
    """Raise ReferralInvalid, naming the element, unless ``document`` fits the schema."""
    try:
        root = SafeET.fromstring(document)
    except SafeET.ParseError as exc:
        raise ReferralInvalid(f"CyberTipline {what} is not well-formed XML: {exc}") from None
    for error in _schema().iter_errors(root):
        reason = " ".join(str(error.reason or error.message).split())
        if len(reason) > 300:
            reason = reason[:297] + "..."
        raise ReferralInvalid(f"CyberTipline {what} is invalid at {error.path}: {reason}")


def build_json_referral(
    case: ConfirmedCase, reporter: Reporter, *, created_at: datetime | None = None
) -> dict[str, Any]:
    """The generic referral for other hotlines (shape in docs/reports.md)."""
    if case.category is not None and case.category not in INDUSTRY_CLASSIFICATIONS:
        raise ReferralInvalid(
            f"case {case.case_id}: classification {case.category!r} is not one of "
            f"{', '.join(INDUSTRY_CLASSIFICATIONS)}"
        )
    user = case.reported_user
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "case_id": case.case_id,
        "created_at": _time(created_at or datetime.now(UTC)),
        "reporter": {
            "platform": reporter.platform,
            "first_name": reporter.first_name,
            "last_name": reporter.last_name,
            "email": reporter.email,
            "phone": reporter.phone,
        },
        "incident": {"type": case.incident_type, "at": _time(case.when), "urls": list(case.urls)},
        "content": {
            "content_id": case.content_id,
            "media_type": case.media_type,
            "file_name": case.file_name,
            "classification": case.category,
            "publicly_available": case.publicly_available,
            "hashes": [{"type": k, "value": v} for k, v in case.hashes.items()],
            "text_matches": [dict(t) for t in case.text_matches],
        },
        "reported_user": None
        if user is None
        else {
            "id": user.esp_identifier,
            "screen_name": user.screen_name,
            "display_name": user.display_name,
            "profile_url": user.profile_url,
            "email": user.email,
            "upload_ip": user.upload_ip,
            "upload_ip_at": None if user.upload_ip_at is None else _time(user.upload_ip_at),
        },
        "confirmed_at": _time(case.confirmed_at),
        "notes": case.notes,
    }
