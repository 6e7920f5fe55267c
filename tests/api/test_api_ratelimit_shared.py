"""API keys' rate limits hold across worker processes on one machine (a shared bucket file)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from api_helpers import MakeApi

from safespace.access import RateLimiter
from safespace.api._state import RATE_LIMIT_FILE


def test_two_limiters_on_one_file_share_each_keys_bucket(tmp_path: Path) -> None:
    now = [100.0]
    path = tmp_path / "buckets.bin"
    a = RateLimiter(2.0, 3, clock=lambda: now[0], shared_path=path)
    b = RateLimiter(2.0, 3, clock=lambda: now[0], shared_path=path)
    try:
        assert a.shared
        assert b.shared
        assert [a.wait_time(7), b.wait_time(7), a.wait_time(7)] == [0, 0, 0]
        assert b.wait_time(7) == pytest.approx(0.5)  # the burst of 3 is spent, by both
        assert a.wait_time("other key") == 0  # keys keep their own buckets
        now[0] += 0.5
        assert b.wait_time(7) == 0  # refilled at 2/s
        assert a.wait_time(7) > 0
    finally:
        a.close()
        b.close()


def test_a_bucket_from_before_a_reboot_starts_full(tmp_path: Path) -> None:
    now = [5000.0]
    path = tmp_path / "buckets.bin"
    limiter = RateLimiter(1.0, 1, clock=lambda: now[0], shared_path=path)
    assert limiter.wait_time(1) == 0
    assert limiter.wait_time(1) > 0
    now[0] = 3.0  # the monotonic clock restarted
    assert limiter.wait_time(1) == 0
    limiter.close()


def test_a_full_table_forgets_the_longest_idle_bucket(tmp_path: Path) -> None:
    now = [0.0]
    limiter = RateLimiter(0.001, 1, clock=lambda: now[0], shared_path=tmp_path / "b.bin")
    try:
        for key in range(5000):  # many more keys than the 1,024 slots
            now[0] += 1.0
            assert limiter.wait_time(key) == 0  # a new key always starts with a full bucket
        assert limiter.wait_time(4999) > 0  # the most recent ones are still remembered
    finally:
        limiter.close()


def test_a_different_layout_is_started_afresh(tmp_path: Path) -> None:
    path = tmp_path / "buckets.bin"
    path.write_bytes(b"not a bucket file")
    limiter = RateLimiter(1.0, 1, shared_path=path)
    assert limiter.shared
    assert limiter.wait_time("k") == 0
    limiter.close()


def test_an_unusable_path_falls_back_to_per_process(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    limiter = RateLimiter(1.0, 1, shared_path=blocker / "buckets.bin")
    assert not limiter.shared
    assert limiter.wait_time("k") == 0
    assert limiter.wait_time("k") > 0


def _take_all(path: str, attempts: int, results: multiprocessing.Queue[int]) -> None:
    limiter = RateLimiter(0.001, 50, shared_path=Path(path))
    results.put(sum(limiter.wait_time(42) == 0 for _ in range(attempts)))
    limiter.close()


def test_worker_processes_together_get_one_burst(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[int] = ctx.Queue()
    procs = [
        ctx.Process(target=_take_all, args=(str(tmp_path / "b.bin"), 40, results)) for _ in range(3)
    ]
    for p in procs:
        p.start()
    allowed = [results.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(60)
    assert sum(allowed) == 50  # 120 tries by 3 processes, one burst of 50 between them


def test_two_apps_on_one_data_dir_share_a_keys_limit(make_api: MakeApi) -> None:
    first = make_api(rate_limit_per_second=0.01, rate_limit_burst=4)
    second = make_api(rate_limit_per_second=0.01, rate_limit_burst=4)
    assert first.state.settings.data_dir == second.state.settings.data_dir
    assert (first.state.settings.data_dir / RATE_LIMIT_FILE).exists()
    headers = first.as_("match")  # a key made through the first app, valid in both
    statuses = []
    for api in (first, second, first, second, first, second):
        r = api.client.post("/v1/match", headers=headers, json={"signals": {"md5": "0" * 32}})
        statuses.append(r.status_code)
    assert statuses == [200, 200, 200, 200, 429, 429]
