"""Deciding one contact request against a compiled :class:`~safespace.contact._policy.Policy`.

Pure and fast: no I/O, no allocation beyond the answer. Who counts as a child comes from the
policy's age limit for the request's country; an ``unknown`` age band is treated safely, as a
child when it is the target and as an adult when it is the actor.
"""

from __future__ import annotations

from typing import NamedTuple

from safespace.contact._policy import Policy, Rule
from safespace.contact._types import ACTIONS, ContactRequest

__all__ = ["Engine", "Verdict"]


class Verdict(NamedTuple):
    decision: str
    rule: str
    actor_moment: str | None
    target_moment: str | None


class Engine:
    """The policy's rules, grouped by action in order; the first rule that holds decides."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._by_action: dict[str, tuple[Rule, ...]] = {
            a: tuple(r for r in policy.rules if a in r.actions) for a in ACTIONS
        }
        self._default = Verdict(policy.default_decision, "default", None, None)
        self._child_bands: dict[str | None, frozenset[str]] = {
            None: frozenset(policy.child_bands(None))
        }
        for code in policy.country_limits:
            self._child_bands[code] = frozenset(policy.child_bands(code))

    def bands(self, country: str | None) -> frozenset[str]:
        found = self._child_bands.get(country.upper() if country else None)
        return found if found is not None else self._child_bands[None]

    def is_child_target(self, band: str, assured: bool, country: str | None) -> bool:
        return band == "unknown" or band in self.bands(country)

    def is_child_actor(self, band: str, assured: bool, country: str | None) -> bool:
        if band == "unknown" or band not in self.bands(country):
            return False
        return assured or not self.policy.unassured_actor_as_adult

    def decide(self, request: ContactRequest, *, actor_flagged: bool) -> Verdict:
        actor, target, rel = request.actor, request.target, request.relation
        bands = self.bands(request.country)
        target_child = target.age_band == "unknown" or target.age_band in bands
        actor_child = (
            actor.age_band != "unknown"
            and actor.age_band in bands
            and (actor.age_assured or not self.policy.unassured_actor_as_adult)
        )
        for r in self._by_action[request.action]:
            if r.target != "any" and (r.target == "child") != target_child:
                continue
            if r.actor != "any" and (r.actor == "child") != actor_child:
                continue
            if r.connected is not None and r.connected != rel.connected:
                continue
            if r.follows is not None and r.follows != rel.follows:
                continue
            if r.actor_flagged is not None and r.actor_flagged != actor_flagged:
                continue
            if (
                r.mutual_contacts_below is not None
                and rel.mutual_contacts >= r.mutual_contacts_below
            ):
                continue
            return Verdict(r.decision, r.id, r.prompt_actor, r.prompt_target)
        return self._default
