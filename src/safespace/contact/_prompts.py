"""Supportive prompts for a child: wording from the policy, help services, random variants.

A prompt's variant comes from the policy's prompt experiment for its moment, assigned with
Deter's keyed :class:`~safespace.deter._experiments.Assigner` (stable per child per rotation
period), or the moment's default variant. Help services come from the same directory the
self-report page shows (:func:`safespace.reports.help_sections`), the child's country first.
Each prompt shown is recorded (``contact_prompts``: the child's keyed id, moment, arm,
variant, locale) so that what followed it can be counted per arm and analysed the way Deter
analyses its experiments.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import delete, func, select

from safespace.contact._policy import Policy
from safespace.contact._types import Prompt
from safespace.deter._analysis import ArmCounts, analyze
from safespace.deter._experiments import Assigner, Experiment
from safespace.deter._report import ExperimentReport, OutcomeAnalysis
from safespace.errors import InvalidInput, NotFound
from safespace.reports import help_sections
from safespace.store import Database
from safespace.store._models import utcnow
from safespace.store._models_contact import (
    CONTACT_PROMPT_OUTCOMES,
    ContactPromptOutcomeRow,
    ContactPromptRow,
)

__all__ = ["OUTCOMES", "PromptBook", "help_for"]

OUTCOMES = CONTACT_PROMPT_OUTCOMES
_HELP_LIMIT = 4


@lru_cache(maxsize=4096)
def help_for(locale: str, country: str | None, age_band: str) -> tuple[dict[str, str], ...]:
    """Help services for a child: their country's first, then those open to everyone (the
    directory is package data read once, so answers are cached; callers copy the dicts)."""
    if country and "-" not in locale:
        locale = f"{locale}-{country.upper()}"
    band = age_band if age_band != "unknown" else None
    found: list[dict[str, str]] = []
    for section in help_sections(locale, band):
        if section.local:
            found += [s.to_dict() for s in section.services]
    return tuple(found[:_HELP_LIMIT])


@dataclass
class PromptBook:
    """Makes and records prompts, records their outcomes, reports on experiments."""

    db: Database
    assigner: Assigner
    clock: Callable[[], float]

    def make(
        self,
        policy: Policy,
        moment_id: str,
        pseudonym: str,
        *,
        age_band: str,
        locale: str,
        country: str | None,
        api_key_id: int | None = None,
        record: bool = True,
    ) -> Prompt:
        moment = policy.moments.get(moment_id)
        if moment is None:
            raise NotFound(f"no prompt moment {moment_id!r} in the contact policy")
        experiment = policy.experiment_for(moment_id)
        arm_id: str | None = None
        epoch: int | None = None
        variant = moment.default
        if experiment is not None:
            arm, epoch = self.assigner.assign(experiment, pseudonym, self.clock())
            arm_id, variant = arm.id, arm.variant
        title, text = moment.variants[variant]
        help_ = help_for(locale, country, age_band) if moment.help else ()
        event_id = str(uuid.uuid4()) if record else None
        if record:
            with self.db.transaction() as s:
                s.add(
                    ContactPromptRow(
                        event_id=event_id,
                        created_at=utcnow(),
                        pseudonym=pseudonym,
                        moment=moment_id,
                        experiment=experiment.id if experiment else None,
                        arm=arm_id,
                        epoch=epoch,
                        variant=variant,
                        locale=locale[:35],
                        api_key_id=api_key_id,
                    )
                )
        return Prompt(
            moment_id,
            variant,
            title,
            text,
            help_,
            experiment.id if experiment else None,
            arm_id,
            event_id,
        )

    def add_outcome(self, event_id: str, outcome: str, *, via: str = "api") -> bool:
        """Record what followed a prompt; False when that outcome was already recorded."""
        if outcome not in OUTCOMES:
            raise InvalidInput(f"unknown outcome {outcome!r} (use {', '.join(OUTCOMES)})")
        with self.db.transaction() as s:
            ref = s.scalar(select(ContactPromptRow.id).where(ContactPromptRow.event_id == event_id))
            if ref is None:
                raise NotFound(f"no prompt {event_id!r} (unknown, or deleted after retention)")
            seen = s.scalar(
                select(ContactPromptOutcomeRow.id).where(
                    ContactPromptOutcomeRow.prompt_ref == ref,
                    ContactPromptOutcomeRow.outcome == outcome,
                )
            )
            if seen is not None:
                return False
            s.add(ContactPromptOutcomeRow(prompt_ref=ref, outcome=outcome, via=via))
            return True

    def purge(self, retention_days: int, *, now: dt.datetime | None = None) -> int:
        cutoff = (now or utcnow()) - dt.timedelta(days=retention_days)
        with self.db.transaction() as s:
            old = select(ContactPromptRow.id).where(ContactPromptRow.created_at < cutoff)
            s.execute(
                delete(ContactPromptOutcomeRow).where(ContactPromptOutcomeRow.prompt_ref.in_(old))
            )
            result = s.execute(delete(ContactPromptRow).where(ContactPromptRow.created_at < cutoff))
            return int(getattr(result, "rowcount", 0) or 0)

    def counts(self, experiment: str) -> dict[str, dict[str, int]]:
        """Per arm: prompts ``shown`` and how many of them had each outcome."""
        p, o = ContactPromptRow, ContactPromptOutcomeRow
        table: dict[str, dict[str, int]] = {}
        with self.db.session() as s:
            for arm, n in s.execute(
                select(p.arm, func.count()).where(p.experiment == experiment).group_by(p.arm)
            ):
                table[str(arm)] = {"shown": int(n), **dict.fromkeys(OUTCOMES, 0)}
            for arm, outcome, n in s.execute(
                select(p.arm, o.outcome, func.count())
                .join(o, o.prompt_ref == p.id)
                .where(p.experiment == experiment)
                .group_by(p.arm, o.outcome)
            ):
                table[str(arm)][str(outcome)] = int(n)
        return table

    def report(self, experiment: Experiment, *, outcome: str = "blocked") -> ExperimentReport:
        """Each outcome analysed against the control arm, as Deter's experiment report."""
        if outcome not in OUTCOMES:
            raise InvalidInput(f"unknown outcome {outcome!r} (use {', '.join(OUTCOMES)})")
        plan = experiment.plan
        planned = plan.per_arm() if plan is not None else None
        alpha = plan.alpha if plan is not None else 0.05
        counts = self.counts(experiment.id)
        arms = [a.id for a in experiment.arms] + sorted(
            set(counts) - {a.id for a in experiment.arms}
        )
        for arm in arms:
            counts.setdefault(arm, {"shown": 0, **dict.fromkeys(OUTCOMES, 0)})
        results = []
        for name in (outcome, *[x for x in OUTCOMES if x != outcome]):
            rows = [ArmCounts(a, counts[a]["shown"], counts[a][name]) for a in arms]
            rows = [r for r in rows if r.shown > 0]
            usable = any(r.arm == experiment.control for r in rows) and len(rows) >= 2
            primary = name == outcome
            analysis = (
                analyze(
                    rows,
                    experiment.control,
                    alpha=alpha,
                    planned_per_arm=planned if primary else None,
                )
                if usable
                else None
            )
            results.append(OutcomeAnalysis(name, primary, analysis))
        return ExperimentReport(
            experiment.id,
            experiment.control,
            tuple(arms),
            counts,
            outcome,
            planned,
            tuple(results),
            dt.datetime.now(dt.UTC),
        )
