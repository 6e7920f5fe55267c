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
    seconds_per_hash: Annotated[
        float, typer.Option(help="Videos: one frame hash per this many seconds (0: all).")
    ] = 1.0,
    crop_borders: Annotated[
        bool, typer.Option(help="Videos: remove black bars (letterbox) before hashing.")
    ] = False,
    text: Annotated[
        str | None,
        typer.Option(help="A post or message: match its listed links and keywords, with spans."),
    ] = None,
    text_file: Annotated[
        Path | None,
        typer.Option(help="A UTF-8 text file, one post per line ('-': standard input)."),
    ] = None,
) -> None:
    """Match hashes, files or text against banks: JSON lines of matches."""
    from safespace.signals import SIGNAL_TYPES, hash_file
    from safespace.signals._video_query import video_query

    if text is not None or text_file is not None:
        if files or signal or any(ctx.params.get(k.name) for k in SIGNAL_TYPES.values()):
            raise InvalidInput("give text (--text, --text-file) or hashes or files, not both")
        _match_text(ctx, text, text_file, list(bank) if bank else None)
        return

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
                signals = video_query(
                    path,
                    hash_file(path, exact=exact, limits=limits),
                    seconds_per_hash=seconds_per_hash,
                    crop_borders=crop_borders,
                )  # a video is matched by its frames too
            except (SafeSpaceError, OSError) as exc:
                emit({"path": str(path), "error": str(exc)})
                continue
            result = found_in.match(signals, dihedral=dihedral, banks=banks)
            for row in match_rows(result, path=str(path)):
                emit(row)
                found += 1
    err.print(f"{found} matches", markup=False)


def _match_text(
    ctx: typer.Context, text: str | None, text_file: Path | None, banks: list[str] | None
) -> None:
    """One JSON line per match: bank, entry, signal type, the listed value and the span
    (``line``, from 1, with --text-file). The text itself is never printed."""
    import sys

    from safespace.cli._common import text_match_rows

    if text is not None and text_file is not None:
        raise InvalidInput("give --text or --text-file, not both")
    settings = settings_of(ctx)
    found_in = matcher(open_db(settings), settings)
    found = 0
    if text is not None:
        posts: list[tuple[int | None, str]] = [(None, text)]
    else:
        assert text_file is not None
        try:
            raw = sys.stdin.read() if str(text_file) == "-" else text_file.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput(f"cannot read {text_file}: {exc}") from None
        posts = [(n, line) for n, line in enumerate(raw.splitlines(), 1) if line.strip()]
    for line, post in posts:
        context = {} if line is None else {"line": line}
        for row in text_match_rows(found_in.match_text(post, banks=banks), **context):
            emit(row)
            found += 1
    err.print(f"{found} matches", markup=False)
