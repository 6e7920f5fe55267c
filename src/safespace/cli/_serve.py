"""``safespace serve``: the HTTP API and console under uvicorn, in worker processes."""

from __future__ import annotations

import copy
from typing import Annotated, Any

import typer

from safespace.cli._common import key_service, settings_of
from safespace.config import Settings

__all__ = ["serve", "serve_with"]


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
    serve_with(settings_of(ctx), host=host, port=port, workers=workers, access_log=access_log)


def serve_with(
    settings: Settings,
    *,
    host: str,
    port: int,
    workers: int,
    access_log: bool,
    extra_routers: tuple[str, ...] = (),
) -> None:
    """Serve with exactly these settings: the workers are given them, never the variables of
    this process (so ``--data-dir`` and the demo's settings reach every worker as they are).
    ``extra_routers`` ("module:attribute") are served too: only the demo names one."""
    from uvicorn.config import LOGGING_CONFIG

    from safespace._serving import check_settings, run_workers

    log_config = copy.deepcopy(LOGGING_CONFIG)  # uvicorn's, plus SafeSpace's own messages
    log_config["loggers"]["safespace"] = {"handlers": ["default"], "level": "INFO"}
    key_service(settings).db.close()  # migrate once; an unusable database fails here, in one line
    check_settings(settings)  # and unusable keys or webhook settings, before any worker
    options: dict[str, Any] = {
        "access_log": access_log,
        "log_config": log_config,
        "proxy_headers": False,
        "server_header": False,
    }
    # One listening socket per worker, so connections spread over every core.
    raise typer.Exit(
        run_workers(host, port, workers, options, settings=settings, extra_routers=extra_routers)
    )
