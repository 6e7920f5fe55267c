"""Contact decision speed with a large population of suspicious-adult signals, on one core.

Stores signal events for ``--accounts`` adults (default 1,000,000: most with one event, about
1% blocked by two children, so flagged) in a fresh SQLite database, recounts the flags (all of
them, as at start-up and hourly; then only adults with new events, as every tick does), then
measures ``ContactService.check`` per decision (p50, p99) and in a tight loop (decisions per
second), for a mix of actions between adults and children, some actors flagged. The
baseline, in the same run: the same decision with the actor's flag looked up in the database
for every check instead of in the flagged set held in memory. Prints the ratios.

    python bench/bench_contact.py                  # 1,000,000 accounts, 50,000 decisions
    python bench/bench_contact.py --quick          # 100,000 accounts, 10,000 decisions
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from safespace.contact import ACTIONS, Account, ContactRequest, Relation
from safespace.contact._service import ContactService
from safespace.contact._signals import keyed_id
from safespace.store import open_database
from safespace.store._models_contact import ContactEventRow

SECRET = b"bench-contact-secret-0123456789abcdef"
BANDS = ("under-13", "13-15", "16-17", "18-plus", "unknown")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def per_call(fn: object, items: list[ContactRequest]) -> list[float]:
    assert callable(fn)
    clock = time.perf_counter_ns
    out = []
    for item in items:
        t0 = clock()
        fn(item)
        out.append((clock() - t0) / 1000)  # microseconds
    return out


def throughput(fn: object, items: list[ContactRequest], seconds: float) -> float:
    assert callable(fn)
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for item in items[:5000]:
            fn(item)
        done += min(5000, len(items))
    return done / (time.perf_counter() - start)


def one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity here)"


def make_events(n: int, key: bytes, rng: random.Random, now: dt.datetime):
    """(kind, adult, child, at) rows: one event per adult, two blocks for about 1%."""
    flagged: list[int] = []
    for i in range(n):
        adult = keyed_id(key, f"adult-{i}")
        child = keyed_id(key, f"child-{i % 50_000}")
        at = now - dt.timedelta(minutes=rng.randint(1, 60 * 24 * 20))
        if rng.random() < 0.01:
            flagged.append(i)
            yield ("block", adult, child, at)
            yield ("report", adult, keyed_id(key, f"child-{(i + 1) % 50_000}"), at)
        else:
            yield (
                rng.choice(("request_sent", "request_accepted", "request_ignored")),
                adult,
                child,
                at,
            )
    make_events.flagged = flagged  # type: ignore[attr-defined]


def make_requests(n: int, accounts: int, rng: random.Random) -> list[ContactRequest]:
    out = []
    for _ in range(n):
        actor = Account(f"adult-{rng.randrange(accounts)}", "18-plus", rng.random() < 0.5)
        target = Account(f"child-{rng.randrange(50_000)}", rng.choice(BANDS))
        relation = Relation(
            connected=rng.random() < 0.3,
            follows=rng.random() < 0.2,
            mutual_contacts=rng.choice((0, 0, 1, 3, 12)),
        )
        out.append(ContactRequest(actor, target, rng.choice(ACTIONS), relation, country="GB"))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--decisions", type=int, default=50_000)
    parser.add_argument(
        "--baseline-decisions", type=int, default=5_000, help="the baseline is slow"
    )
    parser.add_argument("--quick", action="store_true", help="100,000 accounts, 10,000 decisions")
    parser.add_argument("--seconds", type=float, default=2.0, help="per throughput loop")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.quick:
        args.accounts, args.decisions, args.baseline_decisions = 100_000, 10_000, 2_000
    pinned = one_core()
    rng = random.Random(args.seed)
    now = dt.datetime.now(dt.UTC)

    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        service = ContactService(db, SECRET)
        key_service = service.signals
        t0 = time.perf_counter()
        events = key_service.add_events_bulk(make_events(args.accounts, key_service._key, rng, now))
        insert_s = time.perf_counter() - t0
        planted = len(make_events.flagged)  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        flagged = service.signals.refresh(service.loader.policy.signals, now=now)
        refresh_s = time.perf_counter() - t0

        fresh = [
            ("request_ignored", keyed_id(key_service._key, f"adult-{i}"),
             keyed_id(key_service._key, f"child-{i}"), now)
            for i in range(1000)
        ]  # fmt: skip
        key_service.add_events_bulk(fresh)
        t0 = time.perf_counter()
        recounted = service.signals.refresh_changes(service.loader.policy.signals, now=now)
        recount_s = time.perf_counter() - t0

        requests = make_requests(args.decisions, args.accounts, rng)

        def check(req: ContactRequest) -> object:
            return service.check(req, record=False)

        engine = service.loader.engine

        def sql_check(req: ContactRequest) -> object:
            """The baseline: ask the database whether the actor is flagged, every time."""
            subject = service.signals.key_for(req.actor.id)
            with db.session() as s:
                hit = s.scalar(
                    select(ContactEventRow.id)
                    .where(ContactEventRow.subject == subject, ContactEventRow.kind == "block")
                    .limit(1)
                )
            return engine.decide(req, actor_flagged=hit is not None)

        outcomes: dict[str, int] = {}
        denied_flagged = 0
        for req in requests:  # also warms caches
            decision = service.check(req, record=False)
            outcomes[decision.decision] = outcomes.get(decision.decision, 0) + 1
            denied_flagged += decision.rule == "flagged-adult-to-child"
        lat = per_call(check, requests)
        rate = throughput(check, requests, args.seconds)
        sample = requests[: args.baseline_decisions]
        blat = per_call(sql_check, sample)
        brate = throughput(sql_check, sample, args.seconds)
        db.close()

    p50, p99 = statistics.median(lat), percentile(lat, 0.99)
    b50, b99 = statistics.median(blat), percentile(blat, 0.99)
    print(f"accounts: {args.accounts:,} with signals ({events:,} events, {len(flagged):,} flagged "
          f"of {planted:,} planted); Python {sys.version.split()[0]}, {pinned}")  # fmt: skip
    print(f"decisions: {len(requests):,} (allow {outcomes.get('allow', 0):,}, "
          f"deny {outcomes.get('deny', 0):,}, prompt {outcomes.get('prompt', 0):,}; "
          f"{denied_flagged:,} denied as flagged)")  # fmt: skip
    print(f"load: insert {insert_s:.1f} s; full flag recount {refresh_s:.2f} s; "
          f"recount of {recounted:,} adults with new events {recount_s * 1000:.0f} ms")  # fmt: skip
    print(f"{'':34}{'p50 us':>10}{'p99 us':>10}{'decisions/s':>14}")
    print(f"{'ContactService.check':34}{p50:10.1f}{p99:10.1f}{rate:14,.0f}")
    print(f"{'SQL flag lookup per check (base)':34}{b50:10.1f}{b99:10.1f}{brate:14,.0f}")
    print(
        f"in-memory flags vs SQL lookup: {rate / brate:.1f}x decisions/s, {b99 / p99:.1f}x at p99"
    )
    print(f"targets: p99 < 1000 us: {'yes' if p99 < 1000 else 'NO'}; "
          f">= 20,000 decisions/s: {'yes' if rate >= 20_000 else 'NO'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
