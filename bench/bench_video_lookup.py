"""Benchmark video lookup: a 60-frame query against banks of 1M and 10M frame hashes.

Banked videos are random PDQ frames (100 per video), loaded as a snapshot loads them
(``FrameIndex.add_arrays``); queries are banked videos with 60 frames, each with a few bits
flipped, plus queries of unrelated frames. For each size it prints the load average, the
build time, the FrameIndex's p50/p99 per query (plain, and with dihedral variants on a
quarter of the queries) and a brute-force baseline (every query frame against every banked
frame with numpy popcount, measured on a few queries only, as it says: it takes seconds),
the ratio between them, and whether both found the same videos. The goal is under 20 ms per
60-frame query at 10M frames. Usage:

    python bench/bench_video_lookup.py --sizes 1000000,10000000
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from safespace.index import FrameIndex, VideoThresholds

FRAMES_PER_VIDEO = 100
QUERY_FRAMES = 60


@dataclass(frozen=True)
class Frame:
    pdq: str
    quality: int
    timestamp: float


def hex_rows(bits: npt.NDArray[np.uint8]) -> list[str]:
    return [row.tobytes().hex() for row in bits]


def flip(rows: npt.NDArray[np.uint8], bits: int, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    out = rows.copy()
    for r in range(len(out)):
        for b in rng.choice(256, size=bits, replace=False):
            out[r, b // 8] ^= np.uint8(1 << (b % 8))
    return out


def brute_force(
    banked: npt.NDArray[np.uint64], owners: npt.NDArray[np.int64], query: npt.NDArray[np.uint64]
) -> set[int]:
    """Videos with at least 80% of the query's frames within 31 bits, by full scan."""
    hit_frames: dict[int, int] = {}
    for q in query:
        dist = np.bitwise_count(banked ^ q).sum(axis=1)
        for video in set(owners[dist <= 31].tolist()):
            hit_frames[video] = hit_frames.get(video, 0) + 1
    return {v for v, n in hit_frames.items() if 100.0 * n / len(query) >= 80.0}


def percentile(values: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(values), p))


def run(size: int, queries: int, brute_queries: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    videos = size // FRAMES_PER_VIDEO
    bits = rng.integers(0, 256, size=(videos * FRAMES_PER_VIDEO, 32), dtype=np.uint8)
    t0 = time.perf_counter()
    index = FrameIndex()
    index.add_arrays(
        np.repeat(np.arange(videos, dtype=np.int64), FRAMES_PER_VIDEO),
        bits,
        np.tile(np.arange(FRAMES_PER_VIDEO, dtype=np.float64), videos),
        np.full(len(bits), 100, dtype=np.int64),
    )
    build = time.perf_counter() - t0
    print(f"size {size:,} frames ({videos:,} videos): build {build:.1f} s")
    print(f"  load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    wanted = rng.choice(videos, size=queries, replace=False)
    query_sets: list[tuple[int | None, npt.NDArray[np.uint8]]] = []
    for k, v in enumerate(wanted.tolist()):
        if k % 4 == 3:  # an unrelated video: no match expected
            query_sets.append((None, rng.integers(0, 256, size=(QUERY_FRAMES, 32), dtype=np.uint8)))
        else:
            rows = bits[v * FRAMES_PER_VIDEO : v * FRAMES_PER_VIDEO + QUERY_FRAMES]
            query_sets.append((v, flip(rows, 8, rng)))
    thresholds = VideoThresholds()
    warm = [Frame(bits[0].tobytes().hex(), 100, 0.0)]
    index.search(warm, thresholds)  # compile and warm the kernels
    index.search(warm, thresholds, dihedral=True)
    latencies: list[float] = []
    found_ok = 0
    for expect, rows in query_sets:
        frames = [Frame(h, 100, float(i)) for i, h in enumerate(hex_rows(rows))]
        t = time.perf_counter()
        got = index.search(frames, thresholds)
        latencies.append((time.perf_counter() - t) * 1000)
        ids = {m.video_id for m in got}
        found_ok += ids == ({expect} if expect is not None else set())
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    print(f"  FrameIndex: p50 {p50:.2f} ms  p99 {p99:.2f} ms  ({queries} queries of 60 frames)")
    print(f"  found exactly the planted video: {found_ok} of {queries}")
    dihedral_ms: list[float] = []
    for _expect, rows in query_sets[: max(1, queries // 4)]:
        frames = [Frame(h, 100, float(i)) for i, h in enumerate(hex_rows(rows))]
        t = time.perf_counter()
        index.search(frames, thresholds, dihedral=True)
        dihedral_ms.append((time.perf_counter() - t) * 1000)
    print(
        f"  FrameIndex with dihedral variants (8 probes a frame): "
        f"p50 {percentile(dihedral_ms, 50):.2f} ms  p99 {percentile(dihedral_ms, 99):.2f} ms  "
        f"({len(dihedral_ms)} queries)"
    )

    banked64 = bits.view(np.uint64).reshape(-1, 4)
    owners = np.repeat(np.arange(videos, dtype=np.int64), FRAMES_PER_VIDEO)
    brute_ms: list[float] = []
    agree = 0
    for _expect, rows in query_sets[:brute_queries]:
        q64 = rows.view(np.uint64).reshape(-1, 4)
        t = time.perf_counter()
        brute = brute_force(banked64, owners, q64)
        brute_ms.append((time.perf_counter() - t) * 1000)
        frames = [Frame(h, 100, float(i)) for i, h in enumerate(hex_rows(rows))]
        agree += brute == {m.video_id for m in index.search(frames, thresholds)}
    b50 = percentile(brute_ms, 50)
    print(
        f"  brute force: p50 {b50:.1f} ms  ({len(brute_ms)} queries, "
        f"sampled: the first {len(brute_ms)} of the {queries})"
    )
    print(f"  same videos as brute force: {agree} of {len(brute_ms)}")
    print(f"  ratio brute force / FrameIndex (p50): {b50 / p50:.0f}x")
    del index, bits, banked64
    gc.collect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--brute-queries", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        run(size, args.queries, args.brute_queries, args.seed)


if __name__ == "__main__":
    main()
