"""The contact service: decisions with flags and prompts, signal events, the background tick.

This is what the HTTP routes, the console and the benchmark call. One per app (per worker
process): it holds the live policy (:class:`ContactLoader`), this process's flagged set
(:class:`ContactSignals`) and the prompt book. :meth:`ContactService.tick` reloads a changed
policy file, recomputes flags from the database and, at most hourly, deletes events and
prompts past retention; the app's thread calls it every few seconds, tests call it directly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from safespace.contact._loading import ContactLoader
from safespace.contact._prompts import PromptBook
from safespace.contact._risk import ConversationScorer, Message, RiskAssessment, RuleScorer
from safespace.contact._signals import ContactSignals, FlagInfo
from safespace.contact._types import Account, ContactDecision, ContactRequest, Prompt
from safespace.deter._events import WidgetTokens
from safespace.deter._experiments import Assigner, Experiment
from safespace.errors import ConfigError, NotConfigured, NotFound
from safespace.store import Database
from safespace.store._models import utcnow

__all__ = ["PURGE_SECONDS", "ContactService", "derive_key"]

log = logging.getLogger("safespace.contact")
PURGE_SECONDS = 3600.0
# After these events the child who did them is shown a prompt.
_EVENT_MOMENTS = {"block": "after-block", "report": "after-report"}


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A key for one purpose from the server secret (ids and assignment never share one)."""
    return hmac.digest(secret, f"safespace-contact/{purpose}/v1".encode(), hashlib.sha256)


class ContactService:
    def __init__(
        self,
        db: Database,
        secret: bytes,
        *,
        policy_path: Path | None = None,
        clock: Callable[[], float] = time.time,
        token_seconds: int = 3600,
    ) -> None:
        if len(secret) < 16:
            raise ConfigError("the contact secret must be at least 16 bytes")
        self.loader = ContactLoader(policy_path)
        self.signals = ContactSignals(db, derive_key(secret, "account-id"))
        self.prompts = PromptBook(db, Assigner(derive_key(secret, "assignment")), clock)
        # The widget's outcome requests carry a short-lived token for their prompt, no key.
        self.tokens = WidgetTokens(derive_key(secret, "widget-token"), token_seconds)
        self._next_purge = 0.0
        self.last_purged: int | None = None
        self._scorer: ConversationScorer | None = None
        self._scorer_terms: tuple[Path, ...] = ()
        self.signals.refresh(self.loader.policy.signals)

    # --- decisions ---------------------------------------------------------------------

    def check(
        self, request: ContactRequest, *, api_key_id: int | None = None, record: bool = True
    ) -> ContactDecision:
        engine = self.loader.engine
        flagged = self.signals.is_flagged(self.signals.key_for(request.actor.id))
        verdict = engine.decide(request, actor_flagged=flagged)
        actor_prompt = target_prompt = None
        if verdict.actor_moment is not None:
            actor_prompt = self._prompt(
                verdict.actor_moment, request.actor, request, api_key_id, record
            )
        if verdict.target_moment is not None:
            target_prompt = self._prompt(
                verdict.target_moment, request.target, request, api_key_id, record
            )
        return ContactDecision(verdict.decision, verdict.rule, actor_prompt, target_prompt)

    def _prompt(
        self,
        moment: str,
        who: Account,
        request: ContactRequest,
        api_key_id: int | None,
        record: bool,
    ) -> Prompt:
        return self.prompts.make(
            self.loader.policy,
            moment,
            self.signals.key_for(who.id),
            age_band=who.age_band,
            locale=request.locale,
            country=request.country,
            api_key_id=api_key_id,
            record=record,
        )

    def event(
        self,
        kind: str,
        actor: Account,
        target: Account,
        *,
        country: str | None = None,
        locale: str = "en",
        api_key_id: int | None = None,
        at: dt.datetime | None = None,
    ) -> tuple[bool, Prompt | None]:
        """Keep a signal event; after a child's block or report, a prompt for that child."""
        engine = self.loader.engine
        stored = self.signals.record(kind, actor, target, engine, country=country, at=at)
        prompt = None
        moment = _EVENT_MOMENTS.get(kind)
        if (
            moment is not None
            and engine.is_child_target(actor.age_band, actor.age_assured, country)
            and moment in engine.policy.moments
        ):
            prompt = self.prompts.make(
                engine.policy,
                moment,
                self.signals.key_for(actor.id),
                age_band=actor.age_band,
                locale=locale,
                country=country,
                api_key_id=api_key_id,
            )
        return stored, prompt

    def moment_prompt(
        self,
        moment: str,
        account: Account,
        *,
        country: str | None = None,
        locale: str = "en",
        api_key_id: int | None = None,
    ) -> Prompt:
        """A prompt at a moment the platform names (e.g. ``default-turned-off``)."""
        return self.prompts.make(
            self.loader.policy,
            moment,
            self.signals.key_for(account.id),
            age_band=account.age_band,
            locale=locale,
            country=country,
            api_key_id=api_key_id,
        )

    # --- flags and experiments ---------------------------------------------------------

    def flags(self, *, now: dt.datetime | None = None) -> list[FlagInfo]:
        return self.signals.flags(self.loader.policy.signals, now=now)

    def flag(self, subject: str, *, now: dt.datetime | None = None) -> FlagInfo:
        return self.signals.flag(subject, self.loader.policy.signals, now=now)

    def prompt_dict(self, prompt: Prompt | None) -> dict[str, Any] | None:
        """A prompt as the API returns it: with a widget token when it was recorded."""
        if prompt is None:
            return None
        out = prompt.to_dict()
        out["token"] = self.tokens.issue(prompt.event_id) if prompt.event_id else None
        return out

    def decision_dict(self, decision: ContactDecision) -> dict[str, Any]:
        out = decision.to_dict()
        out["prompts"] = {
            "actor": self.prompt_dict(decision.actor_prompt),
            "target": self.prompt_dict(decision.target_prompt),
        }
        return out

    def clear_flag(self, subject: str, *, session: Session, now: dt.datetime | None = None) -> None:
        self.signals.clear(subject, session=session, now=now)

    def assess_conversation(self, messages: Sequence[Message]) -> RiskAssessment:
        """Score a conversation (nothing is stored); NotConfigured while the policy has
        conversation-risk scoring off."""
        policy = self.loader.policy
        if not policy.risk_enabled:
            raise NotConfigured("conversation-risk scoring is off in the contact policy")
        scorer = self._scorer
        if scorer is None or self._scorer_terms != policy.risk_terms:
            scorer = RuleScorer.from_files(policy.risk_terms)
            self._scorer, self._scorer_terms = scorer, policy.risk_terms
        return scorer.score(messages)

    def experiment(self, name: str) -> Experiment:
        for exp in self.loader.policy.experiments:
            if exp.id == name:
                return exp
        raise NotFound(f"no prompt experiment {name!r} in the contact policy")

    # --- background work -----------------------------------------------------------------

    def tick(self, *, monotonic: float | None = None, now: dt.datetime | None = None) -> None:
        """Reload a changed policy and recount the flags of adults with new events (from
        any worker); hourly, purge past retention and recount everyone."""
        mono = time.monotonic() if monotonic is None else monotonic
        try:
            if self.loader.reload_if_changed():
                log.info("contact: policy reloaded")
        except ConfigError as exc:
            log.warning("contact: policy not reloaded, keeping the old one: %s", exc)
        rules = self.loader.policy.signals
        if mono >= self._next_purge:
            self._next_purge = mono + PURGE_SECONDS
            try:
                self.last_purged = self.signals.purge(rules.retention_days, now=now)
                self.prompts.purge(rules.retention_days, now=now)
            except Exception as exc:  # the database may be down: try again next hour
                log.warning("contact: purge failed: %s", exc)
            # Hourly, a full recount also lets flags lapse as their events leave the window.
            self.signals.refresh(rules, now=now or utcnow())
        else:
            self.signals.refresh_changes(rules, now=now or utcnow())
