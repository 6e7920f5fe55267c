"""Every background task of the app, in one list: adding one is a module plus a line here."""

from __future__ import annotations

from safespace.runtime import (
    _task_contact,
    _task_deter,
    _task_exchanges,
    _task_flood,
    _task_imports,
    _task_matcher,
    _task_opinions,
    _task_retro,
    _task_review,
)
from safespace.runtime._context import AppContext
from safespace.runtime._periodic import PeriodicTask

__all__ = ["TASKS"]

TASKS: tuple[PeriodicTask[AppContext], ...] = (
    _task_matcher.REFRESH,
    _task_matcher.SNAPSHOT,
    _task_matcher.PRUNE,
    _task_imports.TASK,
    _task_review.TASK,
    _task_exchanges.TASK,
    _task_opinions.TASK,
    _task_flood.TASK,
    _task_deter.TASK,
    _task_contact.TASK,
    _task_retro.TASK,
)
