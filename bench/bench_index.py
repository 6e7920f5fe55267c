"""Benchmark the exact PDQ index against faiss on random hashes with planted near-duplicates.

For each size: build time, memory, single-query latency (p50/p99), batch throughput, recall
against brute force, snapshot save/load times, and the ratios against faiss measured in the
same run. Usage:

    python bench/bench_index.py --sizes 100000,1000000,10000000 --queries 1000 --radius 31

At 100M hashes (about 9 GB of index, 3.2 GB of generated hashes and 3.2 GB for faiss' flat
index; peak about 14 GB while building), fewer queries keep the brute-force parts short:

    python bench/bench_index.py --sizes 100000000 --queries 100 --truth-queries 5 \
        --faiss-single 3 --wide-queries 3

faiss MultiHash is skipped above ``--multihash-max`` rows (its maps take several times the
memory of ours). The last table checks each size against issue 13's targets for 100M.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
import numpy as np

from safespace.index import PDQIndex, _segment

try:
    import faiss
except ImportError:  # the bench extra is not installed
    faiss = None

try:
    import psutil
except ImportError:
    psutil = None

Results = list[set[int]]


def rss() -> int:
    gc.collect()
    return psutil.Process().memory_info().rss if psutil else 0


def huge_pages() -> str:
    """This process's memory in transparent huge pages (anonymous, file-mapped)."""
    try:
        with open("/proc/self/smaps_rollup") as f:
            kb = {k: v.split()[0] for k, v in (line.split(":", 1) for line in f if ":" in line)}
        anon, file = int(kb.get("AnonHugePages", 0)), int(kb.get("FilePmdMapped", 0))
        return f"anonymous {mb(anon * 1024)}, file-mapped {mb(file * 1024)}"
    except OSError:
        return "unknown"


def mb(n: float) -> str:
    return f"{n / 2**20:,.0f} MB"


def planted_queries(data: np.ndarray, q: int, rng: np.random.Generator) -> np.ndarray:
    """Queries that are copies of random rows with 0..40 bits flipped (cycling)."""
    src = rng.choice(len(data), size=q, replace=False)
    bits = np.unpackbits(data[src], axis=1)
    for k in range(q):
        flips = rng.choice(256, size=k % 41, replace=False)
        bits[k, flips] ^= 1
    return np.packbits(bits, axis=1)


def latencies(fn: Callable[[np.ndarray], Any], queries: np.ndarray) -> tuple[float, float]:
    """p50 and p99 of one-query calls, in milliseconds."""
    times = []
    for k in range(len(queries)):
        t = time.perf_counter()
        fn(queries[k : k + 1])
        times.append(time.perf_counter() - t)
    arr = np.array(times) * 1000
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 99))


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def ours_sets(res: list[list[tuple[int, int]]]) -> Results:
    return [{i for i, _ in hits} for hits in res]


def faiss_sets(lims: np.ndarray, ids: np.ndarray) -> Results:
    return [set(ids[lims[k] : lims[k + 1]].tolist()) for k in range(len(lims) - 1)]


TRUTH_ROWS = 1 << 22  # rows per numpy pass: its temporaries stay near 200 MB at any size


def numpy_truth(data: np.ndarray, queries: np.ndarray, radius: int) -> Results:
    """Brute force with numpy alone (independent of every index measured)."""
    words = data.view(np.uint64)
    out: Results = [set() for _ in range(len(queries))]
    for start in range(0, len(words), TRUTH_ROWS):
        part = words[start : start + TRUTH_ROWS]
        for k, q in enumerate(queries.view(np.uint64)):
            c = np.bitwise_count(part ^ q)  # uint8 per word; summing columns is 2x faster
            d = c[:, 0].astype(np.int16) + c[:, 1] + c[:, 2] + c[:, 3]
            out[k].update((np.nonzero(d <= radius)[0] + start).tolist())
    return out


def dir_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def recall(found: Results, truth: Results) -> float:
    want = sum(len(t) for t in truth)
    got = sum(len(f & t) for f, t in zip(found, truth, strict=True))
    extra = sum(len(f - t) for f, t in zip(found, truth, strict=True))
    assert extra == 0, f"{extra} results beyond the radius"
    return got / want if want else 1.0


def ours_bytes(index: PDQIndex) -> int:
    total = 0
    for seg in index._segments:
        total += seg.ids.nbytes + seg.hashes.nbytes + seg.dead.nbytes
        if seg.tables is not None:
            t = seg.tables
            total += t.offsets.nbytes + t.entries.nbytes
    return total


def bench_ours(data: np.ndarray, queries: np.ndarray, truth: Results, args: argparse.Namespace,
               row: dict[str, Any]) -> np.ndarray:  # fmt: skip
    """Measure PDQIndex; return the index's own copy of ``data`` (the same rows, as the ids
    are 0..n-1), so the caller can drop its copy: at 100M that is 3.2 GB less."""
    r = args.radius
    n_truth = len(truth)
    before = rss()
    index = PDQIndex()
    _, row["ours_build"] = timed(lambda: index.add(np.arange(len(data)), data))
    row["ours_rss"] = rss() - before
    row["ours_bytes"] = ours_bytes(index)
    m = index._segments[0].tables.plan.m if index._segments else 0
    batch, t_batch = timed(lambda: index.search(queries, radius=r))
    p50, p99 = latencies(lambda q: index.search(q, radius=r), queries)
    row |= {"ours_p50": p50, "ours_p99": p99, "ours_qps": len(queries) / t_batch}
    # The default splits a lone query's chunks over the search threads when cores are idle
    # (index._segment.split_parts); the same queries on one thread, for comparison.
    saved, _segment.SPLIT_PARTS = _segment.SPLIT_PARTS, 1
    try:
        row["one_p50"], row["one_p99"] = latencies(lambda q: index.search(q, radius=r), queries)
    finally:
        _segment.SPLIT_PARTS = saved
    load = os.getloadavg()[0]
    parts = _segment.split_parts(numba.get_num_threads(), m or 1, os.cpu_count() or 1, load)
    split = len(data) >= _segment.SPLIT_ROWS and parts > 1
    row["split"] = f"{parts} parts" if split else "one thread"
    print(
        f"single query: default p50 {p50:.3f} ms ({row['split']} at load {load:.2f}); "
        f"one thread p50 {row['one_p50']:.3f} ms, p99 {row['one_p99']:.3f} ms",
        flush=True,
    )
    row["ours_recall"] = recall(ours_sets(batch)[:n_truth], truth)
    row["ours_sets"] = ours_sets(batch)
    print(
        f"PDQIndex (m={m}): build {row['ours_build']:.1f} s, arrays {mb(row['ours_bytes'])}, "
        f"RSS +{mb(row['ours_rss'])}, p50 {p50:.3f} ms, p99 {p99:.3f} ms, "
        f"batch {row['ours_qps']:,.0f} q/s, recall {row['ours_recall']:.4f}",
        flush=True,
    )
    # radius 60: the brute-force path at large sizes
    q60 = queries[: args.wide_queries]
    b60, t60 = timed(lambda: index.search(q60, radius=60))
    p50w, _ = latencies(lambda q: index.search(q, radius=60), q60[:20])
    row |= {"wide_p50": p50w, "wide_qps": len(q60) / t60}
    row["wide_recall"] = recall(ours_sets(b60)[:20], numpy_truth(data, q60[:20], 60))
    del b60
    print(
        f"PDQIndex radius 60: p50 {p50w:.2f} ms, batch {row['wide_qps']:,.0f} q/s, "
        f"recall {row['wide_recall']:.4f}",
        flush=True,
    )
    tmp = tempfile.mkdtemp(prefix="bench-index-", dir=args.tmp)
    try:
        path = os.path.join(tmp, "idx")
        _, row["save"] = timed(lambda: index.save(path))
        row["disk"] = dir_bytes(path)
        t0 = time.perf_counter()
        loaded, row["load"] = timed(lambda: PDQIndex.load(path, mmap=True))
        _, row["first_query"] = timed(lambda: loaded.search(queries[:1], radius=r))
        if loaded._prefault is not None:  # the background prefault of the mapped arrays
            loaded._prefault.join()
        row["prefaulted"] = time.perf_counter() - t0
        same = ours_sets(loaded.search(queries, radius=r)) == ours_sets(batch)
        print(
            f"save {row['save']:.2f} s ({mb(row['disk'])} on disk), load (mmap) "
            f"{row['load']:.2f} s, first query after load {row['first_query'] * 1000:.1f} ms, "
            f"same results: {same}",
            flush=True,
        )
        p50m, p99m = latencies(lambda q: loaded.search(q, radius=r), queries)
        row |= {"mmap_p50": p50m, "mmap_p99": p99m}
        print(
            f"memory-mapped: prefault done {row['prefaulted']:.2f} s after the load began, "
            f"then p50 {p50m:.3f} ms, p99 {p99m:.3f} ms; huge pages {huge_pages()}",
            flush=True,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    seg = index._segments[0] if len(index._segments) == 1 else None
    if seg is not None and len(seg) == len(data) and seg.ids[-1] == len(data) - 1:
        return np.asarray(seg.hashes)
    return data


def bench_multihash(data: np.ndarray, queries: np.ndarray, truth: Results,
                    args: argparse.Namespace, row: dict[str, Any]) -> None:  # fmt: skip
    """faiss MultiHash(256, 16, 16), exact at this radius with nflip = floor(r / 16)."""
    r = args.radius
    before = rss()
    mh = faiss.IndexBinaryMultiHash(256, 16, 16)
    mh.nflip = r // 16
    _, row["mh_build"] = timed(lambda: mh.add(data))
    row["mh_rss"] = rss() - before
    res, t_batch = timed(lambda: mh.range_search(queries, r + 1))  # faiss: distance < radius
    nq = min(len(queries), args.faiss_single)
    p50, p99 = latencies(lambda q: mh.range_search(q, r + 1), queries[:nq])
    row |= {"mh_p50": p50, "mh_p99": p99, "mh_qps": len(queries) / t_batch}
    row["mh_recall"] = recall(faiss_sets(res[0], res[2])[: len(truth)], truth)
    print(
        f"faiss MultiHash(256,16,16) nflip={mh.nflip}: build {row['mh_build']:.1f} s, "
        f"RSS +{mb(row['mh_rss'])}, p50 {p50:.2f} ms, p99 {p99:.2f} ms ({nq} queries), "
        f"batch {row['mh_qps']:,.0f} q/s, recall {row['mh_recall']:.4f}",
        flush=True,
    )


def bench_flat(data: np.ndarray, queries: np.ndarray, truth: Results,
               args: argparse.Namespace, row: dict[str, Any]) -> None:  # fmt: skip
    r = args.radius
    before = rss()
    flat = faiss.IndexBinaryFlat(256)
    _, row["flat_build"] = timed(lambda: flat.add(data))
    row["flat_rss"] = rss() - before
    nq = min(len(queries), args.faiss_single)
    res, t_batch = timed(lambda: flat.range_search(queries, r + 1))
    p50, p99 = latencies(lambda q: flat.range_search(q, r + 1), queries[:nq])
    row |= {"flat_p50": p50, "flat_p99": p99, "flat_qps": len(queries) / t_batch}
    row["flat_recall"] = recall(faiss_sets(res[0], res[2])[: len(truth)], truth)
    # every query, with faiss' brute force as the truth
    row["ours_vs_flat"] = recall(row["ours_sets"], faiss_sets(res[0], res[2]))
    del res
    q60 = queries[: args.wide_queries]
    _, t60 = timed(lambda: flat.range_search(q60, 61))
    row["flat60_qps"] = len(q60) / t60
    row["flat60_p50"], _ = latencies(lambda q: flat.range_search(q, 61), q60[:20])
    print(
        f"faiss BinaryFlat: p50 {p50:.2f} ms, p99 {p99:.2f} ms ({nq} queries), "
        f"batch {row['flat_qps']:,.0f} q/s, recall {row['flat_recall']:.4f}; "
        f"radius 60: p50 {row['flat60_p50']:.2f} ms, batch {row['flat60_qps']:,.0f} q/s; "
        f"PDQIndex recall against BinaryFlat on all {len(queries)} queries "
        f"{row['ours_vs_flat']:.4f}",
        flush=True,
    )


def bench_size(n: int, args: argparse.Namespace, rows: list[dict[str, Any]]) -> None:
    rng = np.random.default_rng(n)
    print(f"\n=== N = {n:,} ===", flush=True)
    data, t_gen = timed(lambda: rng.integers(0, 256, (n, 32), dtype=np.uint8))
    queries = planted_queries(data, args.queries, rng)
    print(f"generated in {t_gen:.1f} s; {len(queries)} queries planted at distance 0..40")
    n_truth = min(len(queries), args.truth_queries)
    truth, t_truth = timed(lambda: numpy_truth(data, queries[:n_truth], args.radius))
    print(f"numpy brute-force truth for {n_truth} queries: {t_truth:.1f} s")
    row: dict[str, Any] = {"n": n}
    data = bench_ours(data, queries, truth, args, row)
    gc.collect()
    if faiss is None or args.no_faiss:
        print("faiss is not installed (pip install faiss-cpu) or disabled: no comparison")
    else:
        if n <= args.multihash_max:
            bench_multihash(data, queries, truth, args, row)
            gc.collect()
        else:
            print(f"faiss MultiHash skipped: {n:,} rows > --multihash-max {args.multihash_max:,}")
        bench_flat(data, queries, truth, args, row)
        gc.collect()
        ratios = [f"Flat p50 / ours {row['flat_p50'] / row['ours_p50']:.0f}x"]
        if "mh_p50" in row:
            ratios = [
                f"MultiHash p50 / ours {row['mh_p50'] / row['ours_p50']:.0f}x",
                f"ours arrays / MultiHash RSS {row['ours_bytes'] / max(row['mh_rss'], 1):.2f}",
                *ratios,
                f"batch ours / MultiHash {row['ours_qps'] / row['mh_qps']:.1f}x",
            ]
        print(f"RATIOS at N={n:,}: " + ", ".join(ratios), flush=True)
    row.pop("ours_sets", None)
    print(f"load average {os.getloadavg()[0]:.1f} after N={n:,}", flush=True)
    rows.append(row)


def table(rows: list[dict[str, Any]]) -> None:
    print("\n| N | index | build s | memory | p50 ms | p99 ms | batch q/s | recall |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        n = f"{r['n']:,}"
        mem = f"{mb(r['ours_bytes'])} arrays, RSS +{mb(r['ours_rss'])}"
        print(
            f"| {n} | PDQIndex | {r['ours_build']:.1f} | {mem} | {r['ours_p50']:.3f} | "
            f"{r['ours_p99']:.3f} | {r['ours_qps']:,.0f} | {r['ours_recall']:.4f} |"
        )
        if "mh_p50" in r:
            print(
                f"| {n} | faiss MultiHash(256,16,16) | {r['mh_build']:.1f} | "
                f"RSS +{mb(r['mh_rss'])} | {r['mh_p50']:.2f} | {r['mh_p99']:.2f} | "
                f"{r['mh_qps']:,.0f} | {r['mh_recall']:.4f} |"
            )
            print(
                f"| {n} | faiss BinaryFlat | {r['flat_build']:.1f} | "
                f"RSS +{mb(r['flat_rss'])} | {r['flat_p50']:.2f} | {r['flat_p99']:.2f} | "
                f"{r['flat_qps']:,.0f} | {r['flat_recall']:.4f} |"
            )
    print("\n| N | PDQIndex radius 60 p50 ms | q/s | faiss Flat radius 60 p50 ms | q/s |")
    print("|---|---|---|---|---|")
    for r in rows:
        flat = f"{r['flat60_p50']:.2f} | {r['flat60_qps']:,.0f}" if "flat60_p50" in r else "- | -"
        print(f"| {r['n']:,} | {r['wide_p50']:.2f} | {r['wide_qps']:,.0f} | {flat} |")
    print(
        "\n| N | save s | load (mmap) s | first query after load ms | prefault done s "
        "| p50 / p99 ms after it |"
    )
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['n']:,} | {r['save']:.2f} | {r['load']:.2f} | {r['first_query'] * 1000:.1f} "
            f"| {r['prefaulted']:.2f} | {r['mmap_p50']:.3f} / {r['mmap_p99']:.3f} |"
        )
    print("\nIssue 13's targets (for 100M hashes), per size:")
    print("| N | p50 < 1 ms | recall 1.0 | build < 300 s | index < 12 GB | mmap load < 10 s |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        mem = max(r["ours_bytes"], r["ours_rss"])
        checks = [
            (
                r["ours_p50"] < 1.0,
                f"{r['ours_p50']:.3f} ms, {r['split']}; one thread {r['one_p50']:.3f} ms",
            ),
            (
                r["ours_recall"] == 1.0 and r.get("ours_vs_flat", 1.0) == 1.0,
                f"{r['ours_recall']:.4f}",
            ),
            (r["ours_build"] < 300, f"{r['ours_build']:.1f} s"),
            (mem < 12e9, f"{mem / 1e9:.2f} GB"),
            (r["load"] < 10, f"{r['load']:.2f} s"),
        ]
        cells = " | ".join(f"{'met' if ok else 'NOT met'} ({v})" for ok, v in checks)
        print(f"| {r['n']:,} | {cells} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated bank sizes")
    ap.add_argument("--queries", type=int, default=1000, help="queries per size")
    ap.add_argument("--radius", type=int, default=31)
    ap.add_argument("--faiss-single", type=int, default=200, help="one-by-one faiss queries")
    ap.add_argument("--truth-queries", type=int, default=200, help="queries checked by numpy")
    ap.add_argument("--wide-queries", type=int, default=100, help="queries at radius 60")
    ap.add_argument("--tmp", default=None, help="where to write snapshots")
    ap.add_argument("--no-faiss", action="store_true", help="measure PDQIndex only")
    ap.add_argument(
        "--multihash-max", type=int, default=20_000_000, help="skip faiss MultiHash above this"
    )
    args = ap.parse_args()

    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    print(f"transparent huge pages: {thp.read_text().strip() if thp.exists() else '-'}")
    print(
        f"numba threads: {numba.get_num_threads()}, faiss threads: "
        f"{faiss.omp_get_max_threads() if faiss else '-'}, cpus: {os.cpu_count()}"
    )
    _, t_warm = timed(lambda: PDQIndex().search(np.zeros((1, 32), dtype=np.uint8)))
    warm = PDQIndex()
    warm.add(range(20000), np.random.default_rng(0).integers(0, 256, (20000, 32), dtype=np.uint8))
    warm.search(np.zeros((2, 32), dtype=np.uint8), radius=31)
    warm.search(np.zeros((2, 32), dtype=np.uint8), radius=60)
    print(f"first search (JIT cache load) {t_warm * 1000:.0f} ms")
    rows: list[dict[str, Any]] = []
    for n in [int(s) for s in args.sizes.split(",") if s]:
        bench_size(n, args, rows)
    table(rows)


if __name__ == "__main__":
    main()
