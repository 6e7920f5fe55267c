"""What the bank service returns: plain frozen values, never ORM objects.

They outlive the session that read them and turn into JSON with ``to_dict()`` for the CLI
and the HTTP API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from safespace.banks.formats import HashRecord
from safespace.errors import Reject

__all__ = ["AddResult", "BankInfo", "EntryInfo", "ImportResult"]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class BankInfo:
    """A bank's settings and how many entries it holds per signal type."""

    id: int
    name: str
    kind: str
    pdq_distance: int
    enabled: bool
    description: str
    created_at: datetime
    updated_at: datetime
    entry_counts: Mapping[str, int] = field(default_factory=dict, hash=False)

    @property
    def entry_count(self) -> int:
        return sum(self.entry_counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "pdq_distance": self.pdq_distance,
            "enabled": self.enabled,
            "description": self.description,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "entry_count": self.entry_count,
            "entry_counts": dict(self.entry_counts),
        }


@dataclass(frozen=True)
class EntryInfo:
    """One stored hash; ``id`` is what match results and the change log refer to."""

    id: int
    bank: str
    signal_type: str
    value: str
    enabled: bool
    source: str | None
    category: str | None
    note: str | None
    added_at: datetime | None
    extra: Mapping[str, Any] = field(hash=False)
    created_at: datetime

    def to_record(self) -> HashRecord:
        return HashRecord(
            self.signal_type,
            self.value,
            source=self.source,
            category=self.category,
            note=self.note,
            added_at=self.added_at,
            extra={str(k): str(v) for k, v in self.extra.items()},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "bank": self.bank,
            "signal_type": self.signal_type,
            "value": self.value,
            "enabled": self.enabled,
            "source": self.source,
            "category": self.category,
            "note": self.note,
            "added_at": _iso(self.added_at),
            "extra": dict(self.extra),
            "created_at": _iso(self.created_at),
        }


@dataclass(frozen=True)
class AddResult:
    """``duplicates`` counts hashes already in the bank or repeated in the input."""

    added: int
    duplicates: int


@dataclass(frozen=True)
class ImportResult:
    """``removed`` counts entries deleted because the list marked them withdrawn."""

    added: int
    duplicates: int
    rejects: tuple[Reject, ...] = ()
    removed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added,
            "duplicates": self.duplicates,
            "rejected": len(self.rejects),
            "removed": self.removed,
        }
