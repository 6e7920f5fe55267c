"""The benchmarks stay runnable and print sound figures: each runs at a tiny size, and the
figures it prints are parsed and checked (counts, recall, ratios that agree with the rates
they come from). Timings are never compared with a threshold here; the published figures
come from `make bench`.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench_output import NUMBER, check_deter_output, find, number, positive

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _run(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=900, cwd=BENCH.parent
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_find_parses_the_printed_numbers() -> None:
    assert find(r"batch {n} q/s, recall {n}", "batch 12,120 q/s, recall 1.0000") == (12120.0, 1.0)
    with pytest.raises(AssertionError):
        find(r"recall {n}", "recall: none")


@pytest.mark.slow
def test_hashing_benchmark_prints_ratios() -> None:
    out = _run(str(BENCH / "bench_hashing.py"), "--quick", "--no-accuracy")
    methods = ("common", "exact", "fast", "fast PDQ only")
    cell = r"\s+{n} \(\s*{n}x\)"
    for name, count in (("large 12 MP (4032x3024)", 1), ("medium 1.6-2 MP", 13)):
        figures = find(re.escape(name) + r"\s+{n}" + cell * len(methods), out)
        assert figures[0] == count  # the images in the set: 1 photo; 9 bridges + 4 resized
        rates, ratios = figures[1::2], figures[2::2]
        positive(*rates, *ratios)
        assert ratios[0] == 1.0  # the common path against itself
        common = rates[0]
        for rate, ratio in zip(rates, ratios, strict=True):
            # each ratio is its rate over the common path's; rates print to 0.1 and ratios to
            # 0.1, so the ratio lies within what the rounded rates allow
            low = (rate - 0.05) / (common + 0.05) - 0.05
            high = (rate + 0.05) / max(common - 0.05, 1e-9) + 0.05
            assert low <= ratio <= high


@pytest.mark.slow
def test_index_benchmark_prints_ratios(tmp_path: Path) -> None:
    out = _run(
        str(BENCH / "bench_index.py"),
        "--sizes", "20000", "--queries", "50", "--faiss-single", "20",
        "--truth-queries", "50", "--wide-queries", "5", "--tmp", str(tmp_path),
    )  # fmt: skip
    # Every index finds exactly what brute force finds.
    recalls = [number(r) for r in re.findall(rf"recall ({NUMBER})", out)]
    assert len(recalls) >= 2, out  # PDQIndex at the radius and at radius 60
    assert recalls == [1.0] * len(recalls)
    assert "same results: True" in out  # a saved and reloaded index answers the same
    build, p50, p99, qps, recall = find(
        r"\| 20,000 \| PDQIndex \| {n} \| .*? \| {n} \| {n} \| {n} \| {n} \|", out
    )
    positive(p50, p99, qps)
    assert build >= 0
    assert p50 <= p99
    assert recall == 1.0
    if "faiss is not installed" in out:
        assert os.environ.get("CI") != "true", "faiss is missing (the bench extra installs it)"
    else:
        positive(*find(r"RATIOS at N=20,000: MultiHash p50 / ours {n}x", out))
        assert re.search(r"\| 20,000 \| faiss MultiHash\(256,16,16\) \|.*\| 1\.0000 \|", out)
        assert re.search(r"\| 20,000 \| faiss BinaryFlat \|.*\| 1\.0000 \|", out)


@pytest.mark.slow
def test_deter_benchmark_prints_ratios() -> None:
    out = _run(str(BENCH / "bench_deter.py"), "--quick")
    check_deter_output(out, terms=10_000, queries=5_000, regex_queries=500)


@pytest.mark.slow
def test_service_benchmark_prints_ratios(tmp_path: Path) -> None:
    if shutil.which("wrk") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("wrk is not installed (.ci/run installs it)")
        pytest.skip("wrk is not installed")
    out = _run(
        str(BENCH / "bench_service.py"),
        "--sizes", "5000", "--duration", "1", "--trials", "1", "--cache-dir", str(tmp_path),
        "--build-order", "value",
    )  # fmt: skip
    assert find(r"== {n} PDQ hashes, {n} workers", out) == (5000, 2)
    assert f"(cache: {tmp_path / 'n5000-value-order'})" in out
    positive(*find(r"cold start, no snapshot .*?: {n} s", out))
    first, every = find(r"cold start from the snapshot: first worker {n} s, all {n} s", out)
    positive(first, every)
    assert first <= every
    positive(*find(r"vs no snapshot: {n}x faster", out))
    worst, median = find(r"freshness over 1 trials: max {n} s, median {n} s", out)
    positive(worst)
    assert median <= worst
    positive(*find(r"in-process Matcher.match: {n}/s", out))
    rps, p50, p99, errors = find(r": {n} req/s, p50 {n} ms, p99 {n} ms, non-2xx {n}", out)
    positive(rps, p50, p99)
    assert p50 <= p99
    assert errors == 0  # every request under load was answered properly
    positive(*find(r"HTTP / in-process ceiling: {n}", out))
    # HMA's GET /m/lookup and /healthz in rounds beside /v1/match, all answered properly
    lookup = find(
        r"HTTP GET /m/lookup \(wrk.*?: {n} req/s, p50 {n} ms, p99 {n} ms, non-2xx {n}", out
    )
    positive(*lookup[:3])
    assert lookup[3] == 0
    positive(*find(r"/m/lookup / /healthz \(median of rounds\): {n}", out))


def test_value_ordered_build_holds_the_same_hashes_sorted() -> None:
    """bench_service's value-ordered build (for 100M banks) changes only the order."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_service", BENCH / "bench_service.py")
    assert spec is not None
    assert spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    n = bench.CHUNK + 1_000  # two chunks, the second short
    ordered = [row.tobytes().hex() for row in bench.value_ordered(n)]
    generated = bench.hashes(0, bench.CHUNK) + bench.hashes(bench.CHUNK, 1_000)
    assert sorted(ordered) == sorted(generated)
    assert [h[:16] for h in ordered] == sorted(h[:16] for h in ordered)
