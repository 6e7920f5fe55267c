"""Randomised comparison of warnings: experiments, stable assignment, and event records.

A person (an opaque session pseudonym) sees one arm per rotation period: the arm comes from
``HMAC-SHA256(epoch_key, experiment || pseudonym)``, where ``epoch_key`` is
``HMAC-SHA256(secret, period || epoch)`` and the epoch is the number of whole rotation
periods since 1970-01-01 UTC. Without the secret nobody can tell or steer a pseudonym's arm;
at each new period everyone is drawn again (a leaked epoch key exposes that period only).

Events hold the pseudonym, rule id, arm and outcome, never the text typed, unless the
operator turns on storing it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safespace.deter._schema import Node, load_yaml

__all__ = [
    "CONTEXTS",
    "EVENT_TYPES",
    "OUTCOMES",
    "Arm",
    "Assigner",
    "DeterEvent",
    "Experiment",
    "ExperimentSet",
    "Plan",
    "load_experiments",
]

CONTEXTS = ("search", "upload", "message", "url")
OUTCOMES = ("proceeded", "left", "clicked_help", "engaged_chatbot", "triggered_again")
EVENT_TYPES = ("shown", *OUTCOMES)
_DAY = 86_400


@dataclass(frozen=True)
class Arm:
    id: str
    variant: str  # message variant id
    chatbot: bool
    weight: float


@dataclass(frozen=True)
class Plan:
    """The pre-registered design: rates to tell apart, error rates, interim looks."""

    baseline: float
    target: float
    alpha: float = 0.05
    power: float = 0.8
    looks: int = 1

    def per_arm(self) -> int:
        """People per arm: the two-proportion sample size, inflated for the interim looks."""
        from safespace.deter._stats import sample_size_two_proportions, sequential_inflation

        n = sample_size_two_proportions(self.baseline, self.target, self.alpha, self.power)
        return math.ceil(n * sequential_inflation(self.looks, self.alpha, self.power))


@dataclass(frozen=True)
class Experiment:
    id: str
    contexts: tuple[str, ...]
    control: str
    arms: tuple[Arm, ...]
    rotation_days: float
    plan: Plan | None
    enabled: bool

    def arm(self, arm_id: str) -> Arm:
        return next(a for a in self.arms if a.id == arm_id)


@dataclass(frozen=True)
class ExperimentSet:
    experiments: tuple[Experiment, ...]
    defaults: dict[str, Arm]  # context -> what is shown when no experiment runs there

    def for_context(self, context: str) -> Experiment | None:
        for exp in self.experiments:
            if exp.enabled and context in exp.contexts:
                return exp
        return None

    def variants(self) -> set[str]:
        found = {a.variant for a in self.defaults.values()}
        for exp in self.experiments:
            found |= {a.variant for a in exp.arms}
        return found


def load_experiments(path: Path, variants: set[str], neutral: set[str]) -> ExperimentSet:
    """Read ``experiments.yaml``; ``variants`` are the message ids, ``neutral`` the controls'."""
    root = load_yaml(path, kind="experiments")
    root.keys({"version", "experiments", "defaults"}, frozenset({"defaults"}))
    defaults: dict[str, Arm] = {}
    for context, node in root.get("defaults").items():
        if context not in CONTEXTS:
            raise node.fail(f"unknown context (use {', '.join(CONTEXTS)})")
        node.keys({"variant", "chatbot"}, frozenset({"variant"}))
        variant = node.get("variant").ident()
        if variant not in variants:
            raise node.get("variant").fail(f"no message variant {variant!r}")
        defaults[context] = Arm("default", variant, node.get("chatbot", False).boolean(), 1.0)
    for context in CONTEXTS:
        if context not in defaults:
            raise root.get("defaults").fail(f"missing context {context!r}")
    experiments: list[Experiment] = []
    covered: dict[str, str] = {}
    fields = {"id", "contexts", "control", "arms", "rotation_days", "plan", "enabled"}
    for node in root.get("experiments").seq():
        node.keys(fields, frozenset({"id", "contexts", "control", "arms"}))
        exp_id = node.get("id").ident()
        contexts = tuple(
            c.choice(set(CONTEXTS)) for c in node.get("contexts").seq(allow_empty=False)
        )
        arms: list[Arm] = []
        for a in node.get("arms").seq(allow_empty=False):
            a.keys({"id", "variant", "chatbot", "weight"}, frozenset({"id", "variant"}))
            arm_id = a.get("id").ident()
            if any(x.id == arm_id for x in arms):
                raise a.get("id").fail(f"duplicate arm id {arm_id!r}")
            variant = a.get("variant").ident()
            if variant not in variants:
                raise a.get("variant").fail(f"no message variant {variant!r}")
            weight = a.get("weight", 1).number(minimum=0, maximum=1e6)
            arms.append(Arm(arm_id, variant, a.get("chatbot", False).boolean(), weight))
        if len(arms) < 2:
            raise node.get("arms").fail("an experiment needs at least two arms")
        if sum(a.weight for a in arms) <= 0:
            raise node.get("arms").fail("the weights add up to zero")
        control = node.get("control").ident()
        control_arm = next((a for a in arms if a.id == control), None)
        if control_arm is None:
            raise node.get("control").fail(f"no arm {control!r}")
        if control_arm.variant not in neutral or control_arm.chatbot:
            raise node.get("control").fail("the control arm must show a neutral message")
        if control_arm.weight <= 0:
            raise node.get("control").fail("the control arm must have a weight above zero")
        enabled = node.get("enabled", True).boolean()
        if enabled:
            for c in contexts:
                if c in covered:
                    raise node.get("contexts").fail(
                        f"{c!r} is already in experiment {covered[c]!r}"
                    )
                covered[c] = exp_id
        experiments.append(
            Experiment(
                exp_id,
                contexts,
                control,
                tuple(arms),
                node.get("rotation_days", 30).number(minimum=1 / 24, maximum=3660),
                _plan(node.get("plan")) if node.get("plan").value is not None else None,
                enabled,
            )
        )
    return ExperimentSet(tuple(experiments), defaults)


def _plan(node: Node) -> Plan:
    node.keys({"baseline", "target", "alpha", "power", "looks"}, frozenset({"baseline", "target"}))
    baseline = node.get("baseline").number(minimum=0.0001, maximum=0.9999)
    target = node.get("target").number(minimum=0.0001, maximum=0.9999)
    if baseline == target:
        raise node.get("target").fail("must differ from the baseline")
    return Plan(
        baseline,
        target,
        node.get("alpha", 0.05).number(minimum=0.0001, maximum=0.5),
        node.get("power", 0.8).number(minimum=0.5, maximum=0.9999),
        node.get("looks", 1).integer(minimum=1, maximum=20),
    )


class Assigner:
    """Keyed, stable arm assignment (see the module doc)."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the assignment secret must be at least 16 bytes")
        self._secret = secret
        self._keys: dict[tuple[int, int], bytes] = {}

    def epoch(self, experiment: Experiment, now: float) -> int:
        return int(now // (experiment.rotation_days * _DAY))

    def _epoch_key(self, period: int, epoch: int) -> bytes:
        key = self._keys.get((period, epoch))
        if key is None:
            msg = f"safespace-deter-assignment/{period}/{epoch}".encode()
            key = hmac.digest(self._secret, msg, hashlib.sha256)
            if len(self._keys) > 64:
                self._keys.clear()
            self._keys[(period, epoch)] = key
        return key

    def assign(self, experiment: Experiment, pseudonym: str, now: float) -> tuple[Arm, int]:
        """The arm this pseudonym sees now, and the epoch; random if there is no pseudonym."""
        epoch = self.epoch(experiment, now)
        if pseudonym:
            period = round(experiment.rotation_days * _DAY)
            msg = f"{experiment.id}\x00{pseudonym}".encode()
            digest = hmac.digest(self._epoch_key(period, epoch), msg, hashlib.sha256)
            u = int.from_bytes(digest[:8], "big") / 2.0**64
        else:
            u = secrets.randbits(53) / 2.0**53
        total = sum(a.weight for a in experiment.arms)
        point = u * total
        for arm in experiment.arms:
            if point < arm.weight:
                return arm, epoch
            point -= arm.weight
        return next(a for a in reversed(experiment.arms) if a.weight > 0), epoch


@dataclass(frozen=True)
class DeterEvent:
    """One row for evaluation: an intervention shown, or what the person did next.

    ``event_id`` ties an outcome to the decision that showed the intervention.
    ``query_text`` stays ``None`` unless the operator turned on storing it.
    """

    event_id: str
    type: str
    occurred_at: dt.datetime
    pseudonym: str
    context: str
    reason: str
    rule_id: str | None
    experiment: str | None
    arm: str | None
    epoch: int | None
    intervention: str | None
    locale: str
    query_text: str | None = None

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.type!r}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat(),
            "pseudonym": self.pseudonym,
            "context": self.context,
            "reason": self.reason,
            "rule_id": self.rule_id,
            "experiment": self.experiment,
            "arm": self.arm,
            "epoch": self.epoch,
            "intervention": self.intervention,
            "locale": self.locale,
            "query_text": self.query_text,
        }
