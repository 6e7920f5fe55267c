"""``safespace keys ...``: issue, list and revoke API keys for the HTTP service."""

from __future__ import annotations

from typing import Annotated

import typer

from safespace.cli._common import emit, emit_secret, key_service, settings_of

__all__ = ["keys_app"]

keys_app = typer.Typer(
    help="Issue, list and revoke API keys for the HTTP service.", no_args_is_help=True
)


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    scopes: Annotated[
        str,
        typer.Option(help="Comma-separated: match, curate, contact, admin (admin implies all)."),
    ],
    name: Annotated[str, typer.Option(help="A label, e.g. the client that uses the key.")] = "",
) -> None:
    """Issue a key: a JSON line about it, then the key alone on the last line (shown once)."""
    info, key = key_service(settings_of(ctx)).create(scopes, name=name)
    emit(info.to_dict())
    emit_secret(key, "store the key now: only its hash is kept, it cannot be shown again")


@keys_app.command("list")
def keys_list(ctx: typer.Context) -> None:
    """List keys (never the keys themselves): JSON lines with id, name, prefix, scopes."""
    for info in key_service(settings_of(ctx)).list_keys():
        emit(info.to_dict())


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context, key_id: Annotated[int, typer.Argument(help="The key's id.")]
) -> None:
    """Revoke a key; running servers refuse it within a second."""
    emit(key_service(settings_of(ctx)).revoke(key_id).to_dict())
