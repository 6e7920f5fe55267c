"""Distributed engine choice: many small hashing tasks on Dask and Ray against one process.

Generates benign JPEGs (smooth gradients with noise, nothing else) in a temporary folder,
then hashes them (PDQ + MD5 + SHA-256, ``safespace.signals.hash_file``, the scan's work):

* ``single``: one process, a plain loop (the reference rate);
* ``pool-N``: the scan's default engine, a process pool of N workers;
* ``dask-N``: a ``distributed.LocalCluster`` of N single-threaded worker processes, one
  task per file and one task per chunk of files (what ``safespace scan --engine dask``
  submits);
* ``ray-N``: ``ray.init(num_cpus=N)``, the same two shapes (when Ray is installed);
* ``scan``: like with like, ``safespace.batch.run_scan`` itself (hash, match, record each
  file in the state file): the reference runs it in one process of its own (an in-process
  engine, no cluster threads beside it),
  then on a local Dask cluster of N workers, with the workers' malloc tuning
  (``safespace.batch._inputs.tune_malloc``) on and, with ``--untuned``, off too. Each
  engine run follows a reference run of its own, and its per-core figure is against that
  one (the machine's speed drifts from minute to minute); ``--repeat N`` runs each pair N
  times and prints the medians. It prints CPU milliseconds per file of the client process
  (client, scheduler and nannies: a ``LocalCluster`` keeps them there) and of the workers
  (psutil), and the load average.

For each it prints files/s, per-core efficiency (rate / N / single rate), scaling (N workers
against one), the cluster's start time, the per-task overhead it implies, and the engine's
install size on disk. Targets (reported, never asserted): per-core >= 0.90, 2 workers >=
1.8x one worker.

    python bench/bench_engine.py                    # 400 files, 1 and 2 workers
    python bench/bench_engine.py --files 2000 --workers 1 2 --chunk 16
    python bench/bench_engine.py --engines scan --files 1000 --untuned
    python bench/bench_engine.py --engines scan --files 4000 --repeat 5
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata as md
import io
import multiprocessing
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from safespace.batch import run_scan
from safespace.batch._inputs import tune_malloc
from safespace.signals import DecodeLimits, hash_file

LIMITS = DecodeLimits()


def make_tree(root: Path, count: int, side: int) -> list[str]:
    """``count`` benign JPEGs (gradient plus noise) in a few sub-folders."""
    rng = np.random.default_rng(13)
    y, x = np.mgrid[0:side, 0:side]
    paths = []
    for i in range(count):
        folder = root / f"d{i % 8}"
        folder.mkdir(parents=True, exist_ok=True)
        a, b, c = rng.integers(1, 9, size=3)
        base = np.stack([(x * a + y * b) % 256, (x * c) % 256, (y * a) % 256], axis=-1)
        noise = rng.integers(0, 40, size=base.shape)
        pixels = ((base + noise) % 256).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(pixels).save(buf, format="JPEG", quality=85)
        path = folder / f"img{i:05d}.jpg"
        path.write_bytes(buf.getvalue())
        paths.append(str(path))
    return paths


def hash_chunk(paths: Sequence[str]) -> int:
    tune_malloc()  # as the engine's own task does (a no-op outside a Dask worker)
    for p in paths:
        hash_file(p, limits=LIMITS)
    return len(paths)


def chunks(paths: list[str], size: int) -> list[list[str]]:
    return [paths[i : i + size] for i in range(0, len(paths), size)]


def run_single(paths: list[str]) -> float:
    t = time.perf_counter()
    hash_chunk(paths)
    return time.perf_counter() - t


def run_pool(paths: list[str], workers: int, chunk: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(hash_chunk, [paths[:1]] * workers))  # start the workers
        started = time.perf_counter() - t0
        t = time.perf_counter()
        done = sum(pool.map(hash_chunk, chunks(paths, chunk)))
        elapsed = time.perf_counter() - t
    assert done == len(paths)
    return started, elapsed


def run_dask(paths: list[str], workers: int, chunk: int) -> tuple[float, float, float]:
    from distributed import Client, LocalCluster, wait

    t0 = time.perf_counter()
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    client.gather(client.map(hash_chunk, [paths[:1]] * workers, pure=False))  # warm imports
    started = time.perf_counter() - t0
    try:
        t = time.perf_counter()
        futs = client.map(hash_chunk, [[p] for p in paths], pure=False)
        wait(futs)
        per_file = time.perf_counter() - t
        t = time.perf_counter()
        futs = client.map(hash_chunk, chunks(paths, chunk), pure=False)
        wait(futs)
        chunked = time.perf_counter() - t
    finally:
        client.close()
        cluster.close()
    return started, per_file, chunked


def run_ray(paths: list[str], workers: int, chunk: int) -> tuple[float, float, float]:
    import ray

    t0 = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1)(hash_chunk)
        ray.get([task.remote(paths[:1]) for _ in range(workers)])
        started = time.perf_counter() - t0
        t = time.perf_counter()
        ray.get([task.remote([p]) for p in paths])
        per_file = time.perf_counter() - t
        t = time.perf_counter()
        ray.get([task.remote(c) for c in chunks(paths, chunk)])
        chunked = time.perf_counter() - t
    finally:
        ray.shutdown()
    return started, per_file, chunked


class InlineEngine:
    """The reference engine: each chunk hashed right here, in this one process."""

    name = "inline"
    workers = 1

    def __init__(self, chunk: int) -> None:
        self.chunk = chunk

    def imap_unordered(self, fn: Callable[..., Any], jobs: Any, window: int) -> Any:
        return (fn(*args) for args in jobs)

    def close(self) -> None:
        pass


def _scan_once(root: Path, engine: Any, state: Path) -> float:
    state.unlink(missing_ok=True)
    t = time.perf_counter()
    summary = run_scan(str(root), lambda s: [], engine=engine, state_path=state, limits=LIMITS)
    elapsed = time.perf_counter() - t
    assert (summary.errors, summary.resumed) == (0, 0)
    return elapsed


def run_scan_engines(
    root: Path, n: int, workers: list[int], chunk: int, untuned: bool, repeat: int
) -> None:
    """``run_scan`` in one process, then on Dask: rates, per-core, CPU per file.

    Each engine run is paired with a reference run just before it (in a process of its own),
    and its per-core figure is against that reference: the machine's speed drifts between minutes
    (this one is shared), and a reference taken once at the start drifts with it. With
    ``repeat`` above one, each pair runs that many times and the medians are printed too."""
    import psutil
    from distributed import LocalCluster

    from safespace.batch import DaskEngine

    me = psutil.Process()
    state = root.parent / f"{root.name}-state.jsonl"  # beside the tree, not in it
    # The reference runs in a process of its own, started before any cluster: a
    # LocalCluster's scheduler and nannies live in this process, and their threads would
    # take the GIL from a reference run here (it measured up to 15% slower than alone).
    ref_pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    ref_state = root.parent / f"{root.name}-reference.jsonl"

    def reference(tuned: bool = False) -> tuple[float, float]:
        run = ref_pool.submit(_reference_scan, str(root), chunk, str(ref_state), tuned)
        elapsed, cpu = run.result()
        return n / elapsed, cpu

    reference()  # warm
    ref_rate, ref_cpu = reference()
    print(f"load {os.getloadavg()[0]:.2f}  scan (hash+match+record), chunk {chunk}")
    print(f"{'scan single':<22}  1w {ref_rate:>8.1f} files/s  cpu {1000 * ref_cpu / n:.2f} ms/file")
    per_core: dict[str, dict[int, list[float]]] = {}
    for tuned in [True, False] if untuned else [True]:
        label = "scan dask" + ("" if tuned else " untuned")
        for w in workers:
            with LocalCluster(
                n_workers=w, threads_per_worker=1, processes=True, dashboard_address=None
            ) as cluster:
                engine = DaskEngine(cluster.scheduler_address, chunk=chunk)
                try:
                    client = engine._client
                    client.wait_for_workers(w)
                    if not tuned:  # as if the tuning were never there
                        client.run(_untune_worker)
                    pids = list(client.run(os.getpid).values())
                    _scan_once(root, engine, state)  # warm the workers' imports
                    procs = [psutil.Process(p) for p in pids]
                    for _ in range(repeat):
                        ref_rate, _ = reference()
                        w0 = sum(sum(p.cpu_times()[:2]) for p in procs)
                        m0 = sum(me.cpu_times()[:2])
                        load = os.getloadavg()[0]
                        elapsed = _scan_once(root, engine, state)
                        client_cpu = sum(me.cpu_times()[:2]) - m0
                        worker_cpu = sum(sum(p.cpu_times()[:2]) for p in procs) - w0
                        rate = n / elapsed
                        core = rate / w / ref_rate
                        per_core.setdefault(label, {}).setdefault(w, []).append(core)
                        print(
                            f"{label:<22} {w:>2}w {rate:>8.1f} files/s  per-core"
                            f" {core:5.2f}  cpu/file: client"
                            f" {1000 * client_cpu / n:.2f} ms, workers"
                            f" {1000 * worker_cpu / n:.2f} ms  (load {load:.2f}; reference"
                            f" {ref_rate:.1f} files/s)"
                        )
                finally:
                    engine.close()
    for name, by_w in per_core.items():
        if repeat > 1:
            for w, values in by_w.items():
                print(f"median {name:<15} {w:>2}w per-core {statistics.median(values):5.2f}")
        if 1 in by_w and 2 in by_w:
            # 2w/1w from the per-core figures: each against its own reference
            scaling = 2 * statistics.median(by_w[2]) / statistics.median(by_w[1])
            print(f"scaling {name:<22} 2w/1w {scaling:.2f}x")
    # The same loop with the workers' malloc settings (tune_malloc) in the reference process:
    # how much of a worker's figure is the settings rather than the engine. Last, as they stay.
    tuned_rate, tuned_cpu = reference(tuned=True)
    print(
        f"{'scan single tuned':<22}  1w {tuned_rate:>8.1f} files/s"
        f"  cpu {1000 * tuned_cpu / n:.2f} ms/file"
    )
    ref_pool.shutdown()
    state.unlink(missing_ok=True)
    ref_state.unlink(missing_ok=True)


def _reference_scan(root: str, chunk: int, state: str, tuned: bool) -> tuple[float, float]:
    """One ``run_scan`` in this (reference) process, in-process engine: seconds and CPU
    seconds; ``tuned`` first applies the Dask workers' malloc settings here."""
    if tuned:
        os.environ.setdefault("MALLOC_TRIM_THRESHOLD_", "65536")
        tune_malloc()
    c0 = time.process_time()
    elapsed = _scan_once(Path(root), InlineEngine(chunk), Path(state))
    return elapsed, time.process_time() - c0


def _untune_worker() -> None:
    import safespace.batch._inputs as inputs

    inputs._malloc_tuned = True  # tune_malloc() then does nothing in this worker


def install_size(dist: str) -> float:
    """MiB on disk of a distribution and what it requires (transitively, once each)."""
    seen: set[str] = set()
    total = 0
    todo = [dist]
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            d = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        for f in d.files or []:
            with contextlib.suppress(OSError):
                total += os.path.getsize(d.locate_file(f))
        for req in d.requires or []:
            if "extra ==" in req:
                continue
            todo.append(req.split(";")[0].split("[")[0].split("<")[0].split(">")[0]
                        .split("=")[0].split("!")[0].split("~")[0].strip())  # fmt: skip
    return total / 2**20


def report(name: str, workers: int, seconds: float, n: int, single_rate: float) -> float:
    rate = n / seconds
    per_core = rate / workers / single_rate
    print(f"{name:<16} {workers:>2}w {rate:>9.1f} files/s  per-core {per_core:5.2f}")
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=400)
    ap.add_argument("--side", type=int, default=256, help="image side in pixels")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument(
        "--chunk", type=int, default=256,
        help="files per task (chunked); scan: at most, as the engine's guided tasks shrink",
    )  # fmt: skip
    ap.add_argument("--engines", nargs="+", default=["pool", "dask", "ray", "scan"])
    ap.add_argument(
        "--untuned", action="store_true", help="scan: also run the workers without tune_malloc"
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="scan: engine runs per cluster, each after its own reference run",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="safespace-bench-engine-") as tmp:
        paths = make_tree(Path(tmp), args.files, args.side)
        n = len(paths)
        hash_chunk(paths[:8])  # warm this process
        single = run_single(paths)
        single_rate = n / single
        print(f"{n} JPEGs {args.side}x{args.side}, chunk {args.chunk}, cores {os.cpu_count()}")
        print(f"{'single':<16}  1w {single_rate:>9.1f} files/s  ({1000 * single / n:.2f} ms/file)")
        rates: dict[str, dict[int, float]] = {}
        runners: dict[str, Callable[..., Any]] = {"dask": run_dask, "ray": run_ray}
        for engine in args.engines:
            if engine == "scan":
                run_scan_engines(Path(tmp), n, args.workers, args.chunk, args.untuned, args.repeat)
                continue
            if engine == "pool":
                for w in args.workers:
                    started, el = run_pool(paths, w, args.chunk)
                    rates.setdefault("pool", {})[w] = report("pool", w, el, n, single_rate)
                continue
            dist = {"dask": "distributed", "ray": "ray"}[engine]
            try:
                md.distribution(dist)
            except md.PackageNotFoundError:
                print(f"{engine}: not installed")
                continue
            print(f"{engine}: {dist} {md.version(dist)}, install {install_size(dist):.0f} MiB")
            for w in args.workers:
                started, per_file, chunked = runners[engine](paths, w, args.chunk)
                print(f"{engine + ' start':<16} {w:>2}w {started:9.2f} s")
                r1 = report(f"{engine} per-file", w, per_file, n, single_rate)
                r2 = report(f"{engine} chunked", w, chunked, n, single_rate)
                rates.setdefault(f"{engine} per-file", {})[w] = r1
                rates.setdefault(f"{engine} chunked", {})[w] = r2
                overhead = (per_file * w - single) / n * 1000
                print(f"{engine + ' overhead':<16} {w:>2}w {overhead:9.2f} ms/task (per file)")
        for name, by_w in rates.items():
            if 1 in by_w and 2 in by_w:
                print(f"scaling {name:<16} 2w/1w {by_w[2] / by_w[1]:.2f}x")


if __name__ == "__main__":
    main()
