"""The decision: given what a person typed or uploaded, intervene or not, and how.

Order of precedence, first match wins:

1. an upload that matched a hash bank: ``block_and_warn`` (``bank-match``);
2. a help-seeking query: ``help`` with help and reporting services (``help-seeking``);
   strong help phrases win over any term, weak ones only over the built-in rule;
3. an operator term: a warning or the chatbot (``operator-term``);
4. the built-in minor+sexual rule, unless the query has an educational, legal or news
   context: a warning or the chatbot (``builtin-minor-sexual``);
5. nothing (``none``).

For 3 and 4 (and 1), the message variant and whether the chatbot opens come from the
experiment arm the session pseudonym is assigned to, or from the context's default.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from safespace.deter._configuration import DeterData
from safespace.deter._conversation import ChatEngine, Turn
from safespace.deter._detect import Detection
from safespace.deter._experiments import CONTEXTS, OUTCOMES, Arm, Assigner, DeterEvent
from safespace.deter._render import HelpLink, Renderer
from safespace.errors import InvalidInput

__all__ = ["KINDS", "REASONS", "Decision", "DecisionRequest", "Deterrer", "Intervention"]

KINDS = ("warning", "chatbot", "block_and_warn", "help")
REASONS = ("operator-term", "builtin-minor-sexual", "bank-match", "help-seeking", "none")
MAX_TEXT_CHARS = 10_000
MAX_PSEUDONYM_CHARS = 256
_WARN_AUDIENCES = ("self",)


@dataclass(frozen=True)
class DecisionRequest:
    """``session`` is an opaque pseudonym chosen by the platform, never a user id or address.

    For an upload, the platform's own hash match sets ``upload_matched`` (``match_info`` may
    name the bank); ``text`` may hold a caption or file name to check as well.
    """

    context: str
    text: str = ""
    session: str = ""
    locale: str = "en"
    country: str | None = None
    upload_matched: bool = False
    match_info: str | None = None


@dataclass(frozen=True)
class Intervention:
    kind: str
    variant: str | None
    title: str
    body: str
    help: tuple[HelpLink, ...]
    links_heading: str
    chatbot: Turn | None = None
    chatbot_intro: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "variant": self.variant,
            "title": self.title,
            "body": self.body,
            "links_heading": self.links_heading,
            "help": [h.to_dict() for h in self.help],
            "chatbot_intro": self.chatbot_intro,
            "chatbot": self.chatbot.to_dict() if self.chatbot else None,
        }


@dataclass(frozen=True)
class Decision:
    intervene: bool
    reason: str
    rule_id: str | None
    rule_category: str | None
    matched_rules: tuple[str, ...]  # every rule that fired, also under a help decision
    intervention: Intervention | None
    experiment: str | None
    arm: str | None
    epoch: int | None
    event_id: str
    context: str
    locale: str
    session: str
    query_text: str | None = None  # only when the operator stores query text

    def to_dict(self) -> dict[str, Any]:
        return {
            "intervene": self.intervene,
            "reason": self.reason,
            "rule_id": self.rule_id,
            "rule_category": self.rule_category,
            "matched_rules": list(self.matched_rules),
            "intervention": self.intervention.to_dict() if self.intervention else None,
            "experiment": self.experiment,
            "arm": self.arm,
            "epoch": self.epoch,
            "event_id": self.event_id,
            "context": self.context,
            "locale": self.locale,
        }

    def event(self, type: str = "shown", at: dt.datetime | None = None) -> DeterEvent:
        """The record of this decision (``shown``) or of an outcome that followed it."""
        if type != "shown" and type not in OUTCOMES:
            raise InvalidInput(f"unknown outcome {type!r} (use {', '.join(OUTCOMES)})")
        return DeterEvent(
            event_id=self.event_id,
            type=type,
            occurred_at=at or dt.datetime.now(dt.UTC),
            pseudonym=self.session,
            context=self.context,
            reason=self.reason,
            rule_id=self.rule_id,
            experiment=self.experiment,
            arm=self.arm,
            epoch=self.epoch,
            intervention=self.intervention.kind if self.intervention else None,
            locale=self.locale,
            query_text=self.query_text,
        )


class Deterrer:
    """Decides for one loaded configuration; immutable, so safe to share between threads."""

    def __init__(
        self,
        data: DeterData,
        secret: bytes,
        *,
        store_query_text: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.data = data
        self.store_query_text = store_query_text
        self._assigner = Assigner(secret)
        self._clock = clock
        self.renderer = Renderer(data.catalogs, data.help)
        self.chatbot = ChatEngine(data.chatbot, self.renderer)
        self._cache: dict[tuple[Any, ...], Intervention] = {}

    def decide(self, request: DecisionRequest) -> Decision:
        context = request.context
        if context not in CONTEXTS:
            raise InvalidInput(f"unknown context {context!r} (use {', '.join(CONTEXTS)})")
        if len(request.text) > MAX_TEXT_CHARS:
            raise InvalidInput(f"text longer than {MAX_TEXT_CHARS} characters")
        if len(request.session) > MAX_PSEUDONYM_CHARS:
            raise InvalidInput(f"session pseudonym longer than {MAX_PSEUDONYM_CHARS} characters")
        locale = self.data.catalogs.resolve(request.locale)
        country = _country(request.country, request.locale)
        if context == "upload" and request.upload_matched:
            det = self.data.detector.detect(request.text) if request.text else Detection()
            rule = f"bank:{request.match_info}" if request.match_info else "bank-match"
            rules = (rule, *_rule_ids(det, self.data.vocabulary_rule))
            return self._intervene(request, locale, country, "bank-match", rule, None, rules)
        det = self.data.detector.detect(request.text) if request.text else Detection()
        rules = _rule_ids(det, self.data.vocabulary_rule)
        if det.help_rule is not None:
            key = ("help", locale, country, det.help_audiences)
            intervention = self._cache.get(key)
            if intervention is None:
                intervention = self._help(locale, country, det.help_audiences)
                self._remember(key, intervention)
            return self._decision(request, locale, "help-seeking", det.help_rule.id, None,
                                  rules, intervention, None, None)  # fmt: skip
        if det.operator:
            hit = det.operator[0]
            return self._intervene(
                request, locale, country, "operator-term", hit.rule_id, hit.category, rules
            )
        if det.builtin:
            rule = self.data.vocabulary_rule
            return self._intervene(
                request, locale, country, "builtin-minor-sexual", rule, "builtin", rules
            )
        return self._decision(request, locale, "none", None, None, rules, None, None, None)

    # --- building decisions ----------------------------------------------------------------

    def _remember(self, key: tuple[Any, ...], intervention: Intervention) -> None:
        """Rendered interventions are reused; the cache is bounded (keys include countries)."""
        if len(self._cache) < 4096:
            self._cache[key] = intervention

    def _intervene(
        self,
        request: DecisionRequest,
        locale: str,
        country: str | None,
        reason: str,
        rule_id: str,
        category: str | None,
        rules: tuple[str, ...],
    ) -> Decision:
        experiment = self.data.experiments.for_context(request.context)
        if experiment is None:
            arm, epoch, exp_id = self.data.experiments.defaults[request.context], None, None
        else:
            arm, epoch = self._assigner.assign(experiment, request.session, self._clock())
            exp_id = experiment.id
        blocked = reason == "bank-match"
        key = (arm.variant, arm.chatbot, blocked, locale, country)
        intervention = self._cache.get(key)
        if intervention is None:
            intervention = self._warning(arm, blocked, locale, country)
            self._remember(key, intervention)
        return self._decision(
            request, locale, reason, rule_id, category, rules, intervention,
            exp_id, (arm.id if exp_id else None, epoch),
        )  # fmt: skip

    def _decision(
        self,
        request: DecisionRequest,
        locale: str,
        reason: str,
        rule_id: str | None,
        category: str | None,
        rules: tuple[str, ...],
        intervention: Intervention | None,
        experiment: str | None,
        arm_epoch: tuple[str | None, int | None] | None,
    ) -> Decision:
        arm, epoch = arm_epoch or (None, None)
        return Decision(
            intervene=intervention is not None,
            reason=reason,
            rule_id=rule_id,
            rule_category=category,
            matched_rules=rules,
            intervention=intervention,
            experiment=experiment,
            arm=arm,
            epoch=epoch,
            event_id=str(uuid.uuid4()),
            context=request.context,
            locale=locale,
            session=request.session,
            query_text=request.text if self.store_query_text and request.text else None,
        )

    def _warning(self, arm: Arm, blocked: bool, locale: str, country: str | None) -> Intervention:
        r, msgs = self.renderer, self.data.messages
        values = r.values(country)
        variant = msgs.variants[arm.variant]
        title = r.text(variant.title, locale, values)
        body = r.text(variant.body, locale, values)
        if blocked:
            title = r.text(msgs.texts["upload_title"], locale, values)
            body = r.text(msgs.texts["upload_body"], locale, values) + "\n\n" + body
        kind = "block_and_warn" if blocked else ("chatbot" if arm.chatbot else "warning")
        chat = self.chatbot.start(locale, country) if arm.chatbot else None
        intro = r.text(msgs.texts["chatbot_intro"], locale, values) if arm.chatbot else None
        links = r.links(locale, country, _WARN_AUDIENCES)
        heading = r.text(msgs.texts["links_heading"], locale, values)
        return Intervention(kind, variant.id, title, body, links, heading, chat, intro)

    def _help(self, locale: str, country: str | None, audiences: tuple[str, ...]) -> Intervention:
        r, texts = self.renderer, self.data.messages.texts
        values = r.values(country)
        links = r.links(locale, country, audiences)
        return Intervention(
            "help",
            None,
            r.text(texts["help_title"], locale, values),
            r.text(texts["help_body"], locale, values),
            links,
            r.text(texts["links_heading"], locale, values),
        )


def _rule_ids(det: Detection, builtin_id: str) -> tuple[str, ...]:
    ids = [h.rule_id for h in det.operator]
    if det.builtin:
        ids.append(builtin_id)
    return tuple(ids)


def _country(country: str | None, locale: str) -> str | None:
    """The request's country, else the region of its locale (``en-GB`` -> ``GB``)."""
    if country:
        code = country.strip().upper()
        if len(code) != 2 or not code.isalpha() or not code.isascii():
            raise InvalidInput(f"country must be a two-letter code, got {country!r}")
        return code
    _, _, region = locale.split(".")[0].replace("-", "_").partition("_")
    region = region.upper()
    return region if len(region) == 2 and region.isalpha() and region.isascii() else None
