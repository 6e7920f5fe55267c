"""retro-match: purge content hashes past retention; search new bank entries against the rest."""

from __future__ import annotations

from typing import Any

from safespace.runtime._context import AppContext
from safespace.runtime._periodic import PeriodicTask

__all__ = ["TASK"]

_BY_STATE: dict[int, Any] = {}  # when the context has no app state (a runner on its own)


def runtime_for(ctx: AppContext) -> Any:
    """This process's :class:`~safespace.retro.RetroRuntime`, built on first use."""
    from safespace.retro import RetroRuntime  # lazy: the index stack loads only when it runs

    holder = ctx.app_state
    found = getattr(holder, "retro", None) if holder is not None else _BY_STATE.get(id(ctx.state))
    if not isinstance(found, RetroRuntime):
        found = RetroRuntime(ctx.state.db, ctx.state.settings)
        if holder is not None:
            holder.retro = found
        else:
            _BY_STATE[id(ctx.state)] = found
    return found


def run(ctx: AppContext) -> None:
    runtime_for(ctx).run_once()


TASK = PeriodicTask[AppContext](
    name="retro-match",
    interval=10.0,
    setting="retro_match_seconds",
    run=run,
    placement="once-per-cluster",
    description="Deletes stored content hashes past SAFESPACE_CONTENT_RETENTION_DAYS, then "
    "searches bank entries added since its checkpoint in the change log against the stored "
    "content hashes and queues each hit for review as a retro-match.",
)
