"""Match events: which of a caller's content ids matched which bank entry, and with which key.

Only identifiers and distances are kept: never image bytes, never client addresses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from safespace.banks.match_results import Match
from safespace.errors import InvalidInput
from safespace.store import Database, MatchEvent
from safespace.store.models import utcnow

__all__ = ["MAX_CONTENT_ID", "MatchEventInfo", "check_content_id", "list_events", "record_matches"]

MAX_CONTENT_ID = 256


def check_content_id(content_id: str) -> str:
    """A caller's own reference for the content: printable, 1..256 characters."""
    if not isinstance(content_id, str) or not 1 <= len(content_id) <= MAX_CONTENT_ID:
        raise InvalidInput(f"content_id must be 1..{MAX_CONTENT_ID} characters")
    if not content_id.isprintable():
        raise InvalidInput("content_id must be printable text")
    return content_id


@dataclass(frozen=True)
class MatchEventInfo:
    id: int
    content_id: str
    bank: str
    entry_id: int
    signal_type: str
    distance: int
    created_at: datetime
    api_key_id: int | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "content_id": self.content_id,
            "bank": self.bank,
            "entry_id": self.entry_id,
            "signal_type": self.signal_type,
            "distance": self.distance,
            "created_at": self.created_at.isoformat().replace("+00:00", "Z"),
            "api_key_id": self.api_key_id,
        }


def record_matches(
    db: Database, content_id: str, matches: Iterable[Match], api_key_id: int | None
) -> int:
    """Write one event per match in one transaction; returns how many were written."""
    check_content_id(content_id)
    now = utcnow()
    rows = [
        {
            "content_id": content_id,
            "bank": m.bank,
            "entry_id": m.entry_id,
            "signal_type": m.signal_type,
            "distance": m.distance,
            "created_at": now,
            "api_key_id": api_key_id,
        }
        for m in matches
    ]
    if rows:
        with db.transaction() as s:
            s.execute(insert(MatchEvent), rows)
    return len(rows)


def list_events(
    db: Database, *, content_id: str | None = None, limit: int = 100
) -> list[MatchEventInfo]:
    """Most recent first; a seam for the review console."""
    query = select(MatchEvent).order_by(MatchEvent.id.desc()).limit(limit)
    if content_id is not None:
        query = query.where(MatchEvent.content_id == content_id)
    with db.session() as s:
        return [
            MatchEventInfo(
                e.id,
                e.content_id,
                e.bank,
                e.entry_id,
                e.signal_type,
                e.distance,
                e.created_at,
                e.api_key_id,
            )
            for e in s.scalars(query)
        ]
