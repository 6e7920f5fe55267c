"""exchange-fetch: fetch the bank sources whose next run has come, one process per cluster."""

from __future__ import annotations

from safespace.runtime._context import AppContext
from safespace.runtime._periodic import PeriodicTask

__all__ = ["TASK"]


def run(ctx: AppContext) -> None:
    from safespace.exchanges import ExchangeService
    from safespace.reports._evidence import load_master_key

    settings = ctx.state.settings
    key = load_master_key(settings.evidence_key) if settings.evidence_key else None
    ExchangeService(ctx.state.db, master_key=key).fetch_due(stopping=ctx.stopping)


TASK = PeriodicTask[AppContext](
    name="exchange-fetch",
    interval=5.0,
    run=run,
    placement="once-per-cluster",
    description="Fetches each bank source (exchange) whose next run has come: whole pages "
    "with their checkpoint in one transaction (grouped up to 100,000 changes or one second), "
    "so matchers see the entries at their next refresh; a failing source is retried with "
    "backoff (1 min doubling, at most 6 h).",
)
