"""What every command shares: the settings, output helpers, typed service factories and the
one place where SafeSpace's errors become a one-line message and an exit code (:func:`run`).

The factories import their services when called, so ``safespace --help`` stays quick; the
names below ``TYPE_CHECKING`` are for the annotations only.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from typer.exceptions import TyperException

from safespace.config import Settings
from safespace.errors import ConfigError, InvalidInput, SafeSpaceError

if TYPE_CHECKING:
    from safespace.access import KeyService
    from safespace.accounts import UserService
    from safespace.banks import BankService, Matcher
    from safespace.banks._match_results import MatchResult
    from safespace.banks._text_match import TextMatchResult
    from safespace.deter._events import DeterEvents
    from safespace.reports import EvidenceStore
    from safespace.signals import DecodeLimits
    from safespace.store import Database

err = Console(stderr=True, soft_wrap=True)

# Who the audit log names for changes made from the command line: whoever runs it holds the
# database and the keys, so it acts as an admin.
CLI_ACTOR = "cli"
CLI_ROLE = "admin"


@dataclass(frozen=True)
class CliState:
    """What the root callback puts on the Typer context for every command."""

    settings: Settings


# Options that ``scan`` and ``backfill`` share: one definition, so they stay the same.
WorkersOption = Annotated[
    int | None, typer.Option("--workers", help="Hashing processes (default: cores).")
]
StateOption = Annotated[
    Path | None, typer.Option("--state", help="Resume file (default: in the data folder).")
]
RestartOption = Annotated[
    bool, typer.Option("--restart", help="Forget earlier progress and start over.")
]
ProgressOption = Annotated[
    bool, typer.Option("--progress/--no-progress", help="Show a progress bar on stderr.")
]
EngineOption = Annotated[
    str, typer.Option("--engine", help="Where hashing runs: local (a process pool) or dask.")
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Dask scheduler address (tcp://HOST:8786); implies --engine dask. Without it, "
        "--engine dask starts a local cluster of --workers processes.",
    ),
]


def engine_name(engine: str, scheduler: str | None) -> str:
    """A scheduler address alone means Dask."""
    return "dask" if scheduler and engine == "local" else engine


def progress_bar(label: str, *, enabled: bool) -> Progress:
    """The batch commands' bar on stderr: done of total and time left, gone when finished."""
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not enabled,
        transient=True,
    )


def load_settings(data_dir: Path | None, database_url: str | None) -> Settings:
    """Settings from SAFESPACE_* variables and the root options; a bad value is one line."""
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if database_url is not None:
        overrides["database_url"] = database_url
    try:
        return Settings(**overrides)
    except ValidationError as exc:  # a bad SAFESPACE_* variable or option
        problems = "; ".join(
            f"SAFESPACE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"bad setting: {problems}") from None


def settings_of(ctx: typer.Context) -> Settings:
    """The settings the root callback made for this run."""
    state = ctx.find_root().obj
    assert isinstance(state, CliState)
    return state.settings


def emit(obj: dict[str, Any]) -> None:
    """One JSON line on standard output."""
    sys.stdout.write(json.dumps(obj, default=str, sort_keys=False) + "\n")
    sys.stdout.flush()


def emit_secret(secret: str, notice: str) -> None:
    """A new key or password alone on the last line of stdout, so scripts can take it."""
    sys.stdout.write(secret + "\n")
    sys.stdout.flush()
    err.print(notice, markup=False)


def password_from_stdin() -> str:
    """The first line of standard input, without its line ending."""
    line = sys.stdin.readline()
    if not line:
        raise InvalidInput("--password-stdin: nothing on standard input")
    return line.rstrip("\r\n")


def parse_looks(looks: str | None) -> list[float]:
    """``--looks 0.25,0.5``: the information fractions of earlier interim looks."""
    earlier: list[float] = []
    for part in (looks or "").split(","):
        if part.strip():
            try:
                earlier.append(float(part))
            except ValueError:
                raise InvalidInput(f"--looks: {part.strip()!r} is not a number") from None
    return earlier


def match_rows(result: MatchResult, **context: Any) -> list[dict[str, Any]]:
    """A match result as JSON rows: matches, then the ones an allow bank suppressed."""
    rows: list[dict[str, Any]] = []
    for match in result.matches:
        rows.append({**context, **match.to_dict()})
    for suppressed in result.suppressed:
        rows.append({**context, **suppressed.to_dict(), "suppressed": True})
    return rows


def text_match_rows(result: TextMatchResult, **context: Any) -> list[dict[str, Any]]:
    """Text matches as JSON rows (entry, listed value, span), then the suppressed ones."""
    rows = [{**context, **t.to_dict()} for t in result.matches]
    rows += [{**context, **t.to_dict(), "suppressed": True} for t in result.suppressed]
    return rows


def cli_actor() -> str:
    """Who the audit log names for a change made here: ``cli:`` and the OS user."""
    from safespace.reports._audit import cli_actor as actor

    return actor()


# --- typed service factories -----------------------------------------------------------------


def decode_limits(settings: Settings) -> DecodeLimits:
    from safespace.signals import DecodeLimits

    return DecodeLimits.from_settings(settings)


def open_db(settings: Settings) -> Database:
    """The configured database, migrated; the SQLite default's folder is created first, 0700."""
    from safespace.store import open_database

    if settings.database_url is None:
        settings.make_data_dir()
    return open_database(settings.resolved_database_url(), pool_size=settings.database_pool_size)


def bank_service(settings: Settings) -> BankService:
    from safespace.banks import BankService

    return BankService(open_db(settings))


def matcher(db: Database, settings: Settings) -> Matcher:
    from safespace.banks import Matcher

    return Matcher.from_database(db, min_quality=settings.min_pdq_quality)


def key_service(settings: Settings) -> KeyService:
    from safespace.access import KeyService

    return KeyService(open_db(settings))


def user_service(settings: Settings) -> UserService:
    from safespace.accounts import UserService

    return UserService(open_db(settings))


def evidence_store(settings: Settings) -> EvidenceStore:
    """The evidence store; a ConfigError when SAFESPACE_EVIDENCE_KEY is missing or weak."""
    from safespace.reports import EvidenceStore

    return EvidenceStore.from_settings(open_db(settings), settings)


def deter_events(settings: Settings) -> DeterEvents:
    from safespace.deter._events import DeterEvents

    return DeterEvents(open_db(settings))


# --- errors ----------------------------------------------------------------------------------


def run(app: typer.Typer) -> None:
    """Run ``app`` and exit: every deliberate error becomes one ``error: ...`` line on
    standard error and the error's exit code (see :mod:`safespace.errors`)."""
    try:
        rc = app(standalone_mode=False)
    except SafeSpaceError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted", markup=False)
        sys.exit(1)
    except TyperException as exc:  # usage errors (bad option values) carry their exit codes
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"error: {exc.format_message()}", markup=False, highlight=False)
        sys.exit(exc.exit_code)
    sys.exit(rc if isinstance(rc, int) else 0)
