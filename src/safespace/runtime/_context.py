"""What a task of the app is handed: the parts of one app that background work keeps current.

Typed for readers and mypy only (``TYPE_CHECKING``): this package sits below
:mod:`safespace.api`, which builds the context and starts the runner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from safespace.api._runtimes import DeterRuntime, ImportRuntime, ReviewRuntime
    from safespace.api._state import ServiceState

__all__ = ["AppContext"]


@dataclass
class AppContext:
    """One app's parts; ``app_state`` is FastAPI's ``app.state`` (parts built on first use);
    ``stopping`` says when the app is stopping (a long task checks it between steps)."""

    state: ServiceState
    imports: ImportRuntime
    review: ReviewRuntime
    deter: DeterRuntime
    app_state: Any = None
    stopping: Callable[[], bool] = lambda: False
