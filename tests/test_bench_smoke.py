"""The benchmarks stay runnable: each runs at a tiny size and prints its ratios.

Timings are never asserted here; the figures themselves come from `make bench`.
"""

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _run(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=600, cwd=BENCH.parent
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.slow
def test_hashing_benchmark_prints_ratios() -> None:
    out = _run(str(BENCH / "bench_hashing.py"), "--quick", "--no-accuracy")
    assert "x" in out
    assert "12 MP" in out or "12MP" in out or "large" in out.lower()


@pytest.mark.slow
def test_index_benchmark_prints_ratios(tmp_path: Path) -> None:
    out = _run(
        str(BENCH / "bench_index.py"),
        "--sizes",
        "20000",
        "--queries",
        "50",
        "--faiss-single",
        "20",
        "--truth-queries",
        "50",
        "--wide-queries",
        "5",
        "--tmp",
        str(tmp_path),
    )
    assert "recall" in out.lower()
    assert "1.000" in out or "1.0" in out


@pytest.mark.slow
def test_deter_benchmark_prints_ratios() -> None:
    out = _run(str(BENCH / "bench_deter.py"), "--quick")
    assert "regex" in out.lower()
    assert "x" in out


@pytest.mark.slow
def test_service_benchmark_prints_ratios(tmp_path: Path) -> None:
    import os
    import shutil

    if shutil.which("wrk") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("wrk is not installed (.ci/run installs it)")
        pytest.skip("wrk is not installed")
    out = _run(
        str(BENCH / "bench_service.py"),
        "--sizes", "5000", "--duration", "1", "--trials", "1", "--cache-dir", str(tmp_path),
    )  # fmt: skip
    assert "cold start" in out
    assert "freshness" in out
    assert "req/s" in out
