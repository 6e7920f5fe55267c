"""Self-reports: a person reports their own image by its hashes, and can check or withdraw it.

The browser hashes the files (``web/static/js/hashing.js``); only hashes and a few answers
arrive here. A case and its hashes are written in one transaction, the hashes into the
self-report bank through the bank service's bulk path, so every matcher follows the change
log within about a second. The person gets a case number and a PIN; only a scrypt hash of
the PIN is kept, and wrong PINs lock the case for a while. Nothing identifies the person:
no address, no user agent, no file name, no bytes; the optional contact goes on withdrawal.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import yaml
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from safespace.banks import BankService, bulk
from safespace.banks.formats import HashRecord
from safespace.config import Settings
from safespace.errors import (
    BankExists,
    ConfigError,
    InvalidInput,
    SelfReportNotFound,
)
from safespace.signals.types import normalize
from safespace.store import Bank, BankEntry, Database, SelfReportCase, SelfReportItem
from safespace.store.models import utcnow
from safespace.store.models_selfreports import AGE_BANDS, CASE_STATUSES

__all__ = [
    "AGE_BANDS",
    "CASE_STATUSES",
    "HelpSection",
    "HelpService",
    "NewSelfReport",
    "ReportItem",
    "SelfReportReceipt",
    "SelfReportService",
    "SelfReportStatus",
    "help_sections",
    "normalize_case_number",
]

MAX_ITEMS = 20
MAX_URLS = 10
MAX_URL_LENGTH = 2048
SOURCE = "self-report"
ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: easy to read back and type
_GROUP = 4
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}")
_LOCALE = re.compile(r"([a-z]{2,3})(?:-([A-Za-z]{2}))?")
_NOT_FOUND = (
    "no report matches that case number and PIN; check both (after several wrong tries a "
    "report is locked for a while)"
)
STATUS_TEXT = {
    "received": "We have your report. Its fingerprints are on the block list.",
    "under-review": "Someone on our safety team is looking at your report.",
    "actioned": "We have acted on your report.",
    "withdrawn": "You withdrew this report. Its fingerprints are off the block list.",
}


# --- validation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportItem:
    """One picked file as hashes: MD5 always, PDQ for images the browser could decode."""

    md5: str
    media_kind: str = "image"
    pdq: str | None = None
    pdq_quality: int | None = None


@dataclass(frozen=True)
class NewSelfReport:
    items: Sequence[ReportItem]
    age_band: str
    locale: str = "en"
    seen_at_urls: Sequence[str] = ()
    contact_email: str | None = None


def check_item(item: ReportItem) -> ReportItem:
    """The item in canonical form, or InvalidInput/InvalidSignal saying what is wrong."""
    if item.media_kind not in ("image", "video"):
        raise InvalidInput("media_kind must be 'image' or 'video'")
    md5 = normalize("md5", item.md5)[1]
    if item.media_kind == "video" and item.pdq is not None:
        raise InvalidInput("a video has no PDQ hash: send pdq as null")
    if item.pdq is None:
        if item.pdq_quality is not None:
            raise InvalidInput("pdq_quality without pdq")
        return ReportItem(md5, item.media_kind)
    pdq = normalize("pdq", item.pdq)[1]
    quality = item.pdq_quality
    if isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100:
        raise InvalidInput("pdq_quality must be a whole number 0..100 when pdq is given")
    return ReportItem(md5, item.media_kind, pdq, quality)


def check_age_band(value: str) -> str:
    if value not in AGE_BANDS:
        raise InvalidInput(f"age_band must be one of {', '.join(AGE_BANDS)}")
    return value


def check_locale(value: str) -> str:
    """A language tag like ``en`` or ``en-GB``, returned as ``en-GB``."""
    found = _LOCALE.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        raise InvalidInput("locale must be a language tag like 'en' or 'en-GB'")
    lang, region = found.groups()
    return f"{lang}-{region.upper()}" if region else lang


def check_url(value: str) -> str:
    """An http(s) address with a host, no user name or password, no spaces."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL_LENGTH:
        raise InvalidInput(f"a web address must be 1..{MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput("a web address must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        raise InvalidInput("not a valid web address") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise InvalidInput("a web address must start with http:// or https:// and name a site")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("a web address must not contain a user name or password")
    return value


def check_email(value: str) -> str:
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.fullmatch(value):
        raise InvalidInput("email must be an address like name@example.org")
    return value


def _check_report(report: NewSelfReport) -> NewSelfReport:
    if not 1 <= len(report.items) <= MAX_ITEMS:
        raise InvalidInput(f"a report needs 1..{MAX_ITEMS} items")
    if len(report.seen_at_urls) > MAX_URLS:
        raise InvalidInput(f"at most {MAX_URLS} web addresses")
    items: dict[tuple[str, str | None], ReportItem] = {}
    for item in report.items:
        checked = check_item(item)
        items.setdefault((checked.md5, checked.pdq), checked)  # the same file twice: once
    return NewSelfReport(
        items=tuple(items.values()),
        age_band=check_age_band(report.age_band),
        locale=check_locale(report.locale),
        seen_at_urls=tuple(dict.fromkeys(check_url(u) for u in report.seen_at_urls)),
        contact_email=None if report.contact_email is None else check_email(report.contact_email),
    )


# --- case numbers and PINs ----------------------------------------------------------------


def _code(n: int) -> str:
    chars = "".join(secrets.choice(ALPHABET) for _ in range(n))
    return "-".join(chars[i : i + _GROUP] for i in range(0, n, _GROUP))


def normalize_case_number(text: str) -> str | None:
    """``SR-XXXX-XXXX`` from what a person typed (any case, spaces or dashes), or None."""
    if not isinstance(text, str) or len(text) > 64:
        return None
    clean = re.sub(r"[\s\-]", "", text).upper().removeprefix("SR")
    if len(clean) != 2 * _GROUP or any(c not in ALPHABET for c in clean):
        return None
    return f"SR-{clean[:_GROUP]}-{clean[_GROUP:]}"


def _normalize_pin(text: str) -> str:
    return re.sub(r"[\s\-]", "", text).upper()[:64] if isinstance(text, str) else ""


def _hash_pin(pin: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(_normalize_pin(pin).encode(), salt=salt, dklen=32, **_SCRYPT)
    b64 = base64.b64encode
    params = f"{_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}"
    return f"scrypt${params}${b64(salt).decode()}${b64(digest).decode()}"


def _verify_pin(stored: str, pin: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            _normalize_pin(pin).encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


_DUMMY_HASH = _hash_pin("not-a-pin")


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SelfReportReceipt:
    """What the person is shown once: the PIN is not stored and cannot be shown again."""

    case_number: str
    pin: str
    status: str
    items: int
    hashes: int
    pdq_not_used: int
    created_at: datetime


@dataclass(frozen=True)
class SelfReportStatus:
    case_number: str
    status: str
    removed: int = 0

    @property
    def text(self) -> str:
        return STATUS_TEXT[self.status]


# --- the service --------------------------------------------------------------------------


class SelfReportService:
    """Create, check and withdraw self-reports over a database; staff can move the status."""

    def __init__(
        self,
        db: Database,
        *,
        bank: str = "self-reports",
        min_pdq_quality: int = 50,
        pin_failures: int = 5,
        lock_minutes: int = 60,
    ) -> None:
        self.db = db
        self.bank = bank
        self.min_pdq_quality = min_pdq_quality
        self.pin_failures = pin_failures
        self.lock = timedelta(minutes=lock_minutes)

    @classmethod
    def from_settings(cls, db: Database, settings: Settings) -> SelfReportService:
        return cls(
            db,
            bank=settings.self_report_bank,
            min_pdq_quality=settings.min_pdq_quality,
            pin_failures=settings.self_report_pin_failures,
            lock_minutes=settings.self_report_lock_minutes,
        )

    def create(self, report: NewSelfReport) -> SelfReportReceipt:
        """Store the case and put its hashes in the bank, in one transaction."""
        report = _check_report(report)
        pin = _code(2 * _GROUP)
        pin_hash = _hash_pin(pin)  # before taking the write lock: scrypt is slow on purpose
        self._ensure_bank()
        now = utcnow()
        with self.db.transaction() as s:
            bank_id = s.scalar(select(Bank.id).where(Bank.name == self.bank))
            if bank_id is None:  # deleted since _ensure_bank: the next report creates it
                raise ConfigError(f"the self-report bank {self.bank!r} was deleted; try again")
            case = SelfReportCase(
                case_number=self._new_case_number(s),
                pin_hash=pin_hash,
                status="received",
                age_band=report.age_band,
                locale=report.locale,
                seen_at_urls=list(report.seen_at_urls),
                contact_email=report.contact_email,
                created_at=now,
                updated_at=now,
                failed_attempts=0,
            )
            s.add(case)
            s.flush()
            records: list[HashRecord] = []
            skipped = 0
            for item in report.items:
                s.add(
                    SelfReportItem(
                        case_id=case.id,
                        media_kind=item.media_kind,
                        md5=item.md5,
                        pdq=item.pdq,
                        pdq_quality=item.pdq_quality,
                    )
                )
                records.append(self._record("md5", item.md5, case.id, now))
                if item.pdq is not None and (item.pdq_quality or 0) >= self.min_pdq_quality:
                    records.append(self._record("pdq", item.pdq, case.id, now))
                elif item.pdq is not None:
                    skipped += 1  # too plain to match safely; its MD5 still goes in
            s.flush()
            bulk.add_records(s, bank_id, records)
            return SelfReportReceipt(
                case.case_number, pin, "received", len(report.items), len(records), skipped, now
            )

    def status(self, case_number: str, pin: str) -> SelfReportStatus:
        case_id = self._authenticate(case_number, pin)
        with self.db.session() as s:
            case = s.get(SelfReportCase, case_id)
            assert case is not None
            return SelfReportStatus(case.case_number, case.status)

    def withdraw(self, case_number: str, pin: str) -> SelfReportStatus:
        """Take the case's hashes out of matching, forget its contact and URLs; idempotent."""
        case_id = self._authenticate(case_number, pin)
        with self.db.transaction() as s:
            case = s.get(SelfReportCase, case_id)
            assert case is not None
            removed = self._remove_hashes(s, case.id)
            now = utcnow()
            if case.status != "withdrawn":
                case.status = "withdrawn"
                case.withdrawn_at = now
            case.updated_at = now
            case.contact_email = None
            case.seen_at_urls = []
            s.execute(delete(SelfReportItem).where(SelfReportItem.case_id == case.id))
            return SelfReportStatus(case.case_number, "withdrawn", removed)

    def set_status(self, case_number: str, status: str) -> SelfReportStatus:
        """For staff (no PIN): received, under-review or actioned; a withdrawal is final."""
        if status not in CASE_STATUSES or status == "withdrawn":
            raise InvalidInput("status must be received, under-review or actioned")
        number = normalize_case_number(case_number)
        with self.db.transaction() as s:
            case = s.scalar(select(SelfReportCase).where(SelfReportCase.case_number == number))
            if case is None:
                raise SelfReportNotFound(f"no self-report {case_number!r}")
            if case.status == "withdrawn":
                raise InvalidInput("this report was withdrawn by the person who made it")
            if case.status != status:
                case.status = status
                case.updated_at = utcnow()
            return SelfReportStatus(case.case_number, case.status)

    # --- internals -----------------------------------------------------------------------

    def _ensure_bank(self) -> None:
        with self.db.session() as s:
            if s.scalar(select(Bank.id).where(Bank.name == self.bank)) is not None:
                return
        with suppress(BankExists):  # another request may have created it first
            BankService(self.db).create_bank(
                self.bank,
                kind="normal",
                description="Self-reports: hashes people sent of their own images "
                "(safespace self-report); review a match, never act on it alone",
            )

    @staticmethod
    def _new_case_number(s: Session) -> str:
        while True:  # 30^8 numbers: a clash is rare; the write lock makes the check exact
            number = "SR-" + _code(2 * _GROUP)
            taken = s.scalar(select(SelfReportCase.id).where(SelfReportCase.case_number == number))
            if taken is None:
                return number

    @staticmethod
    def _record(kind: str, value: str, case_id: int, now: datetime) -> HashRecord:
        return HashRecord(
            kind, value, SOURCE, SOURCE, None, now, {"self_report_case": str(case_id)}
        )

    def _authenticate(self, case_number: str, pin: str) -> int:
        """The case id if the PIN is right; one error for unknown, wrong and locked.

        An attempt is counted before the PIN is checked (and uncounted if right), so parallel
        guesses cannot get past the limit.
        """
        number = normalize_case_number(case_number)
        now = utcnow()
        stored: str | None = None
        with self.db.transaction() as s:
            case = None
            if number is not None:
                case = s.scalar(select(SelfReportCase).where(SelfReportCase.case_number == number))
            if case is not None:
                if case.locked_until is not None and case.locked_until <= now:
                    case.locked_until, case.failed_attempts = None, 0
                if case.locked_until is None and case.failed_attempts >= self.pin_failures:
                    case.locked_until = now + self.lock
                if case.locked_until is None:
                    case.failed_attempts += 1
                    stored = case.pin_hash
            case_id = case.id if case is not None else None
        ok = _verify_pin(stored or _DUMMY_HASH, pin) and stored is not None
        if case_id is None or stored is None:
            raise SelfReportNotFound(_NOT_FOUND)
        with self.db.transaction() as s:
            if ok:
                where = SelfReportCase.id == case_id
                s.execute(update(SelfReportCase).where(where).values(failed_attempts=0))
                return case_id
            case = s.get(SelfReportCase, case_id)
            if case is not None and case.failed_attempts >= self.pin_failures:
                case.locked_until = case.locked_until or utcnow() + self.lock
        raise SelfReportNotFound(_NOT_FOUND)

    def _remove_hashes(self, s: Session, case_id: int) -> int:
        """Remove this case's hashes from the bank unless another live case reported them."""
        bank_id = s.scalar(select(Bank.id).where(Bank.name == self.bank))
        if bank_id is None:
            return 0
        mine = s.execute(
            select(SelfReportItem.md5, SelfReportItem.pdq).where(SelfReportItem.case_id == case_id)
        ).all()
        removed = 0
        for kind, column in (("md5", SelfReportItem.md5), ("pdq", SelfReportItem.pdq)):
            values = {row[0] if kind == "md5" else row[1] for row in mine} - {None}
            if not values:
                continue
            shared = set(
                s.scalars(
                    select(column)
                    .join(SelfReportCase, SelfReportCase.id == SelfReportItem.case_id)
                    .where(
                        column.in_(values),
                        SelfReportItem.case_id != case_id,
                        SelfReportCase.status != "withdrawn",
                    )
                )
            )
            gone = sorted(v for v in values if v not in shared and v is not None)
            if gone:
                removed += bulk.delete_where(
                    s,
                    (BankEntry.bank_id == bank_id)
                    & (BankEntry.source == SOURCE)
                    & (BankEntry.signal_type == kind)
                    & BankEntry.value.in_(gone),
                )
        return removed


# --- help resources -----------------------------------------------------------------------


@dataclass(frozen=True)
class HelpService:
    name: str
    url: str
    kind: str
    text: str
    ages: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "url": self.url, "kind": self.kind, "text": self.text}


@dataclass(frozen=True)
class HelpSection:
    region: str
    name: str
    local: bool
    services: tuple[HelpService, ...] = field(default_factory=tuple)


@lru_cache(maxsize=1)
def _help_data() -> dict[str, tuple[str, tuple[HelpService, ...]]]:
    """``reports/data/report_help.yaml``, checked once: a broken file is a ConfigError."""
    text = resources.files("safespace.reports").joinpath("data/report_help.yaml").read_text()
    try:
        data: Any = yaml.safe_load(text)
        regions: dict[str, tuple[str, tuple[HelpService, ...]]] = {}
        for code, region in data["regions"].items():
            services = []
            for raw in region["services"]:
                url = check_url(str(raw["url"]))
                if not url.startswith("https://"):
                    raise ValueError(f"{raw['name']}: use an https:// address")
                ages = tuple(str(a) for a in raw.get("ages", ()))
                if any(a not in AGE_BANDS for a in ages):
                    raise ValueError(f"{raw['name']}: unknown age band in {ages}")
                services.append(
                    HelpService(str(raw["name"]), url, str(raw["kind"]), str(raw["text"]), ages)
                )
            regions[str(code)] = (str(region["name"]), tuple(services))
    except (KeyError, TypeError, ValueError, AttributeError, InvalidInput, yaml.YAMLError) as exc:
        raise ConfigError(f"report_help.yaml: {exc}") from None
    if "international" not in regions:
        raise ConfigError("report_help.yaml: needs an 'international' region")
    return regions


def help_sections(locale: str, age_band: str | None = None) -> list[HelpSection]:
    """Help for the locale's country first, then for anywhere, then other countries."""
    try:
        tag = check_locale(locale)
    except InvalidInput:
        tag = "en"
    region = tag.partition("-")[2]
    data = _help_data()
    order = [region] if region in data else []
    order += ["international", *sorted(c for c in data if c not in (region, "international"))]
    sections = []
    for code in order:
        name, services = data[code]
        chosen = tuple(s for s in services if not age_band or not s.ages or age_band in s.ages)
        sections.append(HelpSection(code, name, code in (region, "international"), chosen))
    return sections
