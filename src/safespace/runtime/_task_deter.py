"""deter-data: reload Deter's changed data files; delete Deter events past retention hourly."""

from __future__ import annotations

from safespace.runtime._context import AppContext
from safespace.runtime._periodic import PeriodicTask

__all__ = ["TASK"]


def run(ctx: AppContext) -> None:
    ctx.deter.warm()
    ctx.deter.tick()


TASK = PeriodicTask[AppContext](
    name="deter-data",
    interval=5.0,
    run=run,
    placement="every-worker",
    description="Reloads Deter's data files when they change (a bad file keeps the old "
    "configuration) and deletes Deter events past retention (at most hourly).",
)
