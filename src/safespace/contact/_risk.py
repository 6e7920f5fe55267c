"""Conversation risk between an adult and a child: a scorer interface and a rules default.

An interface, not a model: :class:`ConversationScorer` takes the messages of one conversation
and returns a score per label with the evidence for it. The default, :class:`RuleScorer`,
matches operator term lists (the packaged ``conversation_terms.yaml`` plus the operator's),
normalised as Deter normalises queries (spacing, leetspeak, look-alikes), in the adult's
messages only. Labels: ``image_request``, ``secrecy``, ``platform_move``, ``meeting``.

What comes out is the rule id and the span that fired (which message, which words), never the
text: nothing here stores a message. Scores feed a human reviewer's decision only; scoring is
off unless the policy turns it on (``conversation_risk.enabled``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import ahocorasick

from safespace.deter._normalize import normalize
from safespace.deter._terms import TermList, load_term_file
from safespace.errors import ConfigError, InvalidInput

__all__ = [
    "DEFAULT_TERMS",
    "LABELS",
    "ConversationScorer",
    "Message",
    "RiskAssessment",
    "RiskHit",
    "RuleScorer",
]

LABELS = ("image_request", "secrecy", "platform_move", "meeting")
DEFAULT_TERMS = Path(__file__).resolve().parent / "data" / "conversation_terms.yaml"
SENDERS = ("adult", "child")
_MAX_MESSAGES = 1000
_MAX_CHARS = 10_000
_MAX_SUMMARY = 2000  # what a review item's reason holds


@dataclass(frozen=True, slots=True)
class Message:
    sender: str  # adult | child
    text: str

    def __post_init__(self) -> None:
        if self.sender not in SENDERS:
            raise InvalidInput(f"a message's sender is adult or child, got {self.sender!r}")
        if len(self.text) > _MAX_CHARS:
            raise InvalidInput(f"a message is at most {_MAX_CHARS} characters")


@dataclass(frozen=True, slots=True)
class RiskHit:
    """A rule that fired: its label and id, the message (0-based) and the words [start, end)
    of the message as normalised (``don't`` counts as two words)."""

    label: str
    rule: str
    message: int
    start_word: int
    end_word: int


@dataclass(frozen=True)
class RiskAssessment:
    scores: dict[str, float]  # label -> 0..1
    hits: tuple[RiskHit, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "scores": dict(self.scores),
            "hits": [
                {
                    "label": h.label,
                    "rule": h.rule,
                    "message": h.message,
                    "words": [h.start_word, h.end_word],
                }
                for h in self.hits
            ],
        }


def risk_summary(assessment: RiskAssessment) -> str:
    """A reviewer's summary of what fired: labels, scores, rules and word spans, never the
    message text (which SafeSpace never keeps)."""
    parts = []
    for label, score in sorted(assessment.scores.items(), key=lambda kv: -kv[1]):
        if score <= 0:
            continue
        spans = "; ".join(
            f"{h.rule} in message {h.message + 1}, words {h.start_word + 1}-{h.end_word}"
            for h in assessment.hits
            if h.label == label
        )
        parts.append(f"{label.replace('_', ' ')} {score:.2f} ({spans})")
    text = "Conversation risk (rules only; the messages are not kept): " + " | ".join(parts)
    return text if len(text) <= _MAX_SUMMARY else text[: _MAX_SUMMARY - 3] + "..."


class ConversationScorer(Protocol):
    """Anything that scores a conversation: the rules default, or an operator's classifier."""

    labels: tuple[str, ...]

    def score(self, messages: Sequence[Message]) -> RiskAssessment: ...


class RuleScorer:
    """Term lists per label; a label's score grows with the distinct rules that fired for it
    (one: 0.5, two: 0.75, three: 0.875, ...)."""

    labels: tuple[str, ...] = LABELS

    def __init__(self, lists: Iterable[TermList]) -> None:
        self._auto = ahocorasick.Automaton()
        count = 0
        for tl in lists:
            for term in tl.terms:
                if term.category not in LABELS:
                    raise ConfigError(
                        f"{tl.source}: {term.rule_id}: category must be one of {', '.join(LABELS)}"
                    )
                key = f" {term.key} "
                entry = (term.rule_id, term.category, key.count(" ") - 1)
                self._auto.add_word(key, (*self._auto.get(key, ()), entry))
                count += 1
        if count:
            self._auto.make_automaton()
        self.size = count

    @classmethod
    def from_files(cls, extra: Sequence[Path] = ()) -> RuleScorer:
        return cls([load_term_file(DEFAULT_TERMS), *(load_term_file(p) for p in extra)])

    def score(self, messages: Sequence[Message]) -> RiskAssessment:
        if len(messages) > _MAX_MESSAGES:
            raise InvalidInput(f"at most {_MAX_MESSAGES} messages per conversation")
        hits: list[RiskHit] = []
        if self.size:
            for index, message in enumerate(messages):
                if message.sender != "adult":
                    continue
                text = f" {normalize(message.text).text} "
                for end, found in self._auto.iter(text):
                    for rule, label, words in found:
                        # ``end`` is the index of the match's closing space: the spaces
                        # before it count the words up to the match's last one.
                        end_word = text.count(" ", 0, end)
                        hits.append(RiskHit(label, rule, index, end_word - words, end_word))
        scores = dict.fromkeys(LABELS, 0.0)
        for label in LABELS:
            distinct = len({h.rule for h in hits if h.label == label})
            scores[label] = 1.0 - 0.5**distinct
        return RiskAssessment(scores, tuple(hits))
