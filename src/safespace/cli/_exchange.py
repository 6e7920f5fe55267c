"""``safespace exchange ...``: bank sources (exchanges) that fill banks by themselves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from safespace.cli._common import emit, open_db, settings_of
from safespace.errors import InvalidInput

if TYPE_CHECKING:
    from safespace.config import Settings
    from safespace.exchanges import ExchangeService

__all__ = ["exchange_app"]

exchange_app = typer.Typer(
    help="Bank sources (exchanges): a peer SafeSpace, a list at a URL, NCMEC, StopNCII.",
    no_args_is_help=True,
)


def exchange_service(settings: Settings) -> ExchangeService:
    from safespace.exchanges import ExchangeService
    from safespace.reports._evidence import load_master_key

    key = load_master_key(settings.evidence_key) if settings.evidence_key else None
    return ExchangeService(open_db(settings), master_key=key)


def _read_secret(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    if not text:
        raise InvalidInput(f"{path} is empty")
    return text


@exchange_app.command("add")
def exchange_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The source's name (a-z, 0-9, '-', '_', '.').")],
    type_: Annotated[str, typer.Option("--type", help="safespace, list, ncmec or stopncii.")],
    bank: Annotated[str, typer.Option(help="The local bank the source fills (must exist).")],
    url: Annotated[
        str | None, typer.Option(help="The peer's base URL, or the list's URL or path.")
    ] = None,
    remote_bank: Annotated[
        str | None, typer.Option(help="safespace: the bank on the peer to follow.")
    ] = None,
    key_file: Annotated[
        Path | None, typer.Option(help="safespace: a file holding the peer's exchange key.")
    ] = None,
    config: Annotated[
        str | None, typer.Option(help="Other settings of the type, as a JSON object.")
    ] = None,
    credential: Annotated[
        list[str] | None,
        typer.Option(help="NAME=FILE: a credential read from FILE (repeatable)."),
    ] = None,
    interval: Annotated[int, typer.Option(help="Seconds between fetches.")] = 300,
    paused: Annotated[bool, typer.Option(help="Add it paused (no fetches until resumed).")] = False,
) -> None:
    """Add a source: one JSON line about it (never its credentials)."""
    settings: dict[str, Any] = json.loads(config) if config else {}
    if not isinstance(settings, dict):
        raise InvalidInput("--config must be a JSON object")
    if url is not None:
        settings["url"] = url
    if remote_bank is not None:
        settings["remote_bank"] = remote_bank
    credentials: dict[str, str] = {}
    if key_file is not None:
        credentials["api_key"] = _read_secret(key_file)
    for item in credential or []:
        cred_name, sep, path = item.partition("=")
        if not sep or not cred_name:
            raise InvalidInput(f"--credential {item!r}: use NAME=FILE")
        credentials[cred_name] = _read_secret(Path(path))
    info = exchange_service(settings_of(ctx)).add(
        name, type=type_, bank=bank, config=settings, credentials=credentials,
        interval_seconds=interval, paused=paused,
    )  # fmt: skip
    emit(info.to_dict())


@exchange_app.command("list")
def exchange_list(ctx: typer.Context) -> None:
    """One JSON line per source: status, last fetch, checkpoint, counts, last error, next run."""
    for info in exchange_service(settings_of(ctx)).list():
        emit(info.to_dict())


@exchange_app.command("fetch")
def exchange_fetch(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The source to fetch now.")],
    show: Annotated[int, typer.Option(help="Print at most this many added hashes.")] = 20,
) -> None:
    """Fetch a source once: a line per added hash (up to --show), then a summary line.

    Exits 1 when the fetch failed (the error is on the summary line and on the source)."""
    report = exchange_service(settings_of(ctx)).fetch_once(name, keep_values=show > 0)
    for signal_type, value in report.added_values[:show]:
        emit({"added": {"signal_type": signal_type, "value": value}})
    emit(report.to_dict())
    if not report.ok:
        raise typer.Exit(1)


@exchange_app.command("pause")
def exchange_pause(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The source.")]
) -> None:
    """Pause a source: no fetches until it is resumed."""
    emit(exchange_service(settings_of(ctx)).pause(name).to_dict())


@exchange_app.command("resume")
def exchange_resume(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The source.")]
) -> None:
    """Resume a paused source (due at once)."""
    emit(exchange_service(settings_of(ctx)).resume(name).to_dict())


@exchange_app.command("remove")
def exchange_remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The source.")],
    keep_entries: Annotated[
        bool, typer.Option(help="Keep the entries it put in the bank.")
    ] = False,
) -> None:
    """Remove a source and (unless --keep-entries) the entries it put in its bank."""
    removed = exchange_service(settings_of(ctx)).remove(name, keep_entries=keep_entries)
    emit({"removed": name, "entries_removed": removed})
