"""``safespace scan``: a folder, resumable, on every core; JSON lines then a summary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from safespace.cli._common import (
    EngineOption,
    ProgressOption,
    RestartOption,
    SchedulerOption,
    StateOption,
    WorkersOption,
    decode_limits,
    emit,
    engine_name,
    err,
    match_rows,
    matcher,
    open_db,
    progress_bar,
    settings_of,
)
from safespace.config import Settings
from safespace.errors import InvalidInput

if TYPE_CHECKING:
    from safespace._scan import FileOutcome
    from safespace.signals import Signals

__all__ = ["scan", "scan_folder", "scan_text"]


def scan(
    ctx: typer.Context,
    directory: Annotated[
        str,
        typer.Argument(
            help="Folder to scan recursively, or an fsspec URL (s3://bucket/uploads; the "
            "cluster extra)."
        ),
    ],
    bank: Annotated[
        list[str] | None, typer.Option("--bank", help="Bank to match against (repeatable).")
    ] = None,
    workers: WorkersOption = None,
    state: StateOption = None,
    restart: RestartOption = False,
    dihedral: Annotated[bool, typer.Option(help="Also match rotated and flipped copies.")] = False,
    exact: Annotated[bool, typer.Option(help="Hash at full resolution.")] = False,
    progress: ProgressOption = True,
    engine: EngineOption = "local",
    scheduler: SchedulerOption = None,
    text: Annotated[
        bool,
        typer.Option(
            "--text",
            help="Treat the argument as UTF-8 text: a file, or a folder of files, one post per "
            "line; JSON lines of listed links and keywords with file, line and span.",
        ),
    ] = False,
) -> None:
    """Scan a folder: JSON lines of every match, then a summary line. Resumable."""
    if text:
        scan_text(settings_of(ctx), Path(directory), banks=list(bank) if bank else None)
        return
    scan_folder(
        settings_of(ctx),
        directory,
        banks=list(bank) if bank else None,
        workers=workers,
        state=state,
        restart=restart,
        dihedral=dihedral,
        exact=exact,
        progress=progress,
        engine=engine_name(engine, scheduler),
        scheduler=scheduler,
    )


def scan_folder(
    settings: Settings,
    directory: Path | str,
    *,
    banks: list[str] | None = None,
    workers: int | None = None,
    state: Path | None = None,
    restart: bool = False,
    dihedral: bool = False,
    exact: bool = False,
    progress: bool = True,
    engine: str = "local",
    scheduler: str | None = None,
) -> None:
    """What ``scan`` does, for ``demo`` too."""
    from safespace import _scan as scanning
    from safespace import batch
    from safespace.banks import BankService

    on_engine = engine != "local" or scheduler is not None or batch.is_url(str(directory))
    root = str(directory) if batch.is_url(str(directory)) else str(Path(directory))
    directory = Path(directory) if not batch.is_url(root) else Path(".")
    if not batch.is_url(root) and not directory.is_dir():
        raise InvalidInput(f"{directory}: not a folder")
    db = open_db(settings)  # one handle: the matcher's, also used to check the bank names
    found_in = matcher(db, settings)
    if banks:
        service = BankService(db)
        for name in banks:
            service.get_bank(name)
    state_path = state or (
        batch.default_state_path(settings.data_dir, root, banks or [])
        if batch.is_url(root)
        else scanning.default_state_path(settings.data_dir, directory, banks or [])
    )
    if restart and state_path.exists():
        state_path.unlink()

    def match_signals(signals: Signals) -> list[dict[str, Any]]:
        return match_rows(found_in.match(signals, dihedral=dihedral, banks=banks))

    bar = progress_bar("scanning", enabled=progress)
    task = bar.add_task("scan", total=None)

    def on_outcome(outcome: FileOutcome, resumed: bool) -> None:
        bar.advance(task)
        if not resumed:
            for m in outcome.matches:
                emit({"path": outcome.path, **m})

    with bar:
        try:
            if on_engine:
                run = batch.open_engine(engine, scheduler=scheduler, workers=workers)
                try:
                    summary = batch.run_scan(
                        root,
                        match_signals,
                        engine=run,
                        state_path=state_path,
                        exact=exact,
                        limits=decode_limits(settings),
                        on_outcome=on_outcome,
                        on_total=lambda n: bar.update(task, total=n),
                    )
                finally:
                    run.close()
            else:
                summary = scanning.scan(
                    directory,
                    match_signals,
                    state_path=state_path,
                    workers=workers,
                    exact=exact,
                    limits=decode_limits(settings),
                    on_outcome=on_outcome,
                    on_total=lambda n: bar.update(task, total=n),
                )
        except KeyboardInterrupt:
            err.print(f"interrupted: run the same command again to resume ({state_path})")
            raise typer.Exit(130) from None
    emit({"summary": summary.to_json()})
    err.print(
        f"{summary.files} files, {summary.matched_files} matched, {summary.errors} errors"
        + (f" ({summary.resumed} from an earlier run)" if summary.resumed else ""),
        markup=False,
    )


def _text_files(root: Path) -> list[Path]:
    if root.is_dir():
        return sorted(p for p in root.rglob("*") if p.is_file())
    if not root.is_file():
        raise InvalidInput(f"cannot read {root}: no such file or folder")
    return [root]


def _posts(path: Path) -> list[str]:
    """A text file's lines; a file that is not UTF-8 text (NUL bytes, bad encoding) is refused."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    if b"\x00" in raw[:65536]:
        raise InvalidInput(f"{path} is not a text file (it holds NUL bytes): --text reads UTF-8")
    try:
        return raw.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{path} is not UTF-8 text (byte {exc.start}): --text reads UTF-8"
        ) from None


def scan_text(settings: Settings, root: Path, *, banks: list[str] | None = None) -> int:
    """``scan --text``: every line of every file is one post, matched for listed links and
    keywords. One JSON line per match (``file``, ``line`` from 1, ``signal_type``, the listed
    ``value``, ``start``/``end`` in that line), then a summary on stderr; never the text.
    Every file is checked before any is matched, so bad input prints nothing but its error."""
    from safespace.cli._common import text_match_rows

    files = [(path, _posts(path)) for path in _text_files(root)]
    found_in = matcher(open_db(settings), settings)
    found = lines = 0
    for path, posts in files:
        for number, post in enumerate(posts, 1):
            if not post.strip():
                continue
            lines += 1
            for row in text_match_rows(found_in.match_text(post, banks=banks)):
                emit({"file": str(path), "line": number, **row})
                found += 1
    err.print(f"{found} matches in {lines} posts, {len(files)} files", markup=False)
    return found
