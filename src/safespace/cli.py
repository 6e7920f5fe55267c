"""The ``safespace`` command: a thin shell over the library.

Each command parses its options, calls one piece of the library and prints JSON lines to
standard output (machine-readable) and human messages to standard error. Every deliberate
error becomes a one-line ``error: ...`` message and the error's exit code, in one place
(:func:`main`).
"""

from __future__ import annotations

import contextlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from typer.exceptions import TyperException

from safespace import __version__
from safespace.config import Settings
from safespace.errors import ConfigError, InvalidInput, SafeSpaceError

__all__ = ["app", "main"]

app = typer.Typer(
    name="safespace",
    help="Detect known abuse imagery by hash: hash media, keep hash banks, match and scan.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bank_app = typer.Typer(
    help="Create, list, import, export and delete hash banks.", no_args_is_help=True
)
app.add_typer(bank_app, name="bank")
keys_app = typer.Typer(
    help="Issue, list and revoke API keys for the HTTP service.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")
users_app = typer.Typer(
    help="Create, list, disable console accounts and reset their passwords.",
    no_args_is_help=True,
)
app.add_typer(users_app, name="users")
audit_app = typer.Typer(help="Check the hash-chained audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")

err = Console(stderr=True, soft_wrap=True)


@dataclass
class _State:
    settings: Settings


def _settings(ctx: typer.Context) -> Settings:
    state = ctx.find_root().obj
    assert isinstance(state, _State)
    return state.settings


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, default=str, sort_keys=False) + "\n")
    sys.stdout.flush()


def _emit_secret(secret: str, notice: str) -> None:
    """A new key or password alone on the last line of stdout, so scripts can take it."""
    sys.stdout.write(secret + "\n")
    sys.stdout.flush()
    err.print(notice, markup=False)


@app.callback()
def _root(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data folder (default: SAFESPACE_DATA_DIR).")
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Database URL (default: SAFESPACE_DATABASE_URL or SQLite).")
    ] = None,
) -> None:
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if database_url is not None:
        overrides["database_url"] = database_url
    try:
        ctx.obj = _State(Settings(**overrides))
    except ValidationError as exc:  # a bad SAFESPACE_* variable or option
        problems = "; ".join(
            f"SAFESPACE_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"bad setting: {problems}") from None


def _limits(settings: Settings) -> Any:
    from safespace.signals import DecodeLimits

    return DecodeLimits.from_settings(settings)


def _database(settings: Settings) -> Any:
    """The configured database, migrated; the SQLite default's folder is created first."""
    from safespace.store import open_database

    if settings.database_url is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return open_database(settings.resolved_database_url(), pool_size=settings.database_pool_size)


def _service(settings: Settings) -> Any:
    from safespace.banks import BankService

    return BankService(_database(settings))


@app.command()
def version() -> None:
    """Print SafeSpace's version."""
    typer.echo(__version__)


@app.command("hash")
def hash_cmd(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Image or video files.", show_default=False)],
    exact: Annotated[
        bool, typer.Option(help="Decode at full resolution (bit-exact with the reference tool).")
    ] = False,
    dihedral: Annotated[
        bool, typer.Option(help="Also print the PDQ hashes of the 8 rotations and flips.")
    ] = False,
) -> None:
    """Hash files: one JSON object per line with path, pdq, pdq_quality, md5, sha256."""
    from safespace.signals import hash_file, pdq_dihedral_from_file

    settings = _settings(ctx)
    limits = _limits(settings)
    failed = 0
    for path in files:
        row: dict[str, Any] = {"path": str(path)}
        try:
            signals = hash_file(path, exact=exact, limits=limits)
            row.update(signals.as_dict())
            if signals.pdq is not None and dihedral:
                row["pdq_dihedral"] = pdq_dihedral_from_file(path, exact=exact, limits=limits)
        except SafeSpaceError as exc:
            failed += 1
            row.update(error=str(exc), error_code=exc.code)
        except OSError as exc:
            failed += 1
            row.update(error=f"cannot read file: {exc.strerror or exc}", error_code="io-error")
        _emit(row)
    if failed:
        err.print(f"{failed} of {len(files)} files could not be hashed")
        raise typer.Exit(1)


# --- banks -----------------------------------------------------------------------------


def _bank_json(bank: Any) -> dict[str, Any]:
    return bank.to_dict()  # type: ignore[no-any-return]


@bank_app.command("create")
def bank_create(
    ctx: typer.Context,
    name: str,
    kind: Annotated[
        str, typer.Option(help="normal, or allow (entries suppress matches).")
    ] = "normal",
    distance: Annotated[int, typer.Option(help="PDQ match distance for this bank.")] = 31,
    description: Annotated[
        str, typer.Option(help="What the list is and where it comes from.")
    ] = "",
) -> None:
    """Create an empty bank."""
    bank = _service(_settings(ctx)).create_bank(
        name, kind=kind, pdq_distance=distance, description=description
    )
    _emit(_bank_json(bank))


@bank_app.command("list")
def bank_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """List banks with their sizes."""
    banks = _service(_settings(ctx)).list_banks()
    if as_json or not sys.stdout.isatty():
        for bank in banks:
            _emit(_bank_json(bank))
        return
    table = Table("name", "kind", "distance", "enabled", "entries", "description")
    for bank in banks:
        d = _bank_json(bank)
        table.add_row(
            d["name"],
            d["kind"],
            str(d["pdq_distance"]),
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
    distance: Annotated[int | None, typer.Option(help="PDQ match distance.")] = None,
    enabled: Annotated[
        bool | None, typer.Option("--enabled/--disabled", help="Match with this bank or not.")
    ] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
) -> None:
    """Change a bank's distance, kind, description or enabled flag."""
    bank = _service(_settings(ctx)).update_bank(
        name, pdq_distance=distance, kind=kind, enabled=enabled, description=description
    )
    _emit(_bank_json(bank))


@bank_app.command("import")
def bank_import(
    ctx: typer.Context,
    name: str,
    file: Annotated[Path, typer.Argument(help="Hash-list file (hma, csv, stopncii, ncmec).")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="File format; default: detected.")
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option(help="Import the valid lines and write the rejects to a file.")
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option(help="Where --skip-invalid writes rejected lines.")
    ] = None,
) -> None:
    """Import a hash list into a bank: all or nothing unless --skip-invalid."""
    from safespace.errors import ImportFormatError

    if not file.is_file():
        raise InvalidInput(f"{file}: no such file")
    data = file.read_bytes()
    service = _service(_settings(ctx))
    try:
        result = service.import_data(
            name, data, fmt=fmt, filename=file.name, skip_invalid=skip_invalid
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
    _emit(
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
    data = _service(_settings(ctx)).export_data(name, fmt)
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
    service = _service(_settings(ctx))
    service.get_bank(name)
    if not yes and not typer.confirm(f"Delete bank {name!r} and all its entries?", err=True):
        raise typer.Exit(1)
    service.delete_bank(name)
    _emit({"bank": name, "deleted": True})


# --- matching --------------------------------------------------------------------------


def _matcher(settings: Settings) -> Any:
    from safespace.banks.matching import Matcher

    return Matcher.from_database(_database(settings), min_quality=settings.min_pdq_quality)


def _match_rows(result: Any, **context: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for match in result.matches:
        rows.append({**context, **match.to_dict()})
    for match in result.suppressed:
        rows.append({**context, **match.to_dict(), "suppressed": True})
    return rows


@app.command()
def match(
    ctx: typer.Context,
    files: Annotated[list[Path] | None, typer.Argument(help="Files to hash and match.")] = None,
    bank: Annotated[
        list[str] | None, typer.Option("--bank", help="Bank to match against (repeatable).")
    ] = None,
    pdq: Annotated[str | None, typer.Option(help="A PDQ hash (64 hex digits).")] = None,
    md5: Annotated[str | None, typer.Option(help="An MD5 (32 hex digits).")] = None,
    sha256: Annotated[str | None, typer.Option(help="A SHA-256 (64 hex digits).")] = None,
    dihedral: Annotated[bool, typer.Option(help="Also match rotated and flipped copies.")] = False,
    exact: Annotated[bool, typer.Option(help="Hash files at full resolution.")] = False,
) -> None:
    """Match hashes or files against banks: JSON lines of matches."""
    from safespace.signals import hash_file

    given = [x for x in (pdq, md5, sha256) if x is not None]
    if bool(given) == bool(files):
        raise InvalidInput("give either files or one of --pdq, --md5, --sha256")
    settings = _settings(ctx)
    matcher = _matcher(settings)
    banks = list(bank) if bank else None
    found = 0
    if given:
        pairs = [(t, v) for t, v in (("pdq", pdq), ("md5", md5), ("sha256", sha256)) if v]
        result = matcher.match(pairs, dihedral=dihedral, banks=banks)
        for row in _match_rows(result, query=dict(pairs)):
            _emit(row)
            found += 1
    else:
        limits = _limits(settings)
        for path in files or []:
            try:
                signals = hash_file(path, exact=exact, limits=limits)
            except (SafeSpaceError, OSError) as exc:
                _emit({"path": str(path), "error": str(exc)})
                continue
            result = matcher.match(signals, dihedral=dihedral, banks=banks)
            for row in _match_rows(result, path=str(path)):
                _emit(row)
                found += 1
    err.print(f"{found} matches", markup=False)


@app.command()
def scan(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Folder to scan recursively.")],
    bank: Annotated[
        list[str] | None, typer.Option("--bank", help="Bank to match against (repeatable).")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Hashing processes (default: cores).")] = None,
    state: Annotated[
        Path | None, typer.Option(help="Resume file (default: in the data folder).")
    ] = None,
    restart: Annotated[bool, typer.Option(help="Forget earlier progress and start over.")] = False,
    dihedral: Annotated[bool, typer.Option(help="Also match rotated and flipped copies.")] = False,
    exact: Annotated[bool, typer.Option(help="Hash at full resolution.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar on stderr.")] = True,
) -> None:
    """Scan a folder: JSON lines of every match, then a summary line. Resumable."""
    from safespace import scan as scanning

    if not directory.is_dir():
        raise InvalidInput(f"{directory}: not a folder")
    from safespace.banks import BankService
    from safespace.banks.matching import Matcher

    settings = _settings(ctx)
    db = _database(settings)  # one handle: the matcher's, also used to check the bank names
    matcher = Matcher.from_database(db, min_quality=settings.min_pdq_quality)
    banks = list(bank) if bank else None
    if banks:
        service = BankService(db)
        for name in banks:
            service.get_bank(name)
    state_path = state or scanning.default_state_path(settings.data_dir, directory, banks or [])
    if restart and state_path.exists():
        state_path.unlink()

    def match_signals(signals: Any) -> list[dict[str, Any]]:
        return _match_rows(matcher.match(signals, dihedral=dihedral, banks=banks))

    bar = Progress(
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=not progress,
        transient=True,
    )
    task = bar.add_task("scan", total=None)

    def on_outcome(outcome: Any, resumed: bool) -> None:
        bar.advance(task)
        if not resumed:
            for m in outcome.matches:
                _emit({"path": outcome.path, **m})

    with bar:
        try:
            summary = scanning.scan(
                directory,
                match_signals,
                state_path=state_path,
                workers=workers,
                exact=exact,
                limits=_limits(settings),
                on_outcome=on_outcome,
                on_total=lambda n: bar.update(task, total=n),
            )
        except KeyboardInterrupt:
            err.print(f"interrupted: run the same command again to resume ({state_path})")
            raise typer.Exit(130) from None
    _emit({"summary": summary.to_json()})
    err.print(
        f"{summary.files} files, {summary.matched_files} matched, {summary.errors} errors"
        + (f" ({summary.resumed} from an earlier run)" if summary.resumed else ""),
        markup=False,
    )


@app.command()
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
    from safespace.banks.formats import HashRecord
    from safespace.demo import make_demo_set
    from safespace.errors import BankExists
    from safespace.signals import hash_file

    settings = _settings(ctx)
    demo_set = make_demo_set(settings.data_dir / "demo")
    service = _service(settings)
    with contextlib.suppress(BankExists):
        service.create_bank("demo", description="Generated benign pattern images (demo only)")
    limits = _limits(settings)
    records = []
    for path in demo_set.known:
        sig = hash_file(path, limits=limits)
        note = f"demo image {path.name}"
        records.append(HashRecord("pdq", sig.pdq or "", source="demo", category="A", note=note))
        records.append(HashRecord("md5", sig.md5, source="demo", category="A", note=note))
    service.add_entries("demo", records)
    err.print(f"demo bank ready: {len(records)} hashes from {demo_set.known_dir}", markup=False)
    ctx.invoke(
        scan,
        ctx=ctx,
        directory=demo_set.uploads_dir,
        bank=["demo"],
        workers=None,
        state=None,
        restart=True,
        dihedral=True,
        exact=False,
        progress=True,
    )
    if not serve_after:
        err.print(
            "\nNext: `safespace hash FILE`, `safespace match --bank demo FILE`, "
            "`safespace bank list`, `safespace --help`.",
            markup=False,
        )
        return
    password, key = _demo_credentials(settings)
    evidence_note = _demo_evidence(settings) + _demo_actions(settings)
    base = f"http://127.0.0.1:{port}"
    sample = demo_set.expected_matches[0]
    err.print(
        f"""
SafeSpace is starting at {base}
  Web console:  {base}/console   (sign in as "admin", password: {password})
  Self-report:  {base}/report
  API docs:     {base}/docs
  Demo API key (scopes match, curate): {key}
  Try:  curl -s -H "Authorization: Bearer {key}" -F file=@{sample} {base}/v1/match
{evidence_note}Stop with Ctrl-C. Everything lives in {settings.data_dir}.
""",
        markup=False,
        highlight=False,
    )
    ctx.invoke(serve, ctx=ctx, host="127.0.0.1", port=port, workers=1, access_log=False)


def _demo_evidence(settings: Settings) -> str:
    """Without SAFESPACE_EVIDENCE_KEY, the served demo uses a generated demo-only key (its
    workers read it from the environment); returns the line the banner prints about it."""
    import os

    from safespace.demo import demo_evidence_key

    if settings.evidence_key is not None:
        return ""
    key, path = demo_evidence_key(settings.data_dir / "demo")
    os.environ["SAFESPACE_EVIDENCE_KEY"] = key
    return (
        f"  Evidence key: generated for this demo only ({path}); set your own\n"
        "    SAFESPACE_EVIDENCE_KEY (openssl rand -base64 32) for anything real.\n"
    )


def _demo_actions(settings: Settings) -> str:
    """Referrals need reporter details and actions need a receiver: the served demo fills in
    placeholder reporter details (never outside the demo) and says where actions go."""
    import os

    lines = ""
    if not settings.reporter_email:
        os.environ["SAFESPACE_REPORTER_EMAIL"] = "trust-and-safety@demo.invalid"
        os.environ.setdefault("SAFESPACE_REPORTER_PLATFORM", "SafeSpace demo")
        lines += (
            "  Referrals: placeholder reporter details for this demo; set SAFESPACE_REPORTER_*\n"
            "    to your platform's before referring anything for real.\n"
        )
    url = settings.review_webhook_url.strip()
    if url:
        lines += f"  Actions after a confirmation: signed webhooks to {url}\n"
    else:
        lines += (
            "  Actions after a confirmation: none sent; set SAFESPACE_REVIEW_WEBHOOK_URL and\n"
            "    SAFESPACE_REVIEW_WEBHOOK_SECRET (32+ characters) to receive signed take-downs.\n"
        )
    return lines


def _demo_credentials(settings: Settings) -> tuple[str, str]:
    """A fresh password for the demo "admin" account and a new demo API key."""
    from safespace.accounts import UserService
    from safespace.errors import UserExists

    keys = _keys(settings)
    users = UserService(keys.db)
    try:
        _, password = users.create("admin", "admin")
    except UserExists:
        _, password = users.reset_password("admin")
    _, key = keys.create("match,curate", name="demo")
    assert password is not None
    return password, key


# --- HTTP service --------------------------------------------------------------------------


def _keys(settings: Settings) -> Any:
    from safespace.access import KeyService

    return KeyService(_database(settings))


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    scopes: Annotated[
        str, typer.Option(help="Comma-separated: match, curate, admin (admin implies all).")
    ],
    name: Annotated[str, typer.Option(help="A label, e.g. the client that uses the key.")] = "",
) -> None:
    """Issue a key: a JSON line about it, then the key alone on the last line (shown once)."""
    info, key = _keys(_settings(ctx)).create(scopes, name=name)
    _emit(info.to_dict())
    _emit_secret(key, "store the key now: only its hash is kept, it cannot be shown again")


@keys_app.command("list")
def keys_list(ctx: typer.Context) -> None:
    """List keys (never the keys themselves): JSON lines with id, name, prefix, scopes."""
    for info in _keys(_settings(ctx)).list_keys():
        _emit(info.to_dict())


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context, key_id: Annotated[int, typer.Argument(help="The key's id.")]
) -> None:
    """Revoke a key; running servers refuse it within a second."""
    _emit(_keys(_settings(ctx)).revoke(key_id).to_dict())


# --- console accounts -----------------------------------------------------------------------


def _users(settings: Settings) -> Any:
    from safespace.accounts import UserService

    return UserService(_database(settings))


def _password_from_stdin() -> str:
    """The first line of standard input, without its line ending."""
    line = sys.stdin.readline()
    if not line:
        raise InvalidInput("--password-stdin: nothing on standard input")
    return line.rstrip("\r\n")


_PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input instead of generating one.",
    ),
]


@users_app.command("create")
def users_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Sign-in name (case-insensitive).")],
    role: Annotated[str, typer.Option(help="reviewer, lead or admin.")],
    password_stdin: _PasswordStdin = False,
) -> None:
    """Create an account: a JSON line, then a generated password alone on the last line."""
    password = _password_from_stdin() if password_stdin else None
    info, generated = _users(_settings(ctx)).create(name, role, password)
    _emit(info.to_dict())
    if generated is not None:
        _emit_secret(generated, "store the password now: only its hash is kept")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """List accounts (never passwords): JSON lines with name, role, active, last sign-in."""
    for info in _users(_settings(ctx)).list_users():
        _emit(info.to_dict())


@users_app.command("disable")
def users_disable(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The account's name.")]
) -> None:
    """Disable an account and end its sessions at once."""
    _emit(_users(_settings(ctx)).disable(name).to_dict())


@users_app.command("reset-password")
def users_reset_password(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The account's name.")],
    password_stdin: _PasswordStdin = False,
) -> None:
    """New password (generated unless read from stdin); ends sessions and lifts a lockout."""
    password = _password_from_stdin() if password_stdin else None
    info, generated = _users(_settings(ctx)).reset_password(name, password)
    _emit(info.to_dict())
    if generated is not None:
        _emit_secret(generated, "store the password now: only its hash is kept")


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes, each with its own matcher.", min=1)
    ] = 1,
    access_log: Annotated[
        bool, typer.Option(help="Log each request with the client's address (off: privacy).")
    ] = False,
) -> None:
    """Run the HTTP API (docs at /docs) under uvicorn."""
    import copy
    import os

    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from safespace.serving import check_settings, run_workers

    settings = _settings(ctx)
    log_config = copy.deepcopy(LOGGING_CONFIG)  # uvicorn's, plus SafeSpace's own messages
    log_config["loggers"]["safespace"] = {"handlers": ["default"], "level": "INFO"}
    # Workers build their own app from the environment: pass --data-dir/--database-url on.
    os.environ["SAFESPACE_DATA_DIR"] = str(settings.data_dir)
    # One search thread per worker unless told otherwise: the worker processes already use
    # every core, and numba's parallel kernels in each of them fight for the same cores.
    os.environ.setdefault("NUMBA_NUM_THREADS", str(settings.index_threads))
    if settings.database_url is not None:
        os.environ["SAFESPACE_DATABASE_URL"] = settings.database_url
    _keys(settings).db.close()  # migrate once; an unusable database fails here, in one line
    check_settings(settings)  # and unusable keys or webhook settings, before any worker
    options: dict[str, Any] = {
        "access_log": access_log,
        "log_config": log_config,
        "proxy_headers": False,
        "server_header": False,
    }
    if workers > 1:
        # One listening socket per worker, so connections spread over every core.
        raise typer.Exit(run_workers(host, port, workers, options))
    uvicorn.run("safespace.api:create_app_from_env", factory=True, host=host, port=port, **options)


# --- deter: warnings and help at search and upload ------------------------------------------

deter_app = typer.Typer(
    help="Warnings and help at search and upload: check texts, validate data, analyse trials.",
    no_args_is_help=True,
)
app.add_typer(deter_app, name="deter")

_DeterDir = Annotated[
    Path | None,
    typer.Option("--config-dir", help="The operator's Deter folder (default: packaged data)."),
]


@deter_app.command("check")
def deter_check(
    text: Annotated[str, typer.Argument(help="The text typed: a search, message or URL.")],
    context: Annotated[str, typer.Option(help="search, message, url or upload.")] = "search",
    locale: Annotated[str, typer.Option(help="The person's language, e.g. en or pt-BR.")] = "en",
    country: Annotated[
        str | None, typer.Option(help="Two-letter country code for help services.")
    ] = None,
    session: Annotated[str, typer.Option(help="Session pseudonym (picks the arm).")] = "cli",
    upload_matched: Annotated[
        bool, typer.Option("--upload-matched", help="The upload matched a hash bank.")
    ] = False,
    config_dir: _DeterDir = None,
) -> None:
    """Decide for one text as the service would: one JSON line (arms drawn with a random key)."""
    import secrets

    from safespace.deter import DecisionRequest, Deterrer, load_data

    deterrer = Deterrer(load_data(config_dir), secrets.token_bytes(32))
    request = DecisionRequest(
        context, text, session, locale, country, upload_matched=upload_matched
    )
    _emit(deterrer.decide(request).to_dict())


@deter_app.command("validate")
def deter_validate(config_dir: _DeterDir = None) -> None:
    """Load and check every Deter data file: a JSON summary, warnings on stderr."""
    from safespace.deter import load_data

    data = load_data(config_dir)
    for warning in data.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)
    _emit(
        {
            "ok": True,
            "term_lists": [tl.id for tl in data.term_lists],
            "terms": data.detector.terms.size,
            "variants": sorted(data.messages.variants),
            "locales": data.catalogs.locales,
            "help_resources": len(data.help.resources),
            "chatbot_nodes": len(data.chatbot.nodes),
            "experiments": [e.id for e in data.experiments.experiments if e.enabled],
            "warnings": len(data.warnings),
        }
    )


@deter_app.command("analyze")
def deter_analyze(
    counts: Annotated[Path, typer.Argument(help="CSV with the header arm,shown,outcome.")],
    control: Annotated[str, typer.Option(help="The control arm's name.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per arm.")] = False,
    alpha: Annotated[float, typer.Option(help="Two-sided significance level.")] = 0.05,
    planned: Annotated[
        int | None, typer.Option(help="Pre-registered sample size per arm (power calculation).")
    ] = None,
    looks: Annotated[
        str | None,
        typer.Option(help="Information fractions of earlier interim looks, e.g. 0.25,0.5."),
    ] = None,
) -> None:
    """Rates, odds ratios against the control and Fisher p-values for each arm."""
    from safespace.deter.analysis import analyze, parse_counts_csv

    if not counts.is_file():
        raise InvalidInput(f"{counts}: no such file")
    try:
        text = counts.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{counts}: cannot read: {exc}") from None
    earlier: list[float] = []
    for part in (looks or "").split(","):
        if part.strip():
            try:
                earlier.append(float(part))
            except ValueError:
                raise InvalidInput(f"--looks: {part.strip()!r} is not a number") from None
    result = analyze(
        parse_counts_csv(text, str(counts)),
        control,
        alpha=alpha,
        planned_per_arm=planned,
        earlier_looks=earlier,
    )
    if as_json:
        for row in result.arms:
            _emit(row.to_dict())
        err.print(result.note, markup=False, highlight=False)
        return
    table = Table("arm", "shown", "outcome", "rate (95% CI)", "odds ratio (95% CI)", "p", "verdict")
    for r in result.arms:
        odds = (
            ""
            if r.odds_ratio is None
            else f"{r.odds_ratio:.2f} ({r.or_ci_low:.2f}-{r.or_ci_high:.2f})"
        )
        if r.haldane_corrected:
            odds += " *"
        table.add_row(
            r.arm,
            str(r.shown),
            str(r.outcome),
            f"{r.rate:.1%} ({r.rate_ci_low:.1%}-{r.rate_ci_high:.1%})",
            odds,
            "" if r.p_value is None else f"{r.p_value:.3g}",
            r.verdict,
        )
    Console(width=None if sys.stdout.isatty() else 140).print(table)
    if any(r.haldane_corrected for r in result.arms):
        typer.echo("* a zero cell: 0.5 added to every cell (Haldane-Anscombe)")
    typer.echo(result.note)


def _deter_events(settings: Settings) -> Any:
    from safespace.deter.events import DeterEvents

    return DeterEvents(_database(settings))


@deter_app.command("report")
def deter_report(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Argument(help="The experiment's id in experiments.yaml.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the HTML and CSV files.")] = Path(
        "."
    ),
    outcome: Annotated[str, typer.Option(help="The primary outcome.")] = "clicked_help",
    planned: Annotated[
        int | None, typer.Option(help="People per arm (default: the experiment's plan).")
    ] = None,
    looks: Annotated[
        str | None,
        typer.Option(help="Information fractions of earlier interim looks, e.g. 0.25,0.5."),
    ] = None,
    config_dir: _DeterDir = None,
) -> None:
    """Analyse an experiment from stored events: EXPERIMENT.html (plots) and EXPERIMENT.csv."""
    from safespace.deter import load_data
    from safespace.deter.report import build_report, render_csv, render_html
    from safespace.errors import NotFound

    settings = _settings(ctx)
    data = load_data(config_dir or settings.deter_dir)
    found = [e for e in data.experiments.experiments if e.id == experiment]
    if not found:
        raise NotFound(f"no experiment {experiment!r} in the Deter data")
    earlier: list[float] = []
    for part in (looks or "").split(","):
        if part.strip():
            try:
                earlier.append(float(part))
            except ValueError:
                raise InvalidInput(f"--looks: {part.strip()!r} is not a number") from None
    events = _deter_events(settings)
    try:
        report = build_report(
            events, found[0], outcome=outcome, planned_per_arm=planned, earlier_looks=earlier
        )
    finally:
        events.db.close()
    try:
        out.mkdir(parents=True, exist_ok=True)
        html_path, csv_path = out / f"{experiment}.html", out / f"{experiment}.csv"
        html_path.write_text(render_html(report), encoding="utf-8")
        csv_path.write_text(render_csv(report), encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"{out}: cannot write the report: {exc.strerror or exc}") from None
    shown = sum(report.counts[a]["shown"] for a in report.arms)
    _emit({"experiment": experiment, "html": str(html_path), "csv": str(csv_path), "shown": shown})


@deter_app.command("purge")
def deter_purge(ctx: typer.Context) -> None:
    """Delete Deter events older than SAFESPACE_DETER_RETENTION_DAYS (the server does hourly)."""
    settings = _settings(ctx)
    events = _deter_events(settings)
    try:
        deleted = events.purge(settings.deter_retention_days)
    finally:
        events.db.close()
    _emit({"deleted": deleted, "retention_days": settings.deter_retention_days})


# --- audit log -----------------------------------------------------------------------------


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
    from safespace.errors import IntegrityFailure
    from safespace.reports import audit

    expected: tuple[int, str] | None = None
    if anchor is not None:
        seq, _, digest = anchor.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise InvalidInput("--anchor must be SEQ:HASH (a record number and 64 hex digits)")
        expected = (int(seq), digest.lower())
    db = _database(_settings(ctx))
    try:
        with db.session() as s:
            result = audit.verify(s, anchor=expected)
    finally:
        db.close()
    if as_json or not sys.stdout.isatty():
        _emit(result.to_dict())
    elif result.ok:
        typer.echo(f"audit log intact: {result.count} records, head {result.head_hash}")
    if not result.ok:
        raise IntegrityFailure(f"audit chain broken at seq {result.first_bad_seq}: {result.reason}")


def main() -> None:
    """Entry point: run the app, turning deliberate errors into one line and an exit code."""
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


# --- evidence: encrypted, kept for the retention period ------------------------------------

evidence_app = typer.Typer(
    help="Encrypted evidence: list it, set or clear legal holds, purge expired items, "
    "rotate the master key.",
    no_args_is_help=True,
)
app.add_typer(evidence_app, name="evidence")

_CLI_ACTOR = "cli"
_CLI_ROLE = "admin"  # whoever runs the CLI holds the database and the key
_HoldReason = Annotated[str, typer.Option(help="Why (required; kept in the audit log).")]


def _evidence_store(settings: Settings) -> Any:
    from safespace.reports import EvidenceStore

    return EvidenceStore.from_settings(_database(settings), settings)


@evidence_app.command("list")
def evidence_list(
    ctx: typer.Context,
    case: Annotated[
        str | None, typer.Option(help="Only this case, e.g. review-12 (default: all).")
    ] = None,
) -> None:
    """JSON lines of evidence metadata, oldest first (never content; no key needed)."""
    from safespace.reports.evidence import list_items

    db = _database(_settings(ctx))
    try:
        for info in list_items(db, case, limit=1_000_000):
            _emit(info.to_dict())
    finally:
        db.close()


def _evidence_hold_command(name: str, *, on: bool, doc: str) -> None:
    """``evidence hold`` and ``evidence release`` take the same arguments; only the change
    differs."""

    def command(
        ctx: typer.Context,
        item_id: Annotated[str, typer.Argument(help="The evidence item's id.")],
        reason: _HoldReason,
    ) -> None:
        store = _evidence_store(_settings(ctx))
        try:
            change = store.set_hold if on else store.clear_hold
            _emit(change(item_id, _CLI_ACTOR, _CLI_ROLE, reason).to_dict())
        finally:
            store.db.close()

    command.__name__ = command.__qualname__ = f"evidence_{name}"
    command.__doc__ = doc
    evidence_app.command(name)(command)


_evidence_hold_command(
    "hold",
    on=True,
    doc="Put an item on legal hold: it is kept past its retention date until released.",
)
_evidence_hold_command(
    "release",
    on=False,
    doc="Clear a legal hold; an item past its retention date goes at the next purge.",
)


@evidence_app.command("purge")
def evidence_purge(ctx: typer.Context) -> None:
    """Destroy evidence past its retention date and not on hold (the server does hourly)."""
    store = _evidence_store(_settings(ctx))
    try:
        purged = store.purge_expired(actor=_CLI_ACTOR)
    finally:
        store.db.close()
    _emit({"purged": len(purged), "ids": purged})


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
    """Re-wrap every evidence, reviewer-media and webhook-secret key from the old master key
    to the current SAFESPACE_EVIDENCE_KEY (data stays as it is; safe to run again)."""
    from safespace.reports import WebhookService
    from safespace.reports.evidence import key_id, load_master_key
    from safespace.reports.sealing import rewrap_media

    if not old_key_stdin:
        raise InvalidInput("rewrap needs the old key: pipe it in with --old-key-stdin")
    settings = _settings(ctx)
    old = load_master_key(_password_from_stdin())
    new = load_master_key(settings.evidence_key)
    if old == new:
        raise InvalidInput("the old key is the current SAFESPACE_EVIDENCE_KEY: nothing to do")
    store = _evidence_store(settings)
    try:
        items = store.rewrap_all(old, new, actor=_CLI_ACTOR)
        media = rewrap_media(store.db, old, new)
        hooks = WebhookService.from_settings(store.db, settings).rewrap(old)
    finally:
        store.db.close()
    _emit(
        {
            "evidence": items,
            "review_media": media,
            "webhook_secrets": hooks,
            "old_key_id": key_id(old),
        }
    )
    err.print(f"re-wrapped under key {key_id(new)}", markup=False)
