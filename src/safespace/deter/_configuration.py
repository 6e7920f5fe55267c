"""One loaded, cross-checked Deter configuration (:class:`DeterData`), in its own module so
the engine that uses it and the loader that makes it both import it, not each other."""

from __future__ import annotations

from dataclasses import dataclass

from safespace.deter._chatbot import ChatScript
from safespace.deter._detect import Detector
from safespace.deter._experiments import ExperimentSet
from safespace.deter._i18n import Catalogs
from safespace.deter._messages import MessageLibrary
from safespace.deter._resources import HelpDirectory
from safespace.deter._terms import TermList

__all__ = ["DeterData"]


@dataclass(frozen=True)
class DeterData:
    detector: Detector
    vocabulary_rule: str
    term_lists: tuple[TermList, ...]
    messages: MessageLibrary
    help: HelpDirectory
    chatbot: ChatScript
    experiments: ExperimentSet
    catalogs: Catalogs
    warnings: tuple[str, ...]  # worth an operator's look, not fatal (unchecked links, ...)
