"""Deter: warnings, help and a support chatbot at search and upload, evaluated by experiment.

Build a :class:`Deterrer` from data files with :class:`DeterLoader` (reloadable) or
:func:`load_data`, then call ``decide(DecisionRequest(...))``. Storage and the HTTP endpoint
sit on top of this library; it does no I/O beyond reading its data files.
"""

from safespace.deter._chatbot import ChatState
from safespace.deter._configuration import DeterData
from safespace.deter._conversation import ChatEngine, Turn, TurnButton
from safespace.deter._engine import (
    KINDS,
    REASONS,
    Decision,
    DecisionRequest,
    Deterrer,
    Intervention,
)
from safespace.deter._experiments import CONTEXTS, EVENT_TYPES, OUTCOMES, DeterEvent
from safespace.deter._loading import DEFAULT_DATA_DIR, DeterLoader, load_data
from safespace.deter._normalize import normalize
from safespace.deter._render import HelpLink

__all__ = [
    "CONTEXTS",
    "DEFAULT_DATA_DIR",
    "EVENT_TYPES",
    "KINDS",
    "OUTCOMES",
    "REASONS",
    "ChatEngine",
    "ChatState",
    "Decision",
    "DecisionRequest",
    "DeterData",
    "DeterEvent",
    "DeterLoader",
    "Deterrer",
    "HelpLink",
    "Intervention",
    "Turn",
    "TurnButton",
    "load_data",
    "normalize",
]
