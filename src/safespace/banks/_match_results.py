"""What matching returns: plain frozen values with ``to_dict()`` for JSON output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Match", "MatchResult", "Suppressed"]


@dataclass(frozen=True)
class Match:
    """One bank entry that the content matched; ``distance`` is 0 for exact hashes."""

    bank: str
    bank_kind: str
    entry_id: int
    signal_type: str
    value: str
    distance: int
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)
    # A video's match (FRAMES types, or a video's frame against an image hash): the share of
    # frames matched and the matched time ranges; None for every other match.
    frames: Mapping[str, Any] | None = field(default=None, hash=False, compare=False)

    @property
    def exchange(self) -> dict[str, Any] | None:
        """Where the entry came from when a bank source (an exchange) put it there: the
        source's name, the entry's upstream id, its categories and the opinions counted on it
        (``{"confirmed": 3, "disputed": 1}``); None for an entry added by hand or import."""
        extra = self.metadata.get("extra") or {}
        if not isinstance(extra, Mapping) or "upstream_id" not in extra:
            return None
        opinions = {str(k): int(v) for k, v in dict(extra.get("opinions") or {}).items()}
        for key, value in dict(extra.get("peer_opinions") or {}).items():
            opinions[str(key)] = opinions.get(str(key), 0) + int(value)
        return {
            "source": extra.get("exchange"),
            "upstream_id": extra.get("upstream_id"),
            "categories": list(extra.get("categories") or []),
            "opinions": opinions,
        }

    def to_dict(self) -> dict[str, Any]:
        out = {
            "bank": self.bank,
            "bank_kind": self.bank_kind,
            "entry_id": self.entry_id,
            "signal_type": self.signal_type,
            "value": self.value,
            "distance": self.distance,
            "metadata": dict(self.metadata),
        }
        if self.frames is not None:
            out["frames"] = dict(self.frames)
        if (exchange := self.exchange) is not None:
            out["exchange"] = exchange
        return out


@dataclass(frozen=True)
class Suppressed:
    """A normal-bank match set aside because an allow bank also matched the content."""

    match: Match
    by: Match

    def to_dict(self) -> dict[str, Any]:
        by = self.by
        return {
            **self.match.to_dict(),
            "suppressed_by": {
                "bank": by.bank,
                "entry_id": by.entry_id,
                "signal_type": by.signal_type,
                "value": by.value,
                "distance": by.distance,
            },
        }


@dataclass(frozen=True)
class MatchResult:
    """Matches in normal banks, allow-bank matches, and what the allow banks suppressed.

    ``low_quality`` says a PDQ hash was given but not searched: its quality was below the
    matcher's minimum (exact hashes were still matched).
    """

    matches: tuple[Match, ...] = ()
    allowed: tuple[Match, ...] = ()
    suppressed: tuple[Suppressed, ...] = ()
    low_quality: bool = False
    pdq_quality: int | None = None

    @property
    def matched(self) -> bool:
        """True when some normal bank matched and no allow bank overruled it."""
        return bool(self.matches)

    def by_bank(self) -> dict[str, list[Match]]:
        """Matches (normal and allow) grouped by bank name."""
        grouped: dict[str, list[Match]] = {}
        for m in (*self.matches, *self.allowed):
            grouped.setdefault(m.bank, []).append(m)
        return grouped

    def to_dict(self) -> dict[str, Any]:
        return {
            "matched": self.matched,
            "matches": [m.to_dict() for m in self.matches],
            "allowed": [m.to_dict() for m in self.allowed],
            "suppressed": [s.to_dict() for s in self.suppressed],
            "low_quality": self.low_quality,
            "pdq_quality": self.pdq_quality,
        }
