"""A batch of queries gets what each query gets alone: the same hits, in the same order.

``PDQIndex.search_arrays`` answers a batch (a video's frames) in one pass; ``search`` cuts it
per query. Batches of 8 or more queries take the parallel probe kernel and single queries
the serial one, so this also holds the two kernels to each other, and both to brute force.
The frame index's batched search and its array loading are held to the same answers as
one-by-one adds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from index_helpers import flip, oracle, tight_buffers

from safespace.index import FrameIndex, PDQIndex, VideoThresholds
from safespace.index._frames import _probes
from safespace.signals import dihedral_variants

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    n_random=st.integers(0, 300),
    radius=st.sampled_from([0, 1, 8, 16, 31, 32, 45]),
    n_queries=st.integers(1, 40),
    mode=st.sampled_from(["auto", "probe", "scan"]),
    buffer_rows=st.sampled_from([1, 16, 100_000]),
    tight=st.booleans(),
)
def test_a_batch_equals_its_queries_one_by_one(
    seed: int,
    n_random: int,
    radius: int,
    n_queries: int,
    mode: str,
    buffer_rows: int,
    tight: bool,
) -> None:
    rng = np.random.default_rng(seed)
    queries = rng.integers(0, 256, (n_queries, 32), dtype=np.uint8)
    rows = list(rng.integers(0, 256, (n_random, 32), dtype=np.uint8))
    for q in queries:  # neighbours at and around the radius, so most queries have hits
        rows.extend(flip(q, d, rng) for d in {0, max(radius - 1, 0), radius, radius + 1})
    data = np.array(rows, dtype=np.uint8).reshape(-1, 32)
    index = PDQIndex()
    index._buffer_rows = buffer_rows
    index._mode = mode  # type: ignore[assignment]
    ids = rng.permutation(len(data)).astype(np.int64) * 3
    index.add(ids, data)
    with tight_buffers(tight):
        batch = index.search(queries, radius)
        alone = [index.search(queries[k : k + 1], radius)[0] for k in range(n_queries)]
        qidx, hit_ids, dist = index.search_arrays(queries, radius)
    assert batch == alone
    assert batch == oracle(dict(zip(ids.tolist(), data, strict=True)), queries, radius)
    flat = [(int(q), (int(i), int(d))) for q, i, d in zip(qidx, hit_ids, dist, strict=True)]
    assert flat == [(k, pair) for k, hits in enumerate(batch) for pair in hits]


def test_an_empty_batch_and_an_empty_index_answer_nothing() -> None:
    index = PDQIndex()
    assert index.search([]) == []
    assert [len(a) for a in index.search_arrays([])] == [0, 0, 0]
    assert index.search(["0" * 64]) == [[]]
    assert [len(a) for a in index.search_arrays(["0" * 64])] == [0, 0, 0]


@dataclass(frozen=True)
class Frame:
    pdq: str
    quality: int
    timestamp: float


def _hash(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _near(pdq: str, bits: int, rng: random.Random) -> str:
    value = int(pdq, 16)
    for bit in rng.sample(range(256), bits):
        value ^= 1 << bit
    return f"{value:064x}"


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), dihedral=st.booleans())
def test_loading_frame_arrays_equals_adding_videos_one_by_one(seed: int, dihedral: bool) -> None:
    """The same videos, added one at a time or loaded as arrays in any order, match the
    same queries identically; shared and repeated frames included."""
    rng = random.Random(seed)
    pool = [_hash(rng) for _ in range(12)]  # frames several videos share
    videos: dict[int, list[Frame]] = {}
    for vid in rng.sample(range(1, 50), 6):
        frames = [
            Frame(rng.choice(pool) if rng.random() < 0.4 else _hash(rng),
                  rng.choice([20, 60, 90]), float(t))
            for t in range(rng.randint(1, 10))
        ]  # fmt: skip
        videos[vid] = frames
    one_by_one = FrameIndex()
    for vid, frames in videos.items():
        one_by_one.add(vid, frames)
    loaded = FrameIndex()
    flat = [(vid, f) for vid, frames in videos.items() for f in frames]
    rng.shuffle(flat)
    counts = loaded.add_arrays(
        np.array([vid for vid, _ in flat], dtype=np.int64),
        np.array([list(bytes.fromhex(f.pdq)) for _, f in flat], dtype=np.uint8).reshape(-1, 32),
        np.array([f.timestamp for _, f in flat], dtype=np.float64),
        np.array([f.quality for _, f in flat], dtype=np.int64),
    )
    assert counts == {vid: one_by_one.add(vid, frames) for vid, frames in videos.items()}
    assert loaded.frame_count == one_by_one.frame_count
    assert len(loaded) == len(one_by_one)
    loose = VideoThresholds(distance=24, query_percent=0.0, compared_percent=0.0)
    for frames in videos.values():
        query = [Frame(_near(f.pdq, rng.randint(0, 30), rng), 90, f.timestamp) for f in frames]
        assert loaded.search(query, loose, dihedral=dihedral) == one_by_one.search(
            query, loose, dihedral=dihedral
        )
    gone = rng.choice(list(videos))
    assert loaded.remove(gone) == one_by_one.remove(gone)
    assert loaded.frame_count == one_by_one.frame_count
    for frames in videos.values():
        assert loaded.search(frames, loose) == one_by_one.search(frames, loose)


@settings(max_examples=30, deadline=None)
@given(hashes=st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=20))
def test_a_query_s_dihedral_probes_are_dihedral_variants_of_each_frame(
    hashes: list[bytes],
) -> None:
    hexes = [h.hex() for h in hashes]
    probes, probe_of = _probes(hexes, dihedral=True)
    want = [(i, v) for i, h in enumerate(hexes) for v in dihedral_variants(h)]
    got = [(int(i), row.tobytes().hex()) for i, row in zip(probe_of, probes, strict=True)]
    assert got == want
    plain, plain_of = _probes(hexes, dihedral=False)
    assert [row.tobytes().hex() for row in plain] == hexes
    assert plain_of.tolist() == list(range(len(hexes)))
