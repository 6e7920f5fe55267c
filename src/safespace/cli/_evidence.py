"""``safespace evidence ...``: encrypted evidence, kept for the retention period."""

from __future__ import annotations

from typing import Annotated

import typer

from safespace.cli._common import (
    CLI_ACTOR,
    CLI_ROLE,
    emit,
    err,
    evidence_store,
    open_db,
    password_from_stdin,
    settings_of,
)
from safespace.errors import InvalidInput

__all__ = ["evidence_app"]

evidence_app = typer.Typer(
    help="Encrypted evidence: list it, set or clear legal holds, purge expired items, "
    "rotate the master key.",
    no_args_is_help=True,
)

_HoldReason = Annotated[str, typer.Option(help="Why (required; kept in the audit log).")]


@evidence_app.command("list")
def evidence_list(
    ctx: typer.Context,
    case: Annotated[
        str | None, typer.Option(help="Only this case, e.g. review-12 (default: all).")
    ] = None,
) -> None:
    """JSON lines of evidence metadata, oldest first (never content; no key needed)."""
    from safespace.reports._evidence import list_items

    db = open_db(settings_of(ctx))
    try:
        for info in list_items(db, case, limit=1_000_000):
            emit(info.to_dict())
    finally:
        db.close()


def _hold_command(name: str, *, on: bool, doc: str) -> None:
    """``evidence hold`` and ``evidence release`` take the same arguments; only the change
    differs."""

    def command(
        ctx: typer.Context,
        item_id: Annotated[str, typer.Argument(help="The evidence item's id.")],
        reason: _HoldReason,
    ) -> None:
        store = evidence_store(settings_of(ctx))
        try:
            change = store.set_hold if on else store.clear_hold
            emit(change(item_id, CLI_ACTOR, CLI_ROLE, reason).to_dict())
        finally:
            store.db.close()

    command.__name__ = command.__qualname__ = f"evidence_{name}"
    command.__doc__ = doc
    evidence_app.command(name)(command)


_hold_command(
    "hold",
    on=True,
    doc="Put an item on legal hold: it is kept past its retention date until released.",
)
_hold_command(
    "release",
    on=False,
    doc="Clear a legal hold; an item past its retention date goes at the next purge.",
)


@evidence_app.command("purge")
def evidence_purge(ctx: typer.Context) -> None:
    """Destroy evidence past its retention date and not on hold (the server does hourly)."""
    store = evidence_store(settings_of(ctx))
    try:
        purged = store.purge_expired(actor=CLI_ACTOR)
    finally:
        store.db.close()
    emit({"purged": len(purged), "ids": purged})


@evidence_app.command("rewrap")
def evidence_rewrap(
    ctx: typer.Context,
    old_key_stdin: Annotated[
        bool,
        typer.Option(
            "--old-key-stdin",
            help="Read the previous master key (base64) from the first line of standard input.",
        ),
    ] = False,
) -> None:
    """Re-wrap every evidence, reviewer-media, text-excerpt and webhook-secret key from the old
    master key to the current SAFESPACE_EVIDENCE_KEY (data stays as it is; safe to run again)."""
    from safespace.reports import WebhookService
    from safespace.reports._evidence import key_id, load_master_key
    from safespace.reports._sealing import rewrap_media
    from safespace.reports._text_excerpts import rewrap_excerpts

    if not old_key_stdin:
        raise InvalidInput("rewrap needs the old key: pipe it in with --old-key-stdin")
    settings = settings_of(ctx)
    old = load_master_key(password_from_stdin())
    new = load_master_key(settings.evidence_key)
    if old == new:
        raise InvalidInput("the old key is the current SAFESPACE_EVIDENCE_KEY: nothing to do")
    store = evidence_store(settings)
    try:
        items = store.rewrap_all(old, new, actor=CLI_ACTOR)
        media = rewrap_media(store.db, old, new)
        excerpts = rewrap_excerpts(store.db, old, new)
        hooks = WebhookService.from_settings(store.db, settings).rewrap(old)
    finally:
        store.db.close()
    emit(
        {
            "evidence": items,
            "review_media": media,
            "text_excerpts": excerpts,
            "webhook_secrets": hooks,
            "old_key_id": key_id(old),
        }
    )
    err.print(f"re-wrapped under key {key_id(new)}", markup=False)
