"""Bank sources (exchanges): hash lists that arrive by themselves, and opinions sent back.

:class:`BankSource` is the contract every source type implements (a peer SafeSpace, a list
at a URL or path, NCMEC, StopNCII); :data:`SOURCE_TYPES` lists them. See docs/exchanges.md.
"""

from safespace.exchanges._registry import SOURCE_TYPES, available_source_types, get_source_type
from safespace.exchanges._service import ExchangeService, FetchReport, SourceInfo
from safespace.exchanges._source import (
    FETCHED_AT,
    BankSource,
    FetchPage,
    Opinion,
    SourceEntry,
    Verdict,
    checkpoint_time,
    http_error,
    known_signal_type,
)

__all__ = [
    "FETCHED_AT",
    "SOURCE_TYPES",
    "BankSource",
    "ExchangeService",
    "FetchPage",
    "FetchReport",
    "Opinion",
    "SourceEntry",
    "SourceInfo",
    "Verdict",
    "available_source_types",
    "checkpoint_time",
    "get_source_type",
    "http_error",
    "known_signal_type",
]
