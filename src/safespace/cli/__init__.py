"""The ``safespace`` command: a thin shell over the library.

Each command parses its options, calls one piece of the library and prints JSON lines to
standard output (machine-readable) and human messages to standard error. Every deliberate
error becomes a one-line ``error: ...`` message and the error's exit code, in one place
(:func:`safespace.cli._common.run`, called by :func:`main`).

One module per command group: ``_hash``, ``_banks``, ``_match``, ``_scan``, ``_demo``,
``_serve``, ``_keys``, ``_users``, ``_audit``, ``_deter`` and ``_evidence``; ``_common``
holds the settings, the output helpers and the typed service factories they share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from safespace import __version__
from safespace.cli._audit import audit_app
from safespace.cli._backfill import backfill
from safespace.cli._banks import bank_app
from safespace.cli._common import CliState, load_settings, run
from safespace.cli._demo import demo
from safespace.cli._deter import deter_app
from safespace.cli._evidence import evidence_app
from safespace.cli._exchange import exchange_app
from safespace.cli._hash import hash_cmd
from safespace.cli._keys import keys_app
from safespace.cli._match import match
from safespace.cli._retro import content_app, retro_match
from safespace.cli._scan import scan
from safespace.cli._serve import serve
from safespace.cli._users import users_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="safespace",
    help="Detect known abuse imagery by hash: hash media, keep hash banks, match and scan.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(bank_app, name="bank")
app.add_typer(keys_app, name="keys")
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(exchange_app, name="exchange")


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
    ctx.obj = CliState(load_settings(data_dir, database_url))


@app.command()
def version() -> None:
    """Print SafeSpace's version."""
    typer.echo(__version__)


app.command("hash")(hash_cmd)
app.command()(match)
app.command()(scan)
app.command()(backfill)
app.command()(demo)
app.command()(serve)
app.add_typer(deter_app, name="deter")
app.add_typer(evidence_app, name="evidence")
app.add_typer(content_app, name="content")
app.command("retro-match")(retro_match)


def main() -> None:
    """Entry point: run the app, turning deliberate errors into one line and an exit code."""
    run(app)
