"""Report and remove: the audit chain, encrypted evidence, hotline referrals, webhook actions.

Domain code only: the review queue, the console and the self-report page call these.
"""

from __future__ import annotations

from ._audit import AuditEntry, VerifyResult
from ._evidence import EvidenceInfo, EvidenceStore, load_master_key
from ._referrals import (
    ConfirmedCase,
    ReportedUser,
    Reporter,
    build_cybertip_file_details,
    build_cybertip_report,
    build_json_referral,
    validate_cybertip,
)
from ._selfreport import (
    NewSelfReport,
    ReportItem,
    SelfReportReceipt,
    SelfReportService,
    SelfReportStatus,
    help_sections,
)
from ._webhooks import RetryPolicy, WebhookService, sign, verify_signature

__all__ = [
    "AuditEntry",
    "ConfirmedCase",
    "EvidenceInfo",
    "EvidenceStore",
    "NewSelfReport",
    "ReportItem",
    "ReportedUser",
    "Reporter",
    "RetryPolicy",
    "SelfReportReceipt",
    "SelfReportService",
    "SelfReportStatus",
    "VerifyResult",
    "WebhookService",
    "build_cybertip_file_details",
    "build_cybertip_report",
    "build_json_referral",
    "help_sections",
    "load_master_key",
    "sign",
    "validate_cybertip",
    "verify_signature",
]
