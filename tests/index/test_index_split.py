"""One query's chunks shared by several threads (big segments) finds exactly what brute
force finds: each row once, through the first chunk that can reach it, whichever part."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from index_helpers import flip, oracle, tight_buffers

from safespace.index import PDQIndex, _segment
from safespace.index._plan import plan_for, split_chunks

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextmanager
def split(parts: int) -> Iterator[None]:
    """Split every probe of fewer than a million queries into ``parts`` chunk parts."""
    saved = (_segment.SPLIT_ROWS, _segment.SPLIT_QUERIES, _segment.SPLIT_PARTS)
    _segment.SPLIT_ROWS, _segment.SPLIT_QUERIES, _segment.SPLIT_PARTS = 1, 1 << 20, parts
    try:
        yield
    finally:
        _segment.SPLIT_ROWS, _segment.SPLIT_QUERIES, _segment.SPLIT_PARTS = saved


def _one_segment(seed: int) -> tuple[PDQIndex, np.ndarray]:
    """A probe-mode index of 300 random rows in one segment, and those rows."""
    data = np.random.default_rng(seed).integers(0, 256, (300, 32), dtype=np.uint8)
    index = PDQIndex()
    index._mode = "probe"
    index.add(np.arange(300), data)
    index.compact()
    return index, data


def _spy_on_items(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many items each split probe hands the kernels, call by call."""
    seen: list[int] = []
    real = _segment.Tables._items

    def spy(self: _segment.Tables, qs: np.ndarray, item_q: np.ndarray, *a: object) -> object:
        seen.append(len(item_q))
        return real(self, qs, item_q, *a)  # type: ignore[arg-type]

    monkeypatch.setattr(_segment.Tables, "_items", spy)
    return seen


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    n_random=st.integers(0, 200),
    radius=st.one_of(st.sampled_from([0, 1, 8, 31, 32, 45]), st.integers(0, 50)),
    n_queries=st.integers(1, 4),
    chunks=st.sampled_from([None, 8, 10, 11, 16, 32]),
    parts=st.integers(2, 7),
    clustered=st.booleans(),
    tight=st.booleans(),
)
def test_split_probe_equals_brute_force(
    seed: int, n_random: int, radius: int, n_queries: int, chunks: int | None, parts: int,
    clustered: bool, tight: bool,
) -> None:  # fmt: skip
    rng = np.random.default_rng(seed)
    queries = rng.integers(0, 256, (n_queries, 32), dtype=np.uint8)
    if clustered:
        rows = [flip(queries[rng.integers(n_queries)], int(rng.integers(0, 12)), rng)
                for _ in range(n_random)]  # fmt: skip
    else:
        rows = list(rng.integers(0, 256, (n_random, 32), dtype=np.uint8))
    for q in queries:
        rows.extend(flip(q, d, rng) for d in {0, max(radius - 1, 0), radius, radius + 1})
    rows.append(queries[0].copy())
    data = np.array(rows, dtype=np.uint8).reshape(-1, 32)
    ids = rng.choice(np.arange(-(2**40), 2**40, 2**20), size=len(data), replace=False)
    index = PDQIndex()
    index._mode = "probe"
    index._chunks = chunks
    index.add(ids, data)
    index.compact()  # one segment: the rows leave the brute-force buffer
    expected = oracle(dict(zip(ids.tolist(), data, strict=True)), queries, radius)
    with split(parts), tight_buffers(tight):
        assert index.search(queries, radius=radius) == expected


def test_split_path_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The split path is the one taken (not the whole-query kernels)."""
    index, data = _one_segment(5)
    seen = _spy_on_items(monkeypatch)
    with split(3):
        assert index.search(data[:2], radius=31) == [[(0, 0)], [(1, 0)]]
    assert seen == [6]


@pytest.mark.parametrize("parts", [2, 3, 4])
def test_split_spreads_the_cost(parts: int) -> None:
    """Every part gets chunks, and the costliest part carries little more than its share."""
    from safespace.index._plan import chunk_costs

    plan = plan_for(100_000_000)
    part_of = split_chunks(plan, 100_000_000, 31, parts)
    assert sorted(set(part_of.tolist())) == list(range(parts))
    costs = np.array(chunk_costs(plan, 100_000_000, 31))
    per_part = np.bincount(part_of, weights=costs, minlength=parts)
    assert per_part.max() <= max(costs.sum() / parts * 1.5, costs.max())


def test_large_plans_widen_the_chunks_probed_further() -> None:
    """From WIDE_FROM rows the plan may widen the chunks probed at the larger radius; it is a
    valid stored plan and no costlier (by the model) than equal widths."""
    from safespace.index._plan import WIDE_FROM, plan_from, probe_cost

    for n in (WIDE_FROM, 100_000_000, 1 << 28):
        plan = plan_for(n)
        assert sum(plan.widths) == 256
        assert plan_from(list(plan.widths), list(plan.tbits)) == plan
        assert n <= 1 << plan.row_bits
        equal = plan_for(n, plan.m)  # a pinned chunk count keeps equal widths
        assert probe_cost(plan, n, 31) <= probe_cost(equal, n, 31)
    assert plan_for(100_000_000).widths == (28, 28) + (25,) * 8


@pytest.mark.parametrize("radius", [0, 5, 30, 31, 32, 40])
def test_unequal_widths_find_what_brute_force_finds(radius: int) -> None:
    from safespace.index._plan import ChunkPlan
    from safespace.index._segment import Segment

    rng = np.random.default_rng(radius)
    queries = rng.integers(0, 256, (3, 32), dtype=np.uint8)
    rows = list(rng.integers(0, 256, (500, 32), dtype=np.uint8))
    for q in queries:
        rows.extend(flip(q, d, rng) for d in range(0, radius + 2, 3))
    data = np.array(rows, dtype=np.uint8)
    ids = np.arange(len(data), dtype=np.int64)
    plan = ChunkPlan((28, 28) + (25,) * 8, (6,) * 10)
    seg = Segment.build(ids, data, plan)
    qi, got_ids, dist = seg.search(queries.view(np.uint64), radius, "probe")
    got = [sorted(zip(got_ids[qi == k].tolist(), dist[qi == k].tolist(), strict=True),
                  key=lambda p: (p[1], p[0])) for k in range(3)]  # fmt: skip
    assert got == oracle(dict(zip(ids.tolist(), data, strict=True)), queries, radius)


@pytest.mark.parametrize(
    ("threads", "cpus", "load", "parts"),
    [
        (1, 2, 0.0, 1),  # one search thread (a service worker's default): never split
        (2, 2, 0.1, 2),  # an idle machine: one part per thread
        (2, 2, 1.3, 2),  # the caller busy, the other core idle
        (2, 2, 1.6, 1),  # the other core mostly busy: a part would wait for it
        (2, 2, 2.0, 1),  # every core busy (two service workers under load)
        (2, 2, 13.0, 1),
        (16, 8, 5.2, 4),  # three cores idle beside the caller's
        (16, 64, 0.0, 10),  # never more parts than chunks
    ],
)
def test_auto_split_takes_only_idle_cores(threads: int, cpus: int, load: float, parts: int) -> None:
    assert _segment.split_parts(threads, 10, cpus, load) == parts


def test_auto_split_follows_the_load(monkeypatch: pytest.MonkeyPatch) -> None:
    """With SPLIT_PARTS at 0 (auto), a big segment's lone query is split only while the
    load average leaves a core idle; the reading is reused for LOAD_TTL seconds."""
    index, data = _one_segment(9)
    seen = _spy_on_items(monkeypatch)
    readings = iter([0.2, 5.0])
    clock = [1000.0]
    monkeypatch.setattr(_segment.os, "getloadavg", lambda: (next(readings), 0.0, 0.0))
    monkeypatch.setattr(_segment.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(_segment.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(_segment.numba, "get_num_threads", lambda: 2)
    monkeypatch.setattr(_segment, "_load_seen", [-_segment.LOAD_TTL, 0.0])
    monkeypatch.setattr(_segment, "SPLIT_ROWS", 1)
    assert _segment.SPLIT_PARTS == 0
    assert index.search(data[:1], radius=31) == [[(0, 0)]]  # load 0.2: split in two
    clock[0] += _segment.LOAD_TTL / 2
    assert index.search(data[1:2], radius=31) == [[(1, 0)]]  # same reading: split again
    clock[0] += _segment.LOAD_TTL
    assert index.search(data[2:3], radius=31) == [[(2, 0)]]  # load 5.0: whole query
    assert seen == [2, 2]
