"""The public API is small and pinned: a name slipping in or out of ``__all__`` fails here.

Change a list below only together with the docs and a note in the changelog of the release.
"""

import importlib
from pathlib import Path

import pytest

PUBLIC = {
    "safespace.signals": [
        "DIHEDRAL_NAMES", "DecodeLimits", "Signals", "dihedral_variants", "hamming",
        "hash_bytes", "hash_file", "is_matchable", "pdq_dihedral_from_bytes",
        "pdq_dihedral_from_file", "pdq_dihedral_from_image", "pdq_from_image",
        "VideoFrameHash", "VideoLimits", "hash_video",
        "MD5", "PDQ", "SHA256", "SIGNAL_TYPES", "SignalType", "get_signal_type", "normalize",
        "DISTANCE", "HexSignalType", "IndexKind", "MediaKind", "Threshold", "bare_hex_type",
        "check_thresholds", "effective_thresholds", "exchange_type", "signal_types_with_index",
        "KEYWORD", "URL", "URL_SHA256", "TextSource", "signal_types_in_text",
    ],
    "safespace.index": ["FrameIndex", "PDQIndex", "VideoMatch", "VideoThresholds"],
    "safespace.banks": [
        "AddResult", "BankInfo", "BankService", "EntryInfo", "ImportResult",
        "validate_bank_name", "Match", "MatchResult", "Matcher", "SignalsLike", "Suppressed",
        "fetch_url", "url_allowed",
    ],
    "safespace.banks.formats": [
        "FORMATS", "HashListFormat", "HashRecord", "ParseResult", "Withdrawal",
        "detect_format", "get_format", "parse",
    ],
    "safespace.api": ["create_app", "create_app_from_env"],
    "safespace.runtime": [
        "LEASE_TTL_SECONDS", "PLACEMENTS", "TASKS", "AppContext", "Leases", "PeriodicTask",
        "Placement", "TaskRunner",
    ],
    "safespace.exchanges": [
        "FETCHED_AT", "SOURCE_TYPES", "BankSource", "FetchPage", "Opinion", "SourceEntry",
        "ExchangeService", "FetchReport", "SourceInfo", "Verdict", "available_source_types",
        "checkpoint_time", "get_source_type", "http_error",
        "known_signal_type",
    ],
    "safespace.text": [
        "GENERIC_TLDS", "SHORTENERS", "WRAPPERS", "CanonicalUrl", "ExtractedUrl", "KeywordList",
        "KeywordMatch", "KeywordMatcher", "UrlList", "UrlMatch", "canonicalize",
        "expression_hash", "extract_urls", "is_known_tld", "listed_expression",
        "url_expressions",
    ],
    "safespace.deter": [
        "CONTEXTS", "ChatEngine", "ChatState", "DEFAULT_DATA_DIR", "Decision", "DecisionRequest",
        "DeterData", "DeterEvent", "DeterLoader", "Deterrer", "EVENT_TYPES", "HelpLink",
        "Intervention", "KINDS", "OUTCOMES", "REASONS", "Turn", "TurnButton", "load_data",
        "normalize",
    ],
    "safespace.contact": [
        "ACTIONS", "AGE_BANDS", "Account", "ContactDecision", "ContactLoader", "ContactRequest",
        "DECISIONS", "DEFAULT_POLICY", "Engine", "Policy", "Prompt", "Relation", "Rule",
        "SignalRules", "Verdict", "load_policy",
    ],
    "safespace.access": [
        "KeyCache", "KeyInfo", "KeyService", "MatchEventInfo", "RateLimiter", "SCOPES",
        "check_content_id", "hash_key", "list_events", "parse_scopes", "record_matches",
    ],
    "safespace.retro": [
        "ContentIndex", "ContentStore", "RetroMatcher", "RetroRuntime", "StoredSignal",
        "SweepResult", "content_pairs",
    ],
    "safespace.reports": [
        "AuditEntry", "ConfirmedCase", "EvidenceInfo", "EvidenceStore", "ReportedUser",
        "Reporter", "RetryPolicy", "VerifyResult", "WebhookService",
        "build_cybertip_file_details", "build_cybertip_report", "build_json_referral",
        "load_master_key", "sign", "validate_cybertip", "verify_signature",
        "NewSelfReport", "ReportItem", "SelfReportReceipt", "SelfReportService",
        "SelfReportStatus", "help_sections",
    ],
}  # fmt: skip


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_exported_names_are_pinned(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name} is exported but missing"


def test_package_root_holds_only_the_version() -> None:
    import ast

    import safespace

    tree = ast.parse(Path(safespace.__file__).read_text(encoding="utf-8"))
    defined = [
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    ]
    imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    assert defined == ["__version__"]
    assert imports == []


# Modules that are public although they are not packages: the one errors module, settings.
PUBLIC_MODULES = {"safespace/errors.py", "safespace/config.py"}


def test_implementation_modules_are_private() -> None:
    """Every module is a package's ``__init__``, a ``_private`` module, or listed as public."""
    import safespace

    src = Path(safespace.__file__).parent.parent
    public = []
    for path in sorted((src / "safespace").rglob("*.py")):
        rel = path.relative_to(src)
        if "migrations" in rel.parts or path.name == "__init__.py":
            continue
        private = any(part.startswith("_") for part in rel.with_suffix("").parts[1:])
        if not private and rel.as_posix() not in PUBLIC_MODULES:
            public.append(rel.as_posix())
    assert public == []


def test_every_package_declares_its_public_api() -> None:
    import safespace

    root = Path(safespace.__file__).parent
    missing = [
        init.relative_to(root).as_posix()
        for init in sorted(root.rglob("__init__.py"))
        if "migrations" not in init.parts and init != root / "__init__.py"
        if "__all__" not in init.read_text(encoding="utf-8")
    ]
    assert missing == []
