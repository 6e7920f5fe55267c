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
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from safespace.banks import BankService
from safespace.banks import _bulk as bulk
from safespace.banks._service import audit_change
from safespace.banks.formats import HashRecord
from safespace.config import Settings
from safespace.errors import (
    BankExists,
    ConfigError,
    InvalidInput,
    SelfReportNotFound,
)
from safespace.reports import _audit as audit
from safespace.reports._audit import self_report_actor
from safespace.reports._report_help import HelpSection, HelpService, help_sections
from safespace.reports._selfreport_input import ITEM_TYPES, NewSelfReport, ReportItem, check_report
from safespace.reports._selfreport_input import MAX_ITEMS as MAX_ITEMS
from safespace.reports._selfreport_input import MAX_URLS as MAX_URLS
from safespace.reports._selfreport_input import check_email as check_email
from safespace.reports._selfreport_input import check_item as check_item
from safespace.reports._selfreport_input import check_locale as check_locale
from safespace.reports._selfreport_input import check_url as check_url
from safespace.store import Bank, BankEntry, Database, SelfReportCase, SelfReportItem
from safespace.store._models import utcnow
from safespace.store._models_queue import OPEN_ITEM_STATUSES, ReviewItem, ReviewMedia
from safespace.store._models_selfreports import AGE_BANDS, CASE_STATUSES

# The input checks (selfreport_input) and the help list (report_help) have their own modules;
# the names the API route, the web page and safespace.reports take from here stay importable.
__all__ = [
    "AGE_BANDS",
    "CASE_EXTRA_KEY",
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

SOURCE = "self-report"
CASE_EXTRA_KEY = "self_report_case"  # in a bank entry's extra: the case it was added for
ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no 0/O, 1/I/L, U: easy to read back and type
_GROUP = 4
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
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
        report = check_report(report)
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
                for kind in ITEM_TYPES:
                    value = getattr(item, kind.name)
                    if value is None:
                        continue
                    if kind.quality_field is not None and (
                        (kind.quality(item) or 0) < self.min_pdq_quality
                    ):
                        skipped += 1  # too plain to match safely; its MD5 still goes in
                        continue
                    records.append(self._record(kind.name, value, case.id, now))
            s.flush()
            added = bulk.add_records(s, bank_id, records)
            if added.added:
                actor = self_report_actor(case.case_number)
                details = {"added": added.added, "duplicates": added.duplicates}
                audit_change(s, actor, "bank.entries.add", self.bank, details)
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
            if removed:
                actor = self_report_actor(case.case_number)
                details = {"removed": removed, "withdrawn": True}
                audit_change(s, actor, "bank.entries.remove", self.bank, details)
            now = utcnow()
            if case.status != "withdrawn":
                case.status = "withdrawn"
                case.withdrawn_at = now
            case.updated_at = now
            case.contact_email = None
            case.seen_at_urls = []
            s.execute(delete(SelfReportItem).where(SelfReportItem.case_id == case.id))
            self._close_review_items(s, case, now)
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
        return HashRecord(kind, value, SOURCE, SOURCE, None, now, {CASE_EXTRA_KEY: str(case_id)})

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

    def _close_review_items(self, s: Session, case: SelfReportCase, now: datetime) -> None:
        """Close the case's open review items as withdrawn, as the person is told.

        The self-report's own item, and each re-upload matched through the self-report
        bank, closes with its hashes and media gone, each audited. A re-upload that matched
        another bank too stays open for review of that match, no longer tied to the case.
        """
        rows = s.scalars(
            select(ReviewItem).where(
                ReviewItem.self_report_case_id == case.id,
                ReviewItem.status.in_(OPEN_ITEM_STATUSES),
            )
        ).all()
        actor = self_report_actor(case.case_number)
        for row in rows:
            if row.source != SOURCE and row.bank != self.bank:
                row.self_report_case_id, row.updated_at = None, now
                continue
            row.status, row.final_at, row.updated_at = "withdrawn", now, now
            row.claimed_by, row.claim_expires_at = None, None
            row.hashes, row.matched_value = {}, None
            s.execute(delete(ReviewMedia).where(ReviewMedia.item_id == row.id))
            details = {"source": row.source}
            audit.append(s, actor, "case.withdrawn", f"review:{row.id}", details, at=now)

    def _remove_hashes(self, s: Session, case_id: int) -> int:
        """Remove this case's hashes from the bank unless another live case reported them."""
        bank_id = s.scalar(select(Bank.id).where(Bank.name == self.bank))
        if bank_id is None:
            return 0
        removed = 0
        for kind in ITEM_TYPES:  # SelfReportItem has a column for each
            column = getattr(SelfReportItem, kind.name)
            values = set(s.scalars(select(column).where(SelfReportItem.case_id == case_id)))
            values -= {None}
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
                    & (BankEntry.signal_type == kind.name)
                    & BankEntry.value.in_(gone),
                )
        return removed
