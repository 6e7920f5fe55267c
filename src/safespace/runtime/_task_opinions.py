"""exchange-opinions: send the opinions reviewers' decisions queued to the bank sources."""

from __future__ import annotations

from safespace.exchanges import Opinion
from safespace.exchanges._opinions import OpinionOutbox
from safespace.runtime._context import AppContext
from safespace.runtime._periodic import PeriodicTask

__all__ = ["TASK"]


def run(ctx: AppContext) -> None:
    settings, db = ctx.state.settings, ctx.state.db

    def send(name: str, opinion: Opinion) -> None:
        # Built only when an opinion is due: the sealed credentials open with the evidence
        # key, and a missing key is recorded on the opinion (and retried), not raised here.
        from safespace.exchanges import ExchangeService
        from safespace.reports._evidence import load_master_key

        key = load_master_key(settings.evidence_key) if settings.evidence_key else None
        ExchangeService(db, master_key=key).send_opinion(name, opinion)

    OpinionOutbox(db, send).deliver_due()


TASK = PeriodicTask[AppContext](
    name="exchange-opinions",
    interval=10.0,
    run=run,
    placement="once-per-cluster",
    description="Sends the opinions that reviewers' confirmations and false positives queued "
    "to the bank sources the matched entries came from; a failed send is retried, waiting "
    "from 30 s up to 6 h, and given up after 20 tries (shown on the review item).",
)
