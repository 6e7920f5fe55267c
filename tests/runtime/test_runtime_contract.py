"""Every registered background task keeps one contract, driven by explicit clocks (no sleeps).

A task runs; running it twice in a row is harmless; when what it needs fails, the runner logs
the failure and the task runs again at its next interval; its placement is one of the three
the runner knows. The runner's placements themselves are tested here too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from safespace.api import create_app
from safespace.config import Settings
from safespace.contact._runtime import runtime_for
from safespace.runtime import PLACEMENTS, TASKS, AppContext, PeriodicTask, TaskRunner

NAMES = [task.name for task in TASKS]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    """An app that is built but not started: no thread runs, the test drives every task."""
    settings = Settings(data_dir=tmp_path / "data", deter_secret="s" * 40)
    built = create_app(settings)
    runtime_for(built.state, settings, built.state.safespace.db).service()  # contact in use
    try:
        yield built
    finally:
        built.state.safespace.db.close()


def _runner(app: FastAPI, name: str) -> TaskRunner[AppContext]:
    runner: TaskRunner[AppContext] = app.state.tasks
    task = next(t for t in runner.tasks if t.name == name)
    return TaskRunner([task], runner.context, leases=runner.leases, lock_dir=runner.lock_dir)


class _Broken:
    """Stands for every part of the app, and fails on any use (a database that is away)."""

    def __getattr__(self, name: str) -> Any:
        raise ConnectionError("the database is away")


def test_the_registry_names_each_task_once_with_a_placement_and_a_description() -> None:
    assert len(set(NAMES)) == len(NAMES)
    for task in TASKS:
        assert task.placement in PLACEMENTS
        assert task.interval > 0
        assert task.description.endswith(".")
        if task.setting is not None:
            assert task.setting in Settings.model_fields


def test_intervals_come_from_the_settings() -> None:
    settings = Settings(review_poll_seconds=7)
    review = next(t for t in TASKS if t.name == "review-queue").configured(settings)
    assert review.interval == 7


@pytest.mark.parametrize("name", NAMES)
def test_a_task_runs_and_running_it_twice_is_harmless(app: FastAPI, name: str) -> None:
    runner = _runner(app, name)
    assert runner.run_due(now=1000.0) == [name]
    assert runner.run_due(now=1000.0) == []  # not due again yet
    interval = runner.tasks[0].interval
    assert runner.run_due(now=1000.0 + interval) == [name]  # the second run, straight after
    assert runner.stats(name)["failures"] == 0


@pytest.mark.parametrize("name", NAMES)
def test_a_failing_task_is_logged_and_runs_again_next_interval(
    app: FastAPI, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    runner = _runner(app, name)
    context = runner.context
    runner.context = _Broken()  # type: ignore[assignment]
    with caplog.at_level(logging.WARNING, logger="safespace.runtime"):
        assert runner.run_due(now=1000.0) == [name]
    assert runner.stats(name)["failures"] == 1
    assert "the database is away" in caplog.text
    runner.context = context
    interval = runner.tasks[0].interval
    assert runner.run_due(now=1000.0 + interval / 2) == []  # waits out its interval
    assert runner.run_due(now=1000.0 + interval) == [name]
    assert runner.stats(name)["last_error"] is None


# --- the helper's placements --------------------------------------------------------------


@dataclass
class Counter:
    runs: int = 0

    def bump(self) -> None:
        self.runs += 1


def _counting(placement: Any, interval: float = 10.0) -> PeriodicTask[Counter]:
    return PeriodicTask[Counter](
        name="count", interval=interval, run=Counter.bump, placement=placement, description="."
    )


def test_an_unknown_placement_is_refused() -> None:
    with pytest.raises(ValueError, match="placement"):
        _counting("somewhere")


def test_once_per_machine_runs_in_the_process_holding_the_lock(tmp_path: Path) -> None:
    one, two = Counter(), Counter()
    first = TaskRunner([_counting("once-per-machine")], one, lock_dir=tmp_path)
    second = TaskRunner([_counting("once-per-machine")], two, lock_dir=tmp_path)
    first.run_due(now=0.0)
    second.run_due(now=0.0)
    assert (one.runs, two.runs) == (1, 0)
    first.stop()  # its worker exits: the lock goes, the other takes over at its next look
    second.run_due(now=10.0)
    assert two.runs == 1
    second.stop()


def test_a_trigger_makes_a_task_due_now() -> None:
    counter = Counter()
    runner = TaskRunner([_counting("every-worker")], counter)
    runner.run_due(now=0.0)
    runner.run_due(now=1.0)
    assert counter.runs == 1
    runner.trigger("count")
    runner.run_due(now=2.0)
    assert counter.runs == 2


def test_a_clock_that_goes_back_does_not_stall_a_task() -> None:
    counter = Counter()
    runner = TaskRunner([_counting("every-worker")], counter)
    runner.run_due(now=1_000_000.0)
    runner.run_due(now=5.0)  # the clock was set back days
    assert counter.runs == 2


def test_backoff_doubles_up_to_its_limit() -> None:
    calls: list[float] = []

    def fail(_: None) -> None:
        calls.append(0)
        raise OSError("down")

    task = PeriodicTask[None](
        name="b", interval=1.0, run=fail, placement="every-worker", description=".",
        max_backoff=4.0,
    )  # fmt: skip
    runner = TaskRunner([task], None)
    ran = [t for t in (0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 7.0, 10.0, 14.0) if runner.run_due(now=t)]
    assert ran == [0.0, 1.0, 3.0, 7.0, 14.0]  # waits 1, 2, 4, then 4 again
