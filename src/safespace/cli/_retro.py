"""``safespace retro-match`` and ``safespace content ...``: retro-matching on demand, and the
content-hash store's deletions (docs/retro.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from safespace.cli._common import emit, open_db, settings_of
from safespace.errors import InvalidInput

__all__ = ["content_app", "retro_match"]

content_app = typer.Typer(
    help="The content-hash store kept for retro-matching: forget a content id, purge "
    "what is past retention.",
    no_args_is_help=True,
)


def _date(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"--since: not a date: {text!r} (use 2026-01-31 or ISO 8601)") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def retro_match(
    ctx: typer.Context,
    bank: Annotated[str, typer.Option(help="The bank whose entries are searched.")],
    since: Annotated[
        str | None,
        typer.Option(help="Only entries added at or after this date (ISO 8601; UTC if bare)."),
    ] = None,
) -> None:
    """Search a bank's entries against the stored content hashes now; queue each new hit."""
    from safespace.retro import RetroMatcher

    after = _date(since)
    db = open_db(settings_of(ctx))
    try:
        result = RetroMatcher(db).sweep_bank(bank, after)
    finally:
        db.close()
    emit({"bank": bank, **result.to_dict()})
    typer.echo(
        f"{result.entries} entries searched, {result.hits} hit(s), {result.queued} queued",
        err=True,
    )


@content_app.command("forget")
def content_forget(
    ctx: typer.Context,
    content_id: Annotated[str, typer.Argument(help="The platform's content id.")],
) -> None:
    """Delete every hash kept for a content id."""
    from safespace.retro import ContentStore

    settings = settings_of(ctx)
    db = open_db(settings)
    try:
        gone = ContentStore.from_settings(db, settings).forget(content_id)
    finally:
        db.close()
    emit({"content_id": content_id, "forgotten": gone})


@content_app.command("purge")
def content_purge(ctx: typer.Context) -> None:
    """Delete the stored hashes past their retention now (the retro-match task does it too)."""
    from safespace.retro import ContentStore

    settings = settings_of(ctx)
    db = open_db(settings)
    try:
        purged = ContentStore.from_settings(db, settings).purge()
    finally:
        db.close()
    emit({"purged": len(purged)})
