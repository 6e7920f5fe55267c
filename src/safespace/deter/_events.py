"""Storing Deter events: interventions shown, their outcomes, retention, per-arm counts.

One row per intervention shown (``deter_events``) and at most one row per outcome kind for
it (``deter_outcomes``): a person who clicks the help link twice counts once, which is what
a comparison of rates between arms needs. The text typed is stored only when the decision
carries it (the operator turned ``SAFESPACE_DETER_STORE_QUERY_TEXT`` on); addresses never.

Widget tokens let a browser report an outcome for one event, and talk to the chatbot, with no
API key: ``<expiry>.<HMAC-SHA256(key, event_id, expiry)>``, the key derived from the Deter
secret, so a token is good for one event until it expires and cannot be made for another.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select

from safespace.deter._analysis import ArmCounts
from safespace.deter._engine import Decision
from safespace.deter._experiments import OUTCOMES
from safespace.errors import AccessDenied, ConfigError, InvalidInput, NotFound
from safespace.store import Database, DeterEventRow, DeterOutcomeRow
from safespace.store._models import utcnow

__all__ = [
    "OUTCOME_SOURCES",
    "TRIGGERED_AGAIN_WINDOW",
    "DeterEvents",
    "StoredEvent",
    "WidgetTokens",
    "check_secret",
]

TRIGGERED_AGAIN_WINDOW = dt.timedelta(hours=1)
OUTCOME_SOURCES = ("api", "widget", "service")
MIN_SECRET_CHARS = 32
_PLACEHOLDERS = ("change", "example", "placeholder", "secret", "replace", "your", "todo", "xxxx")


def check_secret(value: str | None) -> bytes:
    """The Deter secret as bytes; refuses a missing, short or placeholder-looking one."""
    name = "SAFESPACE_DETER_SECRET"
    if not value:
        raise ConfigError(f"{name} is not set: Deter needs a secret for arms and widget tokens")
    if len(value) < MIN_SECRET_CHARS:
        raise ConfigError(f"{name} must be at least {MIN_SECRET_CHARS} random characters")
    lowered = value.lower()
    if any(p in lowered for p in _PLACEHOLDERS) or len(set(value)) < 12:
        raise ConfigError(f"{name} looks like a placeholder: use a random value")
    return value.encode()


@dataclass(frozen=True)
class StoredEvent:
    """An intervention as stored, with the outcomes recorded so far."""

    event_id: str
    created_at: dt.datetime
    pseudonym: str
    context: str
    reason: str
    rule_id: str | None
    experiment: str | None
    arm: str | None
    epoch: int | None
    intervention: str
    variant: str | None
    locale: str
    query_text: str | None
    outcomes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["created_at"] = self.created_at.isoformat().replace("+00:00", "Z")
        out["outcomes"] = list(self.outcomes)
        return out


class DeterEvents:
    """Reads and writes the Deter tables of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self, decision: Decision, *, api_key_id: int | None = None, at: dt.datetime | None = None
    ) -> bool:
        """Store an intervention (a decision that does not intervene stores nothing).

        When the same pseudonym was shown an intervention within the last hour, that one
        gets the ``triggered_again`` outcome: the service sees it, no platform has to say so.
        """
        if not decision.intervene or decision.intervention is None:
            return False
        now = at or utcnow()
        with self.db.transaction() as s:
            if decision.session:
                previous = s.scalar(
                    select(DeterEventRow.id)
                    .where(
                        DeterEventRow.pseudonym == decision.session,
                        DeterEventRow.created_at >= now - TRIGGERED_AGAIN_WINDOW,
                        DeterEventRow.created_at <= now,
                    )
                    .order_by(DeterEventRow.created_at.desc(), DeterEventRow.id.desc())
                    .limit(1)
                )
                if previous is not None:
                    _add_outcome(s, previous, "triggered_again", "service", now)
            s.add(
                DeterEventRow(
                    event_id=decision.event_id,
                    created_at=now,
                    pseudonym=decision.session,
                    context=decision.context,
                    reason=decision.reason,
                    rule_id=decision.rule_id,
                    rule_category=decision.rule_category,
                    experiment=decision.experiment,
                    arm=decision.arm,
                    epoch=decision.epoch,
                    intervention=decision.intervention.kind,
                    variant=decision.intervention.variant,
                    locale=decision.locale,
                    query_text=decision.query_text,
                    api_key_id=api_key_id,
                )
            )
        return True

    def add_outcome(
        self, event_id: str, outcome: str, *, via: str = "api", at: dt.datetime | None = None
    ) -> bool:
        """Record what followed an event; False when that outcome was already recorded."""
        if outcome not in OUTCOMES:
            raise InvalidInput(f"unknown outcome {outcome!r} (use {', '.join(OUTCOMES)})")
        if via not in OUTCOME_SOURCES:
            raise ValueError(f"unknown outcome source {via!r}")
        with self.db.transaction() as s:
            ref = s.scalar(select(DeterEventRow.id).where(DeterEventRow.event_id == event_id))
            if ref is None:
                raise NotFound(f"no Deter event {event_id!r} (unknown, or deleted after retention)")
            return _add_outcome(s, ref, outcome, via, at or utcnow())

    def get(self, event_id: str) -> StoredEvent | None:
        with self.db.session() as s:
            row = s.scalar(select(DeterEventRow).where(DeterEventRow.event_id == event_id))
            if row is None:
                return None
            outcomes = s.scalars(
                select(DeterOutcomeRow.outcome)
                .where(DeterOutcomeRow.event_ref == row.id)
                .order_by(DeterOutcomeRow.id)
            ).all()
            return StoredEvent(
                row.event_id, row.created_at, row.pseudonym, row.context, row.reason,
                row.rule_id, row.experiment, row.arm, row.epoch, row.intervention, row.variant,
                row.locale, row.query_text, tuple(outcomes),
            )  # fmt: skip

    def purge(self, retention_days: int, *, now: dt.datetime | None = None) -> int:
        """Delete events older than the retention period, with their outcomes; how many."""
        if retention_days < 1:
            raise InvalidInput("the retention period must be at least one day")
        cutoff = (now or utcnow()) - dt.timedelta(days=retention_days)
        with self.db.transaction() as s:
            old = select(DeterEventRow.id).where(DeterEventRow.created_at < cutoff)
            # Outcomes first: ON DELETE CASCADE needs SQLite's foreign_keys, which a
            # connection made by other code may lack.
            s.execute(delete(DeterOutcomeRow).where(DeterOutcomeRow.event_ref.in_(old)))
            result = s.execute(delete(DeterEventRow).where(DeterEventRow.created_at < cutoff))
            return int(getattr(result, "rowcount", 0) or 0)

    def counts(self, experiment: str, *, epoch: int | None = None) -> dict[str, dict[str, int]]:
        """Per arm: ``shown`` and how many of those events had each outcome."""
        shown_q = (
            select(DeterEventRow.arm, func.count())
            .where(DeterEventRow.experiment == experiment)
            .group_by(DeterEventRow.arm)
        )
        out_q = (
            select(DeterEventRow.arm, DeterOutcomeRow.outcome, func.count())
            .join(DeterOutcomeRow, DeterOutcomeRow.event_ref == DeterEventRow.id)
            .where(DeterEventRow.experiment == experiment)
            .group_by(DeterEventRow.arm, DeterOutcomeRow.outcome)
        )
        if epoch is not None:
            shown_q = shown_q.where(DeterEventRow.epoch == epoch)
            out_q = out_q.where(DeterEventRow.epoch == epoch)
        table: dict[str, dict[str, int]] = {}
        with self.db.session() as s:
            for arm, n in s.execute(shown_q):
                table[str(arm)] = {"shown": int(n), **dict.fromkeys(OUTCOMES, 0)}
            for arm, outcome, n in s.execute(out_q):
                table[str(arm)][str(outcome)] = int(n)
        return table

    def arm_counts(
        self, experiment: str, outcome: str, *, epoch: int | None = None
    ) -> list[ArmCounts]:
        """The analysis input (:func:`safespace.deter._analysis.analyze`) for one outcome."""
        if outcome not in OUTCOMES:
            raise InvalidInput(f"unknown outcome {outcome!r} (use {', '.join(OUTCOMES)})")
        table = self.counts(experiment, epoch=epoch)
        return [ArmCounts(arm, row["shown"], row[outcome]) for arm, row in table.items()]


def _add_outcome(s: Any, ref: int, outcome: str, via: str, at: dt.datetime) -> bool:
    exists = s.scalar(
        select(DeterOutcomeRow.id).where(
            DeterOutcomeRow.event_ref == ref, DeterOutcomeRow.outcome == outcome
        )
    )
    if exists is not None:
        return False
    s.add(DeterOutcomeRow(event_ref=ref, outcome=outcome, via=via, created_at=at))
    s.flush()
    return True


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class WidgetTokens:
    """Short-lived tokens that tie a browser's outcome and chat requests to one event."""

    def __init__(self, secret: bytes, ttl_seconds: int) -> None:
        self._key = hmac.digest(secret, b"safespace-deter-widget-token/v1", hashlib.sha256)
        self.ttl = ttl_seconds

    def _mac(self, event_id: str, expires: int) -> str:
        msg = f"{event_id}\x00{expires}".encode()
        return _b64(hmac.digest(self._key, msg, hashlib.sha256))

    def issue(self, event_id: str, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + self.ttl)
        return f"{expires}.{self._mac(event_id, expires)}"

    def verify(self, event_id: str, token: str, now: float | None = None) -> None:
        """Raises :class:`AccessDenied` unless ``token`` was issued for ``event_id`` and is live."""
        expiry, _, mac = token.partition(".")
        if not (expiry.isascii() and expiry.isdigit() and len(expiry) <= 12 and mac):
            raise AccessDenied("malformed widget token")
        expires = int(expiry)
        if not hmac.compare_digest(mac.encode(), self._mac(event_id, expires).encode()):
            raise AccessDenied("widget token does not belong to this event")
        if (time.time() if now is None else now) > expires:
            raise AccessDenied("widget token expired")
