"""``safespace audit verify``: the hash-chained audit log, checked from its first record."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from safespace.cli._common import emit, open_db, settings_of
from safespace.errors import IntegrityFailure, InvalidInput

__all__ = ["audit_app"]

audit_app = typer.Typer(help="Check the hash-chained audit log.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON line instead of text.")] = False,
    anchor: Annotated[
        str | None,
        typer.Option(help="SEQ:HASH of a head published earlier: also catches a cut-off end."),
    ] = None,
) -> None:
    """Verify the audit chain from its first record; exit code 9 when it is broken."""
    from safespace.reports import _audit as audit

    expected: tuple[int, str] | None = None
    if anchor is not None:
        seq, _, digest = anchor.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise InvalidInput("--anchor must be SEQ:HASH (a record number and 64 hex digits)")
        expected = (int(seq), digest.lower())
    db = open_db(settings_of(ctx))
    try:
        with db.session() as s:
            result = audit.verify(s, anchor=expected)
    finally:
        db.close()
    if as_json or not sys.stdout.isatty():
        emit(result.to_dict())
    elif result.ok:
        typer.echo(f"audit log intact: {result.count} records, head {result.head_hash}")
    if not result.ok:
        raise IntegrityFailure(f"audit chain broken at seq {result.first_bad_seq}: {result.reason}")
