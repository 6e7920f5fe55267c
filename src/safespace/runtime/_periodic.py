"""The one periodic-task helper: a task has a name, an interval, a function and a placement.

:class:`TaskRunner` runs a list of :class:`PeriodicTask` for one app. Tests drive it with
:meth:`TaskRunner.run_due` and a clock they choose; the app calls :meth:`TaskRunner.start`,
which gives each task its own daemon thread (a slow task, such as loading the matcher, never
holds up another), and :meth:`TaskRunner.stop`. A task that raises is logged (the full
traceback once, then one line while the same error repeats) and runs again at its next
interval, or later when it sets ``max_backoff``.

Placements: ``every-worker`` runs in each process; ``once-per-machine`` runs in the process
holding ``data_dir/runtime/NAME.lock`` (:mod:`._machine`); ``once-per-cluster`` runs in the
process holding the task's lease row in the database (:mod:`._lease`), renewed every third
of ``lease_ttl`` and given up on stop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar, get_args

from safespace.runtime._lease import Leases, new_holder_id
from safespace.runtime._machine import MachineLock

__all__ = ["LEASE_TTL_SECONDS", "PLACEMENTS", "PeriodicTask", "Placement", "TaskRunner"]

log = logging.getLogger("safespace.runtime")

Placement = Literal["every-worker", "once-per-machine", "once-per-cluster"]
PLACEMENTS: tuple[str, ...] = get_args(Placement)
LEASE_TTL_SECONDS = 30.0

C = TypeVar("C")


@dataclass(frozen=True)
class PeriodicTask(Generic[C]):
    """``run(context)`` every ``interval`` seconds, where ``placement`` says.

    ``setting`` names the :class:`~safespace.config.Settings` field that sets the interval
    (None: fixed). ``max_backoff``: after a failure, wait twice as long each time, up to
    this many seconds (None: retry at the next interval).
    """

    name: str
    interval: float
    run: Callable[[C], None]
    placement: Placement
    description: str
    setting: str | None = None
    max_backoff: float | None = None

    def __post_init__(self) -> None:
        if self.placement not in PLACEMENTS:
            raise ValueError(f"task {self.name}: placement {self.placement!r} not in {PLACEMENTS}")
        if self.interval <= 0:
            raise ValueError(f"task {self.name}: interval must be positive")

    def configured(self, settings: Any) -> PeriodicTask[C]:
        """This task with its interval read from ``settings`` when it has a setting."""
        if self.setting is None:
            return self
        return replace(self, interval=float(getattr(settings, self.setting)))


@dataclass
class _Slot(Generic[C]):
    task: PeriodicTask[C]
    next_run: float = float("-inf")
    last_run: float = float("-inf")
    delay: float = 0.0
    last_error: str | None = None
    runs: int = 0
    failures: int = 0
    holds: bool = False
    next_claim: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)
    wake: threading.Event = field(default_factory=threading.Event)
    machine: MachineLock | None = None


class TaskRunner(Generic[C]):
    """Runs ``tasks`` for ``context``; ``clock`` gives epoch seconds (tests pass their own)."""

    def __init__(
        self,
        tasks: Sequence[PeriodicTask[C]],
        context: C,
        *,
        leases: Leases | None = None,
        lock_dir: Path | None = None,
        lease_ttl: float = LEASE_TTL_SECONDS,
        holder: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        names = [t.name for t in tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"task names repeat: {names}")
        self.context = context
        self.leases = leases
        self.lock_dir = lock_dir
        self.lease_ttl = lease_ttl
        self.holder = holder or new_holder_id()
        self.clock = clock
        self._slots = {t.name: _Slot(t) for t in tasks}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- driving it by hand (tests) and the state it keeps -------------------------------------

    @property
    def tasks(self) -> list[PeriodicTask[C]]:
        return [slot.task for slot in self._slots.values()]

    def run_due(self, now: float | None = None) -> list[str]:
        """Run, one after the other, every task due at ``now`` that is placed here."""
        now = self.clock() if now is None else now
        return [name for name, slot in self._slots.items() if self._step(slot, now)[0]]

    def stopping(self) -> bool:
        """True once :meth:`stop` was called: a long task checks it between its steps."""
        return self._stop.is_set()

    def trigger(self, name: str) -> None:
        """Make ``name`` due now (wakes its thread when started)."""
        slot = self._slots[name]
        slot.next_run = float("-inf")
        slot.wake.set()

    def stats(self, name: str) -> dict[str, Any]:
        slot = self._slots[name]
        return {
            "runs": slot.runs,
            "failures": slot.failures,
            "last_error": slot.last_error,
            "holds": slot.holds,
        }

    def _placed_here(self, slot: _Slot[C], now: float) -> bool:
        placement = slot.task.placement
        if placement == "every-worker":
            return True
        if placement == "once-per-machine":
            if slot.machine is None:
                if self.lock_dir is None:
                    raise RuntimeError(f"task {slot.task.name} runs once per machine: no lock_dir")
                slot.machine = MachineLock(self.lock_dir / f"{slot.task.name}.lock")
            slot.holds = slot.machine.try_acquire()
            return slot.holds
        if self.leases is None:
            raise RuntimeError(f"task {slot.task.name} runs once per cluster: no leases")
        if now >= slot.next_claim:
            slot.next_claim = now + self.lease_ttl / 3
            try:
                slot.holds = self.leases.acquire(
                    slot.task.name,
                    self.holder,
                    now=datetime.fromtimestamp(now, UTC),
                    ttl=timedelta(seconds=self.lease_ttl),
                )
            except Exception as exc:  # the database may be away: hold nothing, look again
                log.warning("task %s: lease check failed: %s", slot.task.name, exc)
                slot.holds = False
        return slot.holds

    def _step(self, slot: _Slot[C], now: float) -> tuple[bool, float]:
        """Run ``slot`` if due and placed here; (ran, seconds until it needs a look again)."""
        task = slot.task
        with slot.lock:
            try:
                here = self._placed_here(slot, now)
            except Exception as exc:
                log.warning("task %s: placement check failed: %s", task.name, exc)
                here = False
            renew = max(0.05, slot.next_claim - now)  # a holder renews even when not due
            cluster = task.placement == "once-per-cluster"
            if not here:
                return False, min(task.interval, renew) if cluster else task.interval
            # (a clock that went back to before the last run makes the task due now)
            if now < slot.next_run and now >= slot.last_run:
                wait = slot.next_run - now
                return False, min(wait, renew) if cluster else wait
            try:
                task.run(self.context)
            except Exception as exc:
                slot.failures += 1
                message = f"{type(exc).__name__}: {exc}"
                if message != slot.last_error:
                    log.exception("task %s failed (it runs again later)", task.name)
                else:
                    log.warning("task %s failed again: %s", task.name, message)
                slot.last_error = message
                if task.max_backoff is not None:
                    slot.delay = min(task.max_backoff, max(slot.delay * 2, task.interval))
                else:
                    slot.delay = task.interval
            else:
                slot.runs += 1
                slot.last_error = None
                slot.delay = task.interval
            slot.last_run = now
            slot.next_run = now + slot.delay
            return True, min(slot.delay, renew) if cluster else slot.delay

    # --- threads (the app) ----------------------------------------------------------------

    def start(self) -> None:
        if self._threads:
            return
        self._stop.clear()
        for slot in self._slots.values():
            thread = threading.Thread(
                target=self._loop, args=(slot,), name=f"safespace-{slot.task.name}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _loop(self, slot: _Slot[C]) -> None:
        while not self._stop.is_set():
            _, wait = self._step(slot, self.clock())
            slot.wake.wait(wait)
            slot.wake.clear()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every thread, give up leases and machine locks."""
        self._stop.set()
        for slot in self._slots.values():
            slot.wake.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        for slot in self._slots.values():
            if slot.machine is not None:
                slot.machine.release()
            if slot.holds and slot.task.placement == "once-per-cluster" and self.leases:
                try:
                    self.leases.release(slot.task.name, self.holder)
                except Exception as exc:  # it expires by itself
                    log.warning("task %s: releasing the lease failed: %s", slot.task.name, exc)
            slot.holds = False
