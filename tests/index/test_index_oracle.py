"""The index must return exactly what brute force returns: no misses, no extras."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from index_helpers import flip, oracle, tight_buffers

from safespace.index import PDQIndex

RADII = st.one_of(st.sampled_from([0, 1, 2, 10, 30, 31, 32, 45, 46, 60, 70]), st.integers(0, 70))
MODES = st.sampled_from(["auto", "probe", "scan"])
CHUNKS = st.sampled_from([None, 10, 11, 12, 13, 16, 21, 25, 32])
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _index(buffer_rows: int, mode: str, chunks: int | None) -> PDQIndex:
    index = PDQIndex()
    index._buffer_rows = buffer_rows
    index._mode = mode  # type: ignore[assignment]
    index._chunks = chunks
    return index


def _dataset(
    rng: np.random.Generator, n_random: int, radius: int, n_queries: int, clustered: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Random rows plus, for every query, neighbours planted at distances 0..radius+1."""
    queries = rng.integers(0, 256, (n_queries, 32), dtype=np.uint8)
    if clustered:
        # Few prototypes with small edits: skewed buckets and many hits per query.
        protos = np.concatenate([queries, rng.integers(0, 256, (2, 32), dtype=np.uint8)])
        rows = [flip(protos[rng.integers(len(protos))], int(rng.integers(0, 6)), rng)
                for _ in range(n_random)]  # fmt: skip
    else:
        rows = list(rng.integers(0, 256, (n_random, 32), dtype=np.uint8))
    dists = sorted({0, 1, max(radius - 1, 0), radius, radius + 1, int(rng.integers(0, radius + 2))})
    for q in queries:
        rows.extend(flip(q, d, rng) for d in dists)
    rows.append(queries[0].copy())  # an exact duplicate of another planted row
    data = np.array(rows, dtype=np.uint8).reshape(-1, 32)
    return data, queries


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    n_random=st.integers(0, 150),
    radius=RADII,
    n_queries=st.integers(1, 4),
    batches=st.integers(1, 5),
    buffer_rows=st.sampled_from([1, 3, 16, 64, 100_000]),
    mode=MODES,
    chunks=CHUNKS,
    clustered=st.booleans(),
    tight=st.booleans(),
)
def test_search_equals_brute_force(
    seed: int, n_random: int, radius: int, n_queries: int, batches: int, buffer_rows: int,
    mode: str, chunks: int | None, clustered: bool, tight: bool,
) -> None:  # fmt: skip
    rng = np.random.default_rng(seed)
    data, queries = _dataset(rng, n_random, radius, n_queries, clustered)
    ids = rng.choice(np.arange(-(2**40), 2**40, 2**20), size=len(data), replace=False)
    index = _index(buffer_rows, mode, chunks)
    for part in np.array_split(np.arange(len(data)), batches):
        index.add(ids[part], data[part])
    expected = oracle(dict(zip(ids.tolist(), data, strict=True)), queries, radius)
    with tight_buffers(tight):
        assert index.search(queries, radius=radius) == expected
    assert len(index) == len(data)


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    steps=st.lists(st.sampled_from(["add", "readd", "remove", "compact"]), min_size=1, max_size=12),
    radius=RADII,
    buffer_rows=st.sampled_from([1, 2, 5, 32]),
    mode=MODES,
    chunks=CHUNKS,
    tight=st.booleans(),
)
def test_mutations_match_a_dict(
    seed: int,
    steps: list[str],
    radius: int,
    buffer_rows: int,
    mode: str,
    chunks: int | None,
    tight: bool,
) -> None:
    """Adds, replacements, removals and compactions: the index equals a plain dict."""
    rng = np.random.default_rng(seed)
    queries = rng.integers(0, 256, (3, 32), dtype=np.uint8)
    index = _index(buffer_rows, mode, chunks)
    truth: dict[int, np.ndarray] = {}
    next_id = 0
    for step in steps:
        if step in ("add", "readd"):
            k = int(rng.integers(1, 12))
            if step == "readd" and truth:
                ids = rng.choice(list(truth), size=min(k, len(truth)), replace=False).tolist()
            else:
                ids = list(range(next_id, next_id + k))
                next_id += k
            hashes = np.stack([
                flip(queries[rng.integers(3)], int(rng.integers(0, radius + 2)), rng)
                for _ in ids
            ])  # fmt: skip
            index.add(ids, hashes)
            truth.update(zip(ids, hashes, strict=True))
        elif step == "remove":
            pool = [*truth, 10**12, -5]
            gone = rng.choice(pool, size=int(rng.integers(0, len(pool) + 1)), replace=False)
            expected_gone = sum(1 for g in set(gone.tolist()) if g in truth)
            assert index.remove(gone) == expected_gone
            for g in gone.tolist():
                truth.pop(g, None)
        else:
            index.compact()
        assert len(index) == len(truth)
        with tight_buffers(tight):
            assert index.search(queries, radius=radius) == oracle(truth, queries, radius)


@pytest.mark.parametrize("merge_ratio", [0, 2])
def test_many_segments_and_duplicate_hashes(merge_ratio: int) -> None:
    rng = np.random.default_rng(1234)
    index = _index(buffer_rows=4, mode="probe", chunks=None)
    index._merge_ratio = merge_ratio  # 0 never merges: a hundred segments
    q = rng.integers(0, 256, (1, 32), dtype=np.uint8)
    truth: dict[int, np.ndarray] = {}
    for k in range(400):
        h = q[0] if k % 3 == 0 else flip(q[0], int(rng.integers(0, 40)), rng)
        index.add([k], h[None, :])
        truth[k] = h
    assert len(index._segments) == (100 if merge_ratio == 0 else 3)
    for r in (0, 15, 31, 32, 40):
        assert index.search(q, radius=r) == oracle(truth, q, r)
        with tight_buffers():
            assert index.search(q, radius=r) == oracle(truth, q, r)


def test_empty_index_and_no_queries() -> None:
    index = PDQIndex()
    q = np.zeros((2, 32), dtype=np.uint8)
    assert index.search(q) == [[], []]
    assert index.search(np.zeros((0, 32), dtype=np.uint8)) == []
    assert len(index) == 0
    assert index.remove([1, 2]) == 0
    index.compact()
    assert index.search(q, radius=70) == [[], []]


def test_readd_in_one_batch_last_wins() -> None:
    index = PDQIndex()
    a = np.zeros(32, dtype=np.uint8)
    b = np.full(32, 255, dtype=np.uint8)
    index.add([7, 7], np.stack([a, b]))
    assert len(index) == 1
    assert index.search(b[None, :], radius=0) == [[(7, 0)]]
    assert index.search(a[None, :], radius=0) == [[]]
    index.add([7], a[None, :])
    assert index.search(a[None, :], radius=0) == [[(7, 0)]]
    assert index.search(b[None, :], radius=0) == [[]]


def test_radius_extremes() -> None:
    rng = np.random.default_rng(1234)
    data = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    index = PDQIndex()
    index._buffer_rows = 100
    index.add(range(300), data)
    truth = dict(enumerate(data))
    for r in (0, 70, 100, 128):
        assert index.search(data[:3], radius=r) == oracle(truth, data[:3], r)
        with tight_buffers():
            assert index.search(data[:3], radius=r) == oracle(truth, data[:3], r)
    hits = index.search(data[:1], radius=128)[0]
    assert hits[0] == (0, 0)


def test_segments_never_exceed_their_row_limit() -> None:
    rng = np.random.default_rng(5)
    q = rng.integers(0, 256, (2, 32), dtype=np.uint8)
    data = np.stack([flip(q[k % 2], k % 35, rng) for k in range(23)])
    index = _index(buffer_rows=1, mode="probe", chunks=None)
    index._max_rows = 5
    index.add(range(23), data)
    assert [len(s) for s in index._segments] == [5, 5, 5, 5, 3]
    truth = dict(enumerate(data))
    assert index.search(q, radius=31) == oracle(truth, q, 31)
    index.add(range(100, 110), data[:10])
    index.compact()
    assert max(len(s) for s in index._segments) <= 5
    truth.update(zip(range(100, 110), data[:10], strict=True))
    assert index.search(q, radius=31) == oracle(truth, q, 31)
