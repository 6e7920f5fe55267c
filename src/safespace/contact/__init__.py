"""Contact decisions for children's accounts: safety defaults, suspicious-adult signals, prompts.

A platform asks whether one account may contact another (:class:`ContactRequest` ->
:class:`ContactDecision`); the rules come from a validated, reloadable policy file
(:class:`ContactLoader`, :func:`load_policy`). The service on top keeps keyed-hashed signal
events, flags suspicious adults and records supportive prompts shown.
"""

from safespace.contact._engine import Engine, Verdict
from safespace.contact._loading import ContactLoader
from safespace.contact._policy import DEFAULT_POLICY, Policy, Rule, SignalRules, load_policy
from safespace.contact._types import (
    ACTIONS,
    AGE_BANDS,
    DECISIONS,
    Account,
    ContactDecision,
    ContactRequest,
    Prompt,
    Relation,
)

__all__ = [
    "ACTIONS",
    "AGE_BANDS",
    "DECISIONS",
    "DEFAULT_POLICY",
    "Account",
    "ContactDecision",
    "ContactLoader",
    "ContactRequest",
    "Engine",
    "Policy",
    "Prompt",
    "Relation",
    "Rule",
    "SignalRules",
    "Verdict",
    "load_policy",
]
