"""bench/bench_engine.py stays runnable at a tiny size and prints its figures: the scan's
single-process reference, then Dask with one and two workers (rate, per-core against a
reference run of its own, CPU per file of client and workers), their medians over repeated
runs and the 2-vs-1 scaling. Figures are printed, never compared with a
threshold. Needs the cluster extra (distributed, psutil); under CI=true its absence fails."""

from __future__ import annotations

import pytest
from test_cli_scan_cluster import _need_cluster_extra

from bench_output import find, positive, run_bench

pytestmark = pytest.mark.slow


def test_engine_benchmark_prints_per_core_and_cpu_per_file() -> None:
    _need_cluster_extra()
    args = ["--engines", "pool", "scan", "--files", "48", "--side", "64", "--chunk", "8"]
    out = run_bench("bench_engine.py", *args, "--workers", "1", "2", "--repeat", "2")
    (files,) = find(r"{n} JPEGs 64x64", out)
    assert files == 48
    (load,) = find(r"load {n}  scan \(hash\+match\+record\)", out)
    assert load >= 0
    rate, cpu = find(r"scan single +1w +{n} files/s  cpu {n} ms/file", out)
    positive(rate, cpu)
    for workers in (1, 2):
        figures = find(
            rf"scan dask +{workers}w +{{n}} files/s  per-core +{{n}}  cpu/file: client {{n}} ms,"
            r" workers {n} ms  \(load {n}; reference {n} files/s\)",
            out,
        )
        positive(*figures[:4], figures[5])
        positive(*find(rf"median scan dask +{workers}w per-core +{{n}}", out))
    (scaling,) = find(r"scaling scan dask +2w/1w {n}x", out)
    positive(scaling)
    positive(*find(r"pool +2w +{n} files/s", out))
