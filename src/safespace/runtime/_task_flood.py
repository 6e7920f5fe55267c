"""flood-guard: quarantine entries that match far more content than usual soon after arriving."""

from __future__ import annotations

from safespace.exchanges._flood import FloodGuard, FloodPolicy
from safespace.runtime._context import AppContext
from safespace.runtime._periodic import PeriodicTask

__all__ = ["TASK"]


def run(ctx: AppContext) -> None:
    FloodGuard(ctx.state.db, FloodPolicy.from_settings(ctx.state.settings)).check()


TASK = PeriodicTask[AppContext](
    name="flood-guard",
    interval=60.0,
    run=run,
    placement="once-per-cluster",
    description="Quarantines (disables until a lead releases it) a bank entry added in the "
    "last SAFESPACE_FLOOD_GUARD_NEW_HOURS that matched at least SAFESPACE_FLOOD_GUARD_MATCHES "
    "contents within the window, and SAFESPACE_FLOOD_GUARD_FACTOR times its bank's usual.",
)
