"""``safespace bank ...``: create, list, update, import, export and delete hash banks."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from safespace.banks.formats import FORMATS
from safespace.cli._common import bank_service, cli_actor, emit, err, settings_of
from safespace.errors import ImportFormatError, InvalidInput
from safespace.signals import DISTANCE, IndexKind, signal_types_with_index

__all__ = ["bank_app"]

_DISTANCE_HELP = "Image hash (PDQ) match distance for this bank (default 31)."
_THRESHOLD_HELP = "A threshold per signal type, TYPE_NAME=VALUE (pdq_distance=20); repeatable."


bank_app = typer.Typer(
    help="Create, list, import, export and delete hash banks.", no_args_is_help=True
)


@bank_app.command("create")
def bank_create(
    ctx: typer.Context,
    name: str,
    kind: Annotated[
        str, typer.Option(help="normal, or allow (entries suppress matches).")
    ] = "normal",
    distance: Annotated[int | None, typer.Option(help=_DISTANCE_HELP)] = None,
    threshold: Annotated[list[str] | None, typer.Option(help=_THRESHOLD_HELP)] = None,
    description: Annotated[
        str, typer.Option(help="What the list is and where it comes from.")
    ] = "",
) -> None:
    """Create an empty bank."""
    bank = bank_service(settings_of(ctx)).create_bank(
        name,
        kind=kind,
        thresholds=_thresholds(distance, threshold),
        description=description,
        actor=cli_actor(),
    )
    emit(bank.to_dict())


def _thresholds(distance: int | None, thresholds: list[str] | None) -> dict[str, object]:
    """Flat ``<type>_<name>`` thresholds from ``--distance`` and ``--threshold`` options."""
    out: dict[str, object] = {}
    if distance is not None:
        for kind in signal_types_with_index(IndexKind.PDQ_MIH):
            out[f"{kind.name}_{DISTANCE}"] = distance
    for item in thresholds or []:
        key, sep, value = item.partition("=")
        try:
            out[key.strip()] = int(value)
        except ValueError:
            raise InvalidInput(f"--threshold {item!r}: expected TYPE_NAME=WHOLE_NUMBER") from None
        if not sep:
            raise InvalidInput(f"--threshold {item!r}: expected TYPE_NAME=WHOLE_NUMBER")
    return out


def _thresholds_text(thresholds: dict[str, dict[str, int]]) -> str:
    return ", ".join(
        f"{kind} {name} {value}"
        for kind, named in thresholds.items()
        for name, value in named.items()
    )


@bank_app.command("list")
def bank_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """List banks with their sizes."""
    banks = bank_service(settings_of(ctx)).list_banks()
    if as_json or not sys.stdout.isatty():
        for bank in banks:
            emit(bank.to_dict())
        return
    table = Table("name", "kind", "thresholds", "enabled", "entries", "description")
    for bank in banks:
        d = bank.to_dict()
        table.add_row(
            d["name"],
            d["kind"],
            _thresholds_text(d["thresholds"]),
            "yes" if d["enabled"] else "no",
            str(d.get("entry_count", "")),
            d.get("description") or "",
        )
    Console().print(table)


@bank_app.command("update")
def bank_update(
    ctx: typer.Context,
    name: str,
    kind: Annotated[str | None, typer.Option(help="normal or allow.")] = None,
    distance: Annotated[int | None, typer.Option(help=_DISTANCE_HELP)] = None,
    threshold: Annotated[list[str] | None, typer.Option(help=_THRESHOLD_HELP)] = None,
    enabled: Annotated[
        bool | None, typer.Option("--enabled/--disabled", help="Match with this bank or not.")
    ] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
) -> None:
    """Change a bank's thresholds, kind, description or enabled flag."""
    bank = bank_service(settings_of(ctx)).update_bank(
        name,
        thresholds=_thresholds(distance, threshold),
        kind=kind,
        enabled=enabled,
        description=description,
        actor=cli_actor(),
    )
    emit(bank.to_dict())


@bank_app.command("import")
def bank_import(
    ctx: typer.Context,
    name: str,
    file: Annotated[Path, typer.Argument(help=f"Hash-list file ({', '.join(FORMATS)}).")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="File format; default: from its extension or content."),
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option(help="Import the valid lines and write the rejects to a file.")
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option(help="Where --skip-invalid writes rejected lines.")
    ] = None,
) -> None:
    """Import a hash list into a bank: all or nothing unless --skip-invalid."""
    if not file.is_file():
        raise InvalidInput(f"{file}: no such file")
    data = file.read_bytes()
    service = bank_service(settings_of(ctx))
    try:
        result = service.import_data(
            name,
            data,
            fmt=fmt,
            filename=file.name,
            skip_invalid=skip_invalid,
            actor=cli_actor(),
        )
    except ImportFormatError as exc:
        for reject in exc.rejects[:20]:
            err.print(f"line {reject.line}: {reject.reason}", markup=False, highlight=False)
        if len(exc.rejects) > 20:
            err.print(f"... and {len(exc.rejects) - 20} more rejected lines", markup=False)
        if exc.rejects:
            err.print("nothing was imported; fix the file or use --skip-invalid", markup=False)
        raise
    reject_path = None
    if result.rejects:
        reject_path = rejects or file.with_name(file.name + ".rejects.jsonl")
        with reject_path.open("w", encoding="utf-8") as fh:
            for r in result.rejects:
                fh.write(json.dumps({"line": r.line, "text": r.text, "reason": r.reason}) + "\n")
        err.print(f"{len(result.rejects)} lines rejected, listed in {reject_path}", markup=False)
    emit(
        {
            "bank": name,
            "added": result.added,
            "duplicates": result.duplicates,
            "removed": result.removed,
            "rejected": len(result.rejects),
            "rejects_file": str(reject_path) if reject_path else None,
        }
    )


@bank_app.command("export")
def bank_export(
    ctx: typer.Context,
    name: str,
    fmt: Annotated[str, typer.Option("--format", help="hma, csv, stopncii or ncmec.")] = "hma",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write; default stdout.")
    ] = None,
) -> None:
    """Export a bank's entries in a hash-list format."""
    data = bank_service(settings_of(ctx)).export_data(name, fmt)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    tmp = output.with_name(output.name + ".partial")
    tmp.write_bytes(data)
    tmp.replace(output)
    err.print(f"wrote {output}", markup=False)


@bank_app.command("delete")
def bank_delete(
    ctx: typer.Context,
    name: str,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a bank and all its entries."""
    service = bank_service(settings_of(ctx))
    service.get_bank(name)
    if not yes and not typer.confirm(f"Delete bank {name!r} and all its entries?", err=True):
        raise typer.Exit(1)
    service.delete_bank(name, actor=cli_actor())
    emit({"bank": name, "deleted": True})


@bank_app.command("add")
def bank_add(
    ctx: typer.Context,
    name: str,
    files: Annotated[list[Path], typer.Argument(help="Images and videos to hash and add.")],
    note: Annotated[
        str | None, typer.Option(help="Each entry's note (default: the file's name).")
    ] = None,
    seconds_per_hash: Annotated[
        float, typer.Option(help="Videos: one frame hash per this many seconds (0: all).")
    ] = 1.0,
    crop_borders: Annotated[
        bool, typer.Option(help="Videos: remove black bars (letterbox) before hashing.")
    ] = False,
) -> None:
    """Hash images and videos and add their signals (every type computed from the media)."""
    from safespace.banks.formats import HashRecord
    from safespace.cli._common import decode_limits
    from safespace.errors import SafeSpaceError
    from safespace.signals import SIGNAL_TYPES, hash_file
    from safespace.signals._video_query import video_query

    settings = settings_of(ctx)
    service = bank_service(settings)
    service.get_bank(name)  # fail before hashing anything
    limits = decode_limits(settings)
    failed = 0
    for path in files:
        row: dict[str, object] = {"path": str(path)}
        try:
            signals = video_query(
                path, hash_file(path, limits=limits),
                seconds_per_hash=seconds_per_hash, crop_borders=crop_borders,
            )  # fmt: skip
            records, skipped = [], []
            for kind in SIGNAL_TYPES.values():
                if not kind.media or (value := kind.compute(signals)) is None:
                    continue
                quality = kind.quality(signals)
                if quality is not None and quality < 50:  # too flat to match: not banked
                    skipped.append(kind.name)
                    continue
                records.append(HashRecord(kind.name, value, note=note or path.name))
            result = service.add_entries(name, records, actor=cli_actor())
            row |= {"added": result.added, "duplicates": result.duplicates}
            row["signal_types"] = [r.signal_type for r in records]
            if skipped:
                row["low_quality"] = skipped
        except (SafeSpaceError, OSError) as exc:
            failed += 1
            row["error"] = str(exc)
        emit(row)
    if failed:
        raise typer.Exit(1)
