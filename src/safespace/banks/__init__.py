"""Hash banks: named lists of hashes, their storage service, and matching against them.

Public API: :class:`BankService` (create, import, export, enable/disable, delete) and its
result values; :class:`~safespace.banks.matching.Matcher` lives in ``safespace.banks.matching``
(imported lazily, so the CLI does not load numpy for bank administration).
"""

from __future__ import annotations

from safespace.banks.info import AddResult, BankInfo, EntryInfo, ImportResult
from safespace.banks.service import BankService, validate_bank_name

__all__ = [
    "AddResult",
    "BankInfo",
    "BankService",
    "EntryInfo",
    "ImportResult",
    "validate_bank_name",
]
