"""What a platform asks (:class:`ContactRequest`) and what it gets back (:class:`ContactDecision`).

A request names two accounts by the platform's own opaque ids, their self-declared (or
assured) age bands, how they already relate, and one of :data:`ACTIONS`. The service never
stores an id as given: anything kept is a keyed hash (see ``_signals.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from safespace.errors import InvalidInput

__all__ = [
    "ACTIONS",
    "AGE_BANDS",
    "DECISIONS",
    "Account",
    "ContactDecision",
    "ContactRequest",
    "Prompt",
    "Relation",
]

# The bands the self-report page uses, with "unknown" for an account that never said.
AGE_BANDS = ("under-13", "13-15", "16-17", "18-plus", "unknown")
ACTIONS = (
    "direct_message",
    "message_request",
    "friend_request",
    "follow",
    "suggest",
    "connection_list",
    "see_location",
    "tag",
    "add_to_group",
    "live_invite",
)
DECISIONS = ("allow", "deny", "prompt")
_MAX_ID = 256


@dataclass(frozen=True, slots=True)
class Account:
    """An account as the platform knows it: opaque id, age band, whether the age is assured."""

    id: str
    age_band: str = "unknown"
    age_assured: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip() or len(self.id) > _MAX_ID:
            raise InvalidInput(f"an account id must be 1 to {_MAX_ID} characters of text")
        if self.age_band not in AGE_BANDS:
            raise InvalidInput(f"unknown age band {self.age_band!r} (use {', '.join(AGE_BANDS)})")


@dataclass(frozen=True, slots=True)
class Relation:
    """How the two already relate.

    ``connected``: a mutual connection (friends, or each follows the other). ``follows``: the
    target follows the actor, i.e. the person being contacted chose to see the one contacting
    them. ``mutual_contacts``: how many connections they share.
    """

    connected: bool = False
    follows: bool = False
    mutual_contacts: int = 0

    def __post_init__(self) -> None:
        if self.mutual_contacts < 0:
            raise InvalidInput("mutual_contacts must not be negative")


@dataclass(frozen=True, slots=True)
class ContactRequest:
    """May ``actor`` do ``action`` to ``target``? ``country``: ISO code for age limits."""

    actor: Account
    target: Account
    action: str
    relation: Relation = field(default_factory=Relation)
    country: str | None = None
    locale: str = "en"

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise InvalidInput(f"unknown action {self.action!r} (use {', '.join(ACTIONS)})")
        if self.country is not None and not (
            len(self.country) == 2 and self.country.isascii() and self.country.isalpha()
        ):
            raise InvalidInput(f"{self.country!r} is not a two-letter country code")


@dataclass(frozen=True, slots=True)
class Prompt:
    """A supportive message for one side, with help services and its experiment record."""

    moment: str
    variant: str
    title: str
    text: str
    help: tuple[dict[str, str], ...] = ()
    experiment: str | None = None
    arm: str | None = None
    event_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "moment": self.moment,
            "variant": self.variant,
            "title": self.title,
            "text": self.text,
            "help": [dict(h) for h in self.help],
            "experiment": self.experiment,
            "arm": self.arm,
            "event_id": self.event_id,
        }


@dataclass(frozen=True, slots=True)
class ContactDecision:
    """``decision`` is allow, deny or prompt (allowed, with a prompt shown); ``rule`` says why."""

    decision: str
    rule: str
    actor_prompt: Prompt | None = None
    target_prompt: Prompt | None = None

    @property
    def allowed(self) -> bool:
        return self.decision != "deny"

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "rule": self.rule,
            "prompts": {
                "actor": self.actor_prompt.to_dict() if self.actor_prompt else None,
                "target": self.target_prompt.to_dict() if self.target_prompt else None,
            },
        }
