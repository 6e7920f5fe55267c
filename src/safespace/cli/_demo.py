"""``safespace demo``: a demo bank from generated benign images, a scan of edited copies,
and with ``--serve`` the service with a console account and an API key (``make run``)."""

from __future__ import annotations

import contextlib
from pathlib import Path
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

__all__ = ["DEMO_ROUTER", "demo", "demo_credentials", "demo_review_items", "demo_settings"]

# The demo's own page (/demo/search), served by `demo --serve` only.
DEMO_ROUTER = "safespace.web._demo_search:router"

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
    served, notes = demo_settings(settings, port=port)
    password, key = demo_credentials(served)
    items = demo_review_items(served, demo_set.uploads_dir)
    base = f"http://127.0.0.1:{port}"
    sample = demo_set.expected_matches[0]
    err.print(
        f"""
SafeSpace is starting at {base}
  Web console:  {base}/console   (sign in as "admin", password: {password})
  Review queue: {base}/console/queue   ({items} demo items, benign generated images, blurred)
  Try Deter:    {base}/demo/search   (the warning widget and the support chatbot)
  Self-report:  {base}/report
  API docs:     {base}/docs
  Demo API key (scopes match, curate): {key}
  Try:  curl -s -H "Authorization: Bearer {key}" -F file=@{sample} {base}/v1/match
{notes}Stop with Ctrl-C. Everything lives in {settings.data_dir}.
""",
        markup=False,
        highlight=False,
    )
    serve_with(
        served,
        host="127.0.0.1",
        port=port,
        workers=1,
        access_log=False,
        extra_routers=(DEMO_ROUTER,),
    )


def demo_settings(settings: Settings, *, port: int = 8000) -> tuple[Settings, str]:
    """The settings the served demo runs with, and the lines its banner prints about them.

    Without SAFESPACE_EVIDENCE_KEY the demo uses a generated demo-only key (kept in the demo
    folder, so evidence from one run opens in the next); the demo keeps review media (sealed
    with that key) so that its review items show their blurred images; without
    SAFESPACE_DETER_SECRET, Deter gets a per-run demo-only secret (never written) and the
    demo's Deter folder (placeholder tokens only), and the widget may be used from the demo's
    own origins (/demo/search); without reporter details, referrals get placeholder ones.
    ``settings`` itself is left as it is: the workers are given the returned copy.
    """
    from safespace._demo import DEMO_DETER_DIR, demo_deter_secret, demo_evidence_key

    update: dict[str, Any] = {}
    notes = ""
    if settings.evidence_key is None:
        key, path = demo_evidence_key(settings.data_dir / "demo")
        update["evidence_key"] = SecretStr(key)
        notes += (
            f"  Evidence key: generated for this demo only ({path}); set your own\n"
            "    SAFESPACE_EVIDENCE_KEY (openssl rand -base64 32) for anything real.\n"
        )
    if not settings.review_store_media:
        update["review_store_media"] = True
        notes += (
            "  Review media: kept for this demo (sealed with the evidence key), so the demo\n"
            "    items show their images; off unless SAFESPACE_REVIEW_STORE_MEDIA=true.\n"
        )
    if settings.deter_secret is None:
        update["deter_secret"] = SecretStr(demo_deter_secret())
        if settings.deter_dir is None:
            update["deter_dir"] = DEMO_DETER_DIR
        notes += (
            "  Deter: a demo-only secret and placeholder words (see /demo/search); set\n"
            "    SAFESPACE_DETER_SECRET and SAFESPACE_DETER_DIR for anything real.\n"
        )
    # /demo/search plays the platform's page: the widget there may report and chat.
    origins = [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
    update["deter_allowed_origins"] = " ".join([settings.deter_allowed_origins, *origins]).strip()
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


def demo_review_items(settings: Settings, uploads: Path) -> int:
    """Report the demo's few benign images (:data:`safespace._demo.DEMO_REVIEW_ITEMS`) as
    user reports, matched against the banks, so the console's queue has items with media;
    their media is kept only when ``settings`` keep review media (the served demo's do).
    Idempotent: a second run finds the same content ids. Returns how many items there are."""
    from safespace._demo import DEMO_REVIEW_ITEMS
    from safespace.cli._common import matcher, open_db
    from safespace.reports._queue import ReviewQueue, UserReport
    from safespace.signals import SIGNAL_TYPES, hash_bytes

    db = open_db(settings)
    queue = ReviewQueue.from_settings(db, settings)
    banks = matcher(db, settings)
    limits = decode_limits(settings)
    count = 0
    for content_id, name, reason in DEMO_REVIEW_ITEMS:
        path = uploads / name
        if not path.is_file():
            continue
        data = path.read_bytes()
        signals = hash_bytes(data, limits=limits)
        report = UserReport(
            content_id=content_id,
            reason=reason,
            account_id="demo-account",
            hashes={k.name: v for k in SIGNAL_TYPES.values() if (v := k.compute(signals))},
            matches=banks.match(signals, dihedral=True).matches,
            media=data,
            media_type=f"image/{(signals.media_format or 'jpeg').lower()}",
        )
        queue.report(report)
        count += 1
    return count


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
