"""Once per cluster: lease rows on SQLite and PostgreSQL, with explicit times (no sleeps)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from safespace.runtime import Leases, PeriodicTask, TaskRunner
from safespace.store import Database

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=30)


def test_a_lease_is_held_renewed_and_released(database: Database) -> None:
    leases = Leases(database)
    assert leases.acquire("fetch", "a", now=T0, ttl=TTL)
    assert leases.acquire("fetch", "a", now=T0 + timedelta(seconds=10), ttl=TTL)  # renewed
    assert not leases.acquire("fetch", "b", now=T0 + timedelta(seconds=35), ttl=TTL)
    assert leases.holder("fetch", now=T0 + timedelta(seconds=35)) == "a"
    leases.release("fetch", "a")
    assert leases.holder("fetch", now=T0 + timedelta(seconds=35)) is None
    assert leases.acquire("fetch", "b", now=T0 + timedelta(seconds=35), ttl=TTL)


def test_a_dead_holders_lease_expires_and_is_taken_over(database: Database) -> None:
    leases = Leases(database)
    assert leases.acquire("fetch", "dead", now=T0, ttl=TTL)  # then it stops renewing
    assert not leases.acquire("fetch", "live", now=T0 + TTL - timedelta(seconds=1), ttl=TTL)
    assert leases.acquire("fetch", "live", now=T0 + TTL, ttl=TTL)
    assert not leases.acquire("fetch", "dead", now=T0 + TTL, ttl=TTL)  # back too late
    assert leases.holder("fetch", now=T0 + TTL) == "live"


def test_two_holders_competing_get_one_lease(database: Database) -> None:
    won: list[str] = []
    start = threading.Barrier(8)

    def compete(who: str) -> None:
        start.wait()
        if Leases(database).acquire("fetch", who, now=T0, ttl=TTL):
            won.append(who)

    threads = [threading.Thread(target=compete, args=(f"h{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert Leases(database).holder("fetch", now=T0) == won[0]


@dataclass
class Counter:
    runs: int = 0

    def bump(self) -> None:
        self.runs += 1


def test_two_machines_run_a_cluster_task_once_and_the_survivor_takes_over(
    database: Database,
) -> None:
    task = PeriodicTask[Counter](
        name="fetch", interval=10.0, run=Counter.bump, placement="once-per-cluster",
        description=".",
    )  # fmt: skip
    epoch = T0.timestamp()
    one, two = Counter(), Counter()
    first = TaskRunner([task], one, leases=Leases(database), holder="m1", lease_ttl=30)
    second = TaskRunner([task], two, leases=Leases(database), holder="m2", lease_ttl=30)
    for step in range(3):
        first.run_due(now=epoch + 10 * step)
        second.run_due(now=epoch + 10 * step)
    assert (one.runs, two.runs) == (3, 0)
    # m1 dies (no stop, no release): m2 takes over once the lease has expired
    second.run_due(now=epoch + 40)
    assert two.runs == 0
    second.run_due(now=epoch + 20 + 30)
    assert two.runs == 1
    second.stop()  # a clean stop gives the lease up at once
    assert Leases(database).holder("fetch", now=T0 + timedelta(seconds=51)) is None
