"""What the bank service returns: plain frozen values, never ORM objects.

They outlive the session that read them and turn into JSON with ``to_dict()`` for the CLI
and the HTTP API.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from safespace.banks.formats import HashRecord
from safespace.errors import Reject
from safespace.signals import DISTANCE, effective_thresholds

if TYPE_CHECKING:
    from safespace.store import Bank

__all__ = ["AddResult", "BankInfo", "EntryInfo", "ImportResult", "bank_thresholds"]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def bank_thresholds(bank: Bank) -> dict[str, dict[str, int]]:
    """Every signal type's thresholds for ``bank``: its stored values over the defaults."""
    stored: dict[str, dict[str, int]] = {}
    for row in bank.thresholds:
        stored.setdefault(row.signal_type, {})[row.name] = row.value
    return effective_thresholds(stored)


@dataclass(frozen=True)
class BankInfo:
    """A bank's settings and how many entries it holds per signal type."""

    id: int
    name: str
    kind: str
    thresholds: Mapping[str, Mapping[str, int]]  # signal type -> threshold name -> value
    enabled: bool
    description: str
    created_at: datetime
    updated_at: datetime
    entry_counts: Mapping[str, int] = field(default_factory=dict, hash=False)

    def distances(self) -> dict[str, int]:
        """``{"<type>_distance": value}`` for every distance-matched type (``pdq_distance``):
        the flat spelling API clients used before thresholds were per signal type."""
        return {
            f"{kind}_{DISTANCE}": values[DISTANCE]
            for kind, values in self.thresholds.items()
            if DISTANCE in values
        }

    @property
    def entry_count(self) -> int:
        return sum(self.entry_counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "kind": self.kind,
            "thresholds": {k: dict(v) for k, v in self.thresholds.items()},
            **self.distances(),
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
