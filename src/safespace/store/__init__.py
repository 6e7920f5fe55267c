"""Storage: the database schema, opening a database, and migrations.

Public API: :func:`open_database` (SQLite file or PostgreSQL URL, migrated to the latest
schema) returning a :class:`Database`, and the models for code that queries directly.
"""

from __future__ import annotations

from . import _models_contact as models_contact  # noqa: F401  (registers the contact tables)
from . import _models_exchanges as models_exchanges  # noqa: F401  (registers the exchange tables)
from . import _models_notes as models_notes  # noqa: F401  (registers review_notes)
from . import _models_opinions as models_opinions  # noqa: F401  (registers exchange_opinions)
from . import _models_reports as models_reports  # noqa: F401  (registers the report tables on Base.metadata)
from . import _models_retro as models_retro  # noqa: F401  (registers the retro-matching tables)
from . import _models_values as models_values  # noqa: F401  (registers bank_entry_values)
from . import _models_wellbeing as models_wellbeing  # noqa: F401  (registers reviewer_settings)
from ._database import Database, open_database, upgrade
from ._models import (
    BANK_KINDS,
    CHANGE_OPS,
    Bank,
    BankEntry,
    BankThreshold,
    Base,
    Change,
    ChangeLogPruned,
)
from ._models_access import ApiKey, MatchEvent
from ._models_accounts import ROLES, ConsoleSession, SignInThrottle, User
from ._models_deter import DETER_OUTCOMES, DeterEventRow, DeterOutcomeRow
from ._models_jobs import ImportJob, ImportJobFile, ImportJobReject
from ._models_queue import ReviewDecision, ReviewItem, ReviewMedia
from ._models_runtime import InstanceIdentity, RateLimitBucket, RuntimeLease
from ._models_selfreports import SelfReportCase, SelfReportItem

__all__ = [
    "BANK_KINDS",
    "CHANGE_OPS",
    "DETER_OUTCOMES",
    "ROLES",
    "ApiKey",
    "Bank",
    "BankEntry",
    "BankThreshold",
    "Base",
    "Change",
    "ChangeLogPruned",
    "ConsoleSession",
    "Database",
    "DeterEventRow",
    "DeterOutcomeRow",
    "ImportJob",
    "ImportJobFile",
    "ImportJobReject",
    "InstanceIdentity",
    "MatchEvent",
    "RateLimitBucket",
    "ReviewDecision",
    "ReviewItem",
    "ReviewMedia",
    "RuntimeLease",
    "SelfReportCase",
    "SelfReportItem",
    "SignInThrottle",
    "User",
    "open_database",
    "upgrade",
]
