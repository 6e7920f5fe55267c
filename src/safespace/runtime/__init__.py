"""Background work: one periodic-task helper, and the app's tasks registered in one list.

:class:`PeriodicTask` says what runs, how often and where (:data:`PLACEMENTS`: in every
worker, once per machine, or once per cluster through a lease row in the database);
:class:`TaskRunner` runs a list of them (``run_due(now)`` by hand, or a thread per task);
:data:`TASKS` is the app's list, started and stopped with the app. ``docs/operations.md``
lists the tasks ("Background tasks"), and a test keeps it in step with :data:`TASKS`.
"""

from safespace.runtime._context import AppContext
from safespace.runtime._lease import Leases
from safespace.runtime._periodic import (
    LEASE_TTL_SECONDS,
    PLACEMENTS,
    PeriodicTask,
    Placement,
    TaskRunner,
)
from safespace.runtime._registry import TASKS

__all__ = [
    "LEASE_TTL_SECONDS",
    "PLACEMENTS",
    "TASKS",
    "AppContext",
    "Leases",
    "PeriodicTask",
    "Placement",
    "TaskRunner",
]
