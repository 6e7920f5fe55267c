"""The audit log: an append-only, hash-chained record of every sensitive step.

Each record's ``hash`` is SHA-256 over a canonical encoding of its fields and the previous
record's hash, so editing, deleting, reordering or re-hashing any record breaks the chain at
that point, and :func:`verify` says where. The encoding (docs/reports.md shows a stand-alone
verifier)::

    hash = sha256(b"safespace-audit-v1\\n" + ns(seq) + ns(at) + ns(actor) + ns(action)
                  + ns(subject) + ns(details) + ns(prev_hash)).hexdigest()
    ns(text) = str(len(utf8)).encode() + b":" + utf8 + b","     # a netstring, utf8 = UTF-8

``seq`` is decimal, ``at`` is ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC, microseconds),
``details`` the stored JSON text as is, and the first record's ``prev_hash`` is 64 zeros.

Appends must run inside :meth:`safespace.store.Database.transaction`: its single-writer lock
(SQLite ``BEGIN IMMEDIATE``, the PostgreSQL advisory lock) makes "read the head, write
head + 1" atomic; ``UNIQUE(prev_hash)`` refuses a fork even if that were bypassed.

Every action SafeSpace writes is named once, in :data:`AuditAction` (docs/reports.md lists
them, and ``tests/test_docs.py`` holds the two lists together); actors are spelled by the
helpers below (``user:NAME``, ``api-key:ID``, ``cli:OS-USER``, ``system``).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from sqlalchemy import select
from sqlalchemy.orm import Session

from safespace.errors import InvalidInput
from safespace.store._database import _WRITE_OPTION
from safespace.store._models import utcnow
from safespace.store._models_reports import AuditRecord

__all__ = [
    "ACTIONS",
    "GENESIS_HASH",
    "SYSTEM_ACTOR",
    "AuditAction",
    "AuditEntry",
    "VerifyResult",
    "api_key_actor",
    "append",
    "canonical_details",
    "cli_actor",
    "head",
    "record_hash",
    "self_report_actor",
    "user_actor",
    "verify",
]

# Every action SafeSpace writes. A writer passes one of these (strict mypy holds it to that);
# docs/reports.md documents each, and tests/test_docs.py checks both ways.
AuditAction = Literal[
    "action.cancel",
    "action.create",
    "action.delivered",
    "action.failing",
    "bank.create",
    "bank.delete",
    "bank.entries.add",
    "bank.entries.remove",
    "bank.entry.disable",
    "bank.entry.enable",
    "bank.import",
    "bank.update",
    "case.claim",
    "case.decision",
    "case.note",
    "case.release",
    "case.report",
    "case.reveal",
    "case.withdrawn",
    "console.sign-in",
    "console.sign-in-failed",
    "console.sign-out",
    "contact.flag-clear",
    "exchange.fetch",
    "evidence.hold",
    "evidence.open",
    "evidence.open_failed",
    "evidence.purge",
    "evidence.refused",
    "evidence.release",
    "evidence.rewrap",
    "evidence.store",
    "referral.export",
    "reviewer.break",
    "reviewer.settings",
    "webhook.endpoint",
    "webhook.rewrap",
    "webhook.secret",
]
ACTIONS: frozenset[str] = frozenset(get_args(AuditAction))

SYSTEM_ACTOR = "system"  # work no person or key asked for: background jobs, start-up
GENESIS_HASH = "0" * 64
_DOMAIN = b"safespace-audit-v1\n"
_ACTION = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class AuditEntry:
    """A record as written: what :func:`append` returns."""

    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    details: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    """``count`` records verified intact; on a break, the first bad ``seq`` and why."""

    ok: bool
    count: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_seq: int | None = None
    head_hash: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def canonical_details(details: Mapping[str, Any] | None) -> str:
    """JSON with sorted keys, no spaces, UTF-8 kept as is; NaN and non-JSON values refused."""
    try:
        return json.dumps(
            dict(details or {}),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"audit details must be plain JSON: {exc}") from None


def user_actor(name: str) -> str:
    """A console account."""
    return f"user:{name}"


def api_key_actor(key_id: int) -> str:
    """An API key, by its id (names can change; ids are never reused)."""
    return f"api-key:{key_id}"


def self_report_actor(case_number: str) -> str:
    """A young person's self-report, by its case number (nothing else about them)."""
    return f"self-report:{case_number}"


def cli_actor() -> str:
    """The command line, as the operating-system user running it."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        name = "unknown"
    return f"cli:{name}"[:128]


def _timestamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ns(text: str) -> bytes:
    data = text.encode("utf-8")
    return str(len(data)).encode("ascii") + b":" + data + b","


def record_hash(
    seq: int, at: datetime, actor: str, action: str, subject: str, details: str, prev_hash: str
) -> str:
    """The record's hash under the documented canonical encoding."""
    fields = (str(seq), _timestamp(at), actor, action, subject, details, prev_hash)
    return hashlib.sha256(_DOMAIN + b"".join(_ns(f) for f in fields)).hexdigest()


def head(session: Session) -> tuple[int, str] | None:
    """The newest record's ``(seq, hash)``: publish it elsewhere as an anchor."""
    row = session.execute(
        select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
    ).first()
    return None if row is None else (row.seq, row.hash)


def append(
    session: Session,
    actor: str,
    action: AuditAction,
    subject: str,
    details: Mapping[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one record in the caller's write transaction (committed with the caller's work)."""
    if not session.connection().get_execution_options().get(_WRITE_OPTION, False):
        raise RuntimeError("audit.append needs a session from Database.transaction()")
    if not actor or len(actor) > 128:
        raise InvalidInput("audit actor must be 1 to 128 characters")
    if not _ACTION.match(action):
        raise InvalidInput(f"bad audit action {action!r}: lowercase, dots, dashes, at most 64")
    if len(subject) > 256:
        raise InvalidInput("audit subject must be at most 256 characters")
    if at is not None and at.tzinfo is None:
        raise InvalidInput("audit time must be timezone-aware")
    text = canonical_details(details)
    when = (at or utcnow()).astimezone(UTC)
    last = head(session)
    seq, prev = (1, GENESIS_HASH) if last is None else (last[0] + 1, last[1])
    digest = record_hash(seq, when, actor, action, subject, text, prev)
    session.add(
        AuditRecord(
            seq=seq,
            at=when,
            actor=actor,
            action=action,
            subject=subject,
            details=text,
            prev_hash=prev,
            hash=digest,
        )
    )
    session.flush()
    return AuditEntry(seq, when, actor, action, subject, text, prev, digest)


def verify(session: Session, *, anchor: tuple[int, str] | None = None) -> VerifyResult:
    """Walk the chain from the start; stop at the first record that breaks it.

    ``anchor`` is a ``(seq, hash)`` published earlier (see :func:`head`): it also catches
    records cut off the end, which a chain alone cannot show.
    """
    rows = session.execute(select(AuditRecord).order_by(AuditRecord.seq)).scalars()
    expected_seq, prev = 1, GENESIS_HASH
    count = 0
    anchor_seen = False
    for r in rows.yield_per(1000):
        bad: str | None = None
        if r.seq != expected_seq:
            missing = (
                f"seq {expected_seq}"
                if r.seq == expected_seq + 1
                else f"seqs {expected_seq}-{r.seq - 1}"
            )
            bad = (
                f"record {missing} missing (deleted), next is {r.seq}"
                if r.seq > expected_seq
                else f"seq {r.seq} out of order after {expected_seq - 1}"
            )
            return VerifyResult(False, count, min(expected_seq, r.seq), bad, *_last(count, prev))
        if r.prev_hash != prev:
            bad = "prev_hash does not match the previous record's hash (reordered or replaced)"
        elif record_hash(r.seq, r.at, r.actor, r.action, r.subject, r.details, r.prev_hash) != (
            r.hash
        ):
            bad = "hash does not match the record's contents (edited record or tampered hash)"
        elif anchor is not None and r.seq == anchor[0]:
            anchor_seen = True
            if r.hash != anchor[1]:
                bad = "hash does not match the anchor (the chain was rewritten)"
        if bad is not None:
            return VerifyResult(False, count, r.seq, bad, *_last(count, prev))
        count += 1
        expected_seq, prev = r.seq + 1, r.hash
    if anchor is not None and not anchor_seen:
        reason = f"anchor record seq {anchor[0]} missing: the log was truncated"
        return VerifyResult(False, count, anchor[0], reason, *_last(count, prev))
    return VerifyResult(True, count, None, None, *_last(count, prev))


def _last(count: int, prev: str) -> tuple[int | None, str | None]:
    """Head of the verified part: the last intact record (records are numbered from 1)."""
    return (count, prev) if count else (None, None)
