"""``safespace demo``: a demo bank from generated benign images, a scan of edited copies,
and with ``--serve`` the service with a console account and an API key (``make run``)."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

import typer
from pydantic import SecretStr

from safespace.cli._common import (
    bank_service,
    cli_actor,
    decode_limits,
    err,
    key_service,
    settings_of,
)
from safespace.cli._scan import scan_folder
from safespace.cli._serve import serve_with
from safespace.config import Settings

__all__ = ["demo", "demo_credentials", "demo_settings"]

# Placeholder reporter details, for the served demo only (never outside it).
DEMO_REPORTER_EMAIL = "trust-and-safety@demo.invalid"
DEMO_REPORTER_PLATFORM = "SafeSpace demo"


def demo(
    ctx: typer.Context,
    serve_after: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Then make a demo console account and API key and run the service.",
        ),
    ] = False,
    port: Annotated[int, typer.Option(help="Port for --serve.", min=1, max=65535)] = 8000,
) -> None:
    """Make a demo bank from generated benign images and scan edited copies of them."""
    from safespace._demo import make_demo_set
    from safespace.banks.formats import HashRecord
    from safespace.errors import BankExists
    from safespace.signals import SIGNAL_TYPES, hash_file

    settings = settings_of(ctx)
    demo_set = make_demo_set(settings.data_dir / "demo")
    service = bank_service(settings)
    with contextlib.suppress(BankExists):
        service.create_bank(
            "demo",
            description="Generated benign pattern images (demo only)",
            actor=cli_actor(),
        )
    limits = decode_limits(settings)
    records = []
    for path in demo_set.known:
        sig = hash_file(path, limits=limits)
        note = f"demo image {path.name}"
        for kind in SIGNAL_TYPES.values():  # every signal type the image gives
            value = kind.compute(sig)
            if value is not None:
                records.append(HashRecord(kind.name, value, source="demo", category="A", note=note))
    service.add_entries("demo", records, actor=cli_actor())
    err.print(f"demo bank ready: {len(records)} hashes from {demo_set.known_dir}", markup=False)
    scan_folder(settings, demo_set.uploads_dir, banks=["demo"], restart=True, dihedral=True)
    if not serve_after:
        err.print(
            "\nNext: `safespace hash FILE`, `safespace match --bank demo FILE`, "
            "`safespace bank list`, `safespace --help`.",
            markup=False,
        )
        return
    served, notes = demo_settings(settings)
    password, key = demo_credentials(served)
    base = f"http://127.0.0.1:{port}"
    sample = demo_set.expected_matches[0]
    err.print(
        f"""
SafeSpace is starting at {base}
  Web console:  {base}/console   (sign in as "admin", password: {password})
  Self-report:  {base}/report
  API docs:     {base}/docs
  Demo API key (scopes match, curate): {key}
  Try:  curl -s -H "Authorization: Bearer {key}" -F file=@{sample} {base}/v1/match
{notes}Stop with Ctrl-C. Everything lives in {settings.data_dir}.
""",
        markup=False,
        highlight=False,
    )
    serve_with(served, host="127.0.0.1", port=port, workers=1, access_log=False)


def demo_settings(settings: Settings) -> tuple[Settings, str]:
    """The settings the served demo runs with, and the lines its banner prints about them.

    Without SAFESPACE_EVIDENCE_KEY the demo uses a generated demo-only key (kept in the demo
    folder, so evidence from one run opens in the next); without reporter details, referrals
    get placeholder ones. ``settings`` itself is left as it is: the workers are given the
    returned copy.
    """
    from safespace._demo import demo_evidence_key

    update: dict[str, Any] = {}
    notes = ""
    if settings.evidence_key is None:
        key, path = demo_evidence_key(settings.data_dir / "demo")
        update["evidence_key"] = SecretStr(key)
        notes += (
            f"  Evidence key: generated for this demo only ({path}); set your own\n"
            "    SAFESPACE_EVIDENCE_KEY (openssl rand -base64 32) for anything real.\n"
        )
    if not settings.reporter_email:
        update["reporter_email"] = DEMO_REPORTER_EMAIL
        if not settings.reporter_platform:
            update["reporter_platform"] = DEMO_REPORTER_PLATFORM
        notes += (
            "  Referrals: placeholder reporter details for this demo; set SAFESPACE_REPORTER_*\n"
            "    to your platform's before referring anything for real.\n"
        )
    url = settings.review_webhook_url.strip()
    if url:
        notes += f"  Actions after a confirmation: signed webhooks to {url}\n"
    else:
        notes += (
            "  Actions after a confirmation: none sent; set SAFESPACE_REVIEW_WEBHOOK_URL and\n"
            "    SAFESPACE_REVIEW_WEBHOOK_SECRET (32+ characters) to receive signed take-downs.\n"
        )
    return settings.model_copy(update=update), notes


def demo_credentials(settings: Settings) -> tuple[str, str]:
    """A fresh password for the demo "admin" account and a new demo API key."""
    from safespace.accounts import UserService
    from safespace.errors import UserExists

    keys = key_service(settings)
    users = UserService(keys.db)
    try:
        _, password = users.create("admin", "admin")
    except UserExists:
        _, password = users.reset_password("admin")
    _, key = keys.create("match,curate", name="demo")
    assert password is not None
    return password, key
