"""What a rate-limit check costs per API request, by where the buckets live.

``machine`` (the default: a memory-mapped file shared by a machine's workers, under a file
lock) and ``cluster`` (a row of PostgreSQL's ``rate_limit_buckets``, one upsert per request)
are timed for the same keys, next to two references on the same connection pool: a bare
``SELECT 1`` round trip, and ``SELECT 1`` in a transaction as the cluster take runs it (with
``synchronous_commit`` off). Ratios are to the bare ``SELECT 1``, so they hold on a faster or
slower machine; the cluster figure is what docs/api.md's "about N times a SELECT 1" quotes.

    python bench/bench_rate_limit.py --database-url postgresql+psycopg://USER:PW@HOST/DB
    (or SAFESPACE_TEST_PG_URL set; without PostgreSQL only the machine scope is measured)
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from safespace.access import RateLimiter
from safespace.store import open_database


def _time(call: Callable[[int], object], requests: int, keys: int) -> tuple[float, float]:
    """(median, p99) microseconds per call over ``requests`` calls spread over ``keys``."""
    for i in range(min(requests, 200)):  # warm the pool, the statement cache, the pages
        call(i % keys)
    took: list[float] = []
    for i in range(requests):
        t0 = time.perf_counter_ns()
        call(i % keys)
        took.append((time.perf_counter_ns() - t0) / 1000)
    took.sort()
    return statistics.median(took), took[min(len(took) - 1, int(len(took) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("SAFESPACE_TEST_PG_URL"))
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--keys", type=int, default=50)
    args = parser.parse_args()
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        # A rate that never runs out during the run: every call takes a token and is allowed.
        machine = RateLimiter(1e9, 10**9, shared_path=Path(tmp) / "ratelimits.bin")
        assert machine.scope == "machine"
        rows.append(("machine (shared file)", *_time(lambda k: machine.wait_time(f"key-{k}"),
                                                      args.requests, args.keys)))  # fmt: skip
        url = args.database_url
        if url and url.startswith("postgresql"):
            db = open_database(url)
            try:
                cluster = RateLimiter(1e9, 10**9, cluster_db=db)
                assert cluster.scope == "cluster"

                def bare(_: int) -> None:
                    with db.engine.connect() as conn:
                        conn.execute(text("SELECT 1")).one()

                def in_transaction(_: int) -> None:
                    with db.engine.begin() as conn:
                        conn.execute(text("SET LOCAL synchronous_commit = off"))
                        conn.execute(text("SELECT 1")).one()

                rows.append(("SELECT 1", *_time(bare, args.requests, args.keys)))
                rows.append(("SELECT 1 in a transaction", *_time(in_transaction, args.requests,
                                                                 args.keys)))  # fmt: skip

                def take(k: int) -> None:
                    cluster.wait_time(f"key-{k}")

                rows.append(("cluster (PostgreSQL upsert)", *_time(take, args.requests, args.keys)))
            finally:
                db.close()
        else:
            print("no PostgreSQL URL: the cluster scope is not measured")
    reference = next((p50 for name, p50, _ in rows if name == "SELECT 1"), None)
    print(f"{args.requests:,} requests over {args.keys} keys, load {os.getloadavg()[0]:.2f}")
    print(f"{'check':<30} {'p50 us':>10} {'p99 us':>10} {'x SELECT 1':>11}")
    for name, p50, p99 in rows:
        ratio = f"{p50 / reference:>10.3f}x" if reference else f"{'-':>11}"
        print(f"{name:<30} {p50:>10.1f} {p99:>10.1f} {ratio}")


if __name__ == "__main__":
    main()
