"""``safespace match``: hashes or files against the banks, as JSON lines of matches."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from safespace.cli._common import (
    decode_limits,
    emit,
    err,
    match_rows,
    matcher,
    open_db,
    settings_of,
)
from safespace.errors import InvalidInput, SafeSpaceError

__all__ = ["match"]


def match(
    ctx: typer.Context,
    files: Annotated[list[Path] | None, typer.Argument(help="Files to hash and match.")] = None,
    bank: Annotated[
        list[str] | None, typer.Option("--bank", help="Bank to match against (repeatable).")
    ] = None,
    pdq: Annotated[str | None, typer.Option(help="A PDQ hash (64 hex digits).")] = None,
    md5: Annotated[str | None, typer.Option(help="An MD5 (32 hex digits).")] = None,
    sha256: Annotated[str | None, typer.Option(help="A SHA-256 (64 hex digits).")] = None,
    signal: Annotated[
        list[str] | None,
        typer.Option(help="A hash of any signal type, TYPE=VALUE (repeatable)."),
    ] = None,
    dihedral: Annotated[bool, typer.Option(help="Also match rotated and flipped copies.")] = False,
    exact: Annotated[bool, typer.Option(help="Hash files at full resolution.")] = False,
) -> None:
    """Match hashes or files against banks: JSON lines of matches."""
    from safespace.signals import SIGNAL_TYPES, hash_file

    # --pdq, --md5, --sha256 are options named after signal types; --signal takes any type.
    given = [(k.name, v) for k in SIGNAL_TYPES.values() if (v := ctx.params.get(k.name))]
    for item in signal or []:
        name, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"--signal {item!r}: expected TYPE=VALUE")
        given.append((name.strip(), value.strip()))
    if bool(given) == bool(files):
        raise InvalidInput("give either files or hashes (--pdq, --md5, --sha256, --signal)")
    settings = settings_of(ctx)
    found_in = matcher(open_db(settings), settings)
    banks = list(bank) if bank else None
    found = 0
    if given:
        pairs = given
        result = found_in.match(pairs, dihedral=dihedral, banks=banks)
        for row in match_rows(result, query=dict(pairs)):
            emit(row)
            found += 1
    else:
        limits = decode_limits(settings)
        for path in files or []:
            try:
                signals = hash_file(path, exact=exact, limits=limits)
            except (SafeSpaceError, OSError) as exc:
                emit({"path": str(path), "error": str(exc)})
                continue
            result = found_in.match(signals, dihedral=dihedral, banks=banks)
            for row in match_rows(result, path=str(path)):
                emit(row)
                found += 1
    err.print(f"{found} matches", markup=False)
