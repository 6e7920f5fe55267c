"""import-jobs: claim queued bank imports and run them, one at a time, until none is left."""

from __future__ import annotations

from safespace.runtime._context import AppContext
from safespace.runtime._periodic import PeriodicTask

__all__ = ["TASK"]


def run(ctx: AppContext) -> None:
    ctx.imports.runner.run_pending(ctx.stopping)


TASK = PeriodicTask[AppContext](
    name="import-jobs",
    interval=2.0,
    setting="import_job_poll_seconds",
    run=run,
    placement="every-worker",
    description="Claims queued bank imports (by a lease on the job, so each runs once) and "
    "runs them one at a time; a submit through this worker starts it at once.",
)
