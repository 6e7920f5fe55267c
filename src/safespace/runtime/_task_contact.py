"""contact-tick: reload a changed contact policy, recompute flags, purge past retention."""

from __future__ import annotations

from safespace.contact._runtime import TICK_SECONDS, ContactRuntime
from safespace.runtime._context import AppContext
from safespace.runtime._periodic import PeriodicTask

__all__ = ["TASK"]


def run(ctx: AppContext) -> None:
    found = getattr(ctx.app_state, "contact", None)
    if isinstance(found, ContactRuntime):  # built by the first contact request or page
        found.tick()


TASK = PeriodicTask[AppContext](
    name="contact-tick",
    interval=TICK_SECONDS,
    run=run,
    placement="every-worker",
    description="Once contact decisions are in use: reloads a changed contact policy, "
    "recomputes suspicious-adult flags and deletes contact events past retention (hourly).",
)
