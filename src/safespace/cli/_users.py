"""``safespace users ...``: console accounts."""

from __future__ import annotations

from typing import Annotated

import typer

from safespace.cli._common import emit, emit_secret, password_from_stdin, settings_of, user_service

__all__ = ["users_app"]

users_app = typer.Typer(
    help="Create, list, disable console accounts and reset their passwords.",
    no_args_is_help=True,
)

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
    password = password_from_stdin() if password_stdin else None
    info, generated = user_service(settings_of(ctx)).create(name, role, password)
    emit(info.to_dict())
    if generated is not None:
        emit_secret(generated, "store the password now: only its hash is kept")


@users_app.command("list")
def users_list(ctx: typer.Context) -> None:
    """List accounts (never passwords): JSON lines with name, role, active, last sign-in."""
    for info in user_service(settings_of(ctx)).list_users():
        emit(info.to_dict())


@users_app.command("disable")
def users_disable(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The account's name.")]
) -> None:
    """Disable an account and end its sessions at once."""
    emit(user_service(settings_of(ctx)).disable(name).to_dict())


@users_app.command("reset-password")
def users_reset_password(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The account's name.")],
    password_stdin: _PasswordStdin = False,
) -> None:
    """New password (generated unless read from stdin); ends sessions and lifts a lockout."""
    password = password_from_stdin() if password_stdin else None
    info, generated = user_service(settings_of(ctx)).reset_password(name, password)
    emit(info.to_dict())
    if generated is not None:
        emit_secret(generated, "store the password now: only its hash is kept")
