"""Hash banks: named lists of hashes, their storage service, and matching against them.

Public API: :class:`BankService` (create, import, export, enable/disable, delete) and its
result values; :class:`Matcher` and its results (imported lazily on first use, so the CLI
does not load numpy for bank administration); :func:`fetch_url`, media from an allowed URL
(lazily too: it loads httpx).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from safespace.banks._info import AddResult, BankInfo, EntryInfo, ImportResult
from safespace.banks._service import BankService, validate_bank_name

if TYPE_CHECKING:
    from safespace.banks._fetch import fetch_url, url_allowed
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
    "fetch_url",
    "url_allowed",
    "validate_bank_name",
]


_LAZY = {"Match", "MatchResult", "Matcher", "SignalsLike", "Suppressed"}
_LAZY_FETCH = {"fetch_url", "url_allowed"}


def __getattr__(name: str) -> Any:
    """Load the matching names on first use: they pull in numpy and the PDQ index; and the
    URL fetcher's (httpx)."""
    if name in _LAZY:
        return getattr(importlib.import_module("safespace.banks._matching"), name)
    if name in _LAZY_FETCH:
        return getattr(importlib.import_module("safespace.banks._fetch"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
