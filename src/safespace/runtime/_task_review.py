"""review-queue: sync the review queue's feeds, deliver due webhooks, expire evidence hourly."""

from __future__ import annotations

from safespace.runtime._context import AppContext
from safespace.runtime._periodic import PeriodicTask

__all__ = ["TASK"]


def run(ctx: AppContext) -> None:
    ctx.review.run_once()


TASK = PeriodicTask[AppContext](
    name="review-queue",
    interval=2.0,
    setting="review_poll_seconds",
    run=run,
    placement="every-worker",
    description="Syncs the review queue from match events and self-reports, delivers due "
    "webhooks, and destroys expired review evidence (at most hourly).",
)
