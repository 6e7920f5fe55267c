"""API keys' rate limits across machines, when the operator asks for it: buckets in
PostgreSQL, so limiters that share nothing but the database share each key's bucket."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import MakeApi

from safespace.access import RateLimiter
from safespace.errors import ConfigError
from safespace.store import Database, open_database


@pytest.fixture
def pg(pg_url: str) -> Iterator[Database]:
    db = open_database(pg_url)
    try:
        yield db
    finally:
        db.close()


def test_two_machines_limiters_share_each_keys_bucket(pg: Database) -> None:
    now = [1_000_000.0]
    a = RateLimiter(2.0, 3, clock=lambda: now[0], cluster_db=pg)
    b = RateLimiter(2.0, 3, clock=lambda: now[0], cluster_db=pg)
    assert a.scope == b.scope == "cluster"
    assert [a.wait_time(7), b.wait_time(7), a.wait_time(7)] == [0, 0, 0]
    assert b.wait_time(7) == pytest.approx(0.5)  # the burst of 3 is spent, by both
    assert a.wait_time("other key") == 0  # keys keep their own buckets
    now[0] += 0.5
    assert b.wait_time(7) == 0  # refilled at 2/s
    assert a.wait_time(7) == pytest.approx(0.5)
    now[0] += 10.0
    assert [a.wait_time(7) for _ in range(4)] == [0, 0, 0, pytest.approx(0.5)]  # full, capped


def test_concurrent_takes_never_exceed_the_burst(pg: Database) -> None:
    limiters = [RateLimiter(0.001, 50, clock=lambda: 5_000.0, cluster_db=pg) for _ in range(4)]
    allowed: list[int] = []
    start = threading.Barrier(len(limiters))

    def take_all(limiter: RateLimiter) -> None:
        start.wait()
        allowed.append(sum(limiter.wait_time("common") == 0 for _ in range(30)))

    threads = [threading.Thread(target=take_all, args=(limiter,)) for limiter in limiters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(allowed) == 50  # 120 tries on 4 limiters, one burst of 50 between them


def test_two_machines_apps_share_a_keys_limit_per_cluster(
    make_api: MakeApi, db_url: str, tmp_path: Path
) -> None:
    if not db_url.startswith("postgresql"):
        with pytest.raises(ConfigError, match="PostgreSQL"):
            make_api(rate_limit_scope="cluster")
        return
    limits = {"rate_limit_per_second": 0.01, "rate_limit_burst": 4, "rate_limit_scope": "cluster"}
    first = make_api(data_dir=tmp_path / "machine-a", **limits)
    second = make_api(data_dir=tmp_path / "machine-b", **limits)  # no shared bucket file
    assert first.state.limiter.scope == "cluster"
    headers = first.as_("match")  # a key made through the first app, valid in both
    statuses = []
    for api in (first, second, first, second, first, second):
        r = api.client.post("/v1/match", headers=headers, json={"signals": {"md5": "0" * 32}})
        statuses.append(r.status_code)
    assert statuses == [200, 200, 200, 200, 429, 429]
