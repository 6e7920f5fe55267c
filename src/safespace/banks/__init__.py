"""Hash banks: named lists of hashes, their storage service, and matching against them.

Public API: :class:`BankService` (create, import, export, enable/disable, delete) and its
result values; :class:`Matcher` and its results (imported lazily on first use, so the CLI
does not load numpy for bank administration).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from safespace.banks._info import AddResult, BankInfo, EntryInfo, ImportResult
from safespace.banks._service import BankService, validate_bank_name

if TYPE_CHECKING:
    from safespace.banks._matching import Match, Matcher, MatchResult, SignalsLike, Suppressed

__all__ = [
    "AddResult",
    "BankInfo",
    "BankService",
    "EntryInfo",
    "ImportResult",
    "Match",
    "MatchResult",
    "Matcher",
    "SignalsLike",
    "Suppressed",
    "validate_bank_name",
]


_LAZY = {"Match", "MatchResult", "Matcher", "SignalsLike", "Suppressed"}


def __getattr__(name: str) -> Any:
    """Load the matching names on first use: they pull in numpy and the PDQ index."""
    if name in _LAZY:
        return getattr(importlib.import_module("safespace.banks._matching"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
