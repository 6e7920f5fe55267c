"""The video lookup benchmark stays runnable and its figures are sound (no timing checked)."""

import subprocess
import sys
from pathlib import Path

import pytest

from bench_output import find, positive

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.slow
def test_video_lookup_benchmark_finds_what_brute_force_finds() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_video_lookup.py"), "--sizes", "5000",
         "--queries", "12", "--brute-queries", "3"],
        capture_output=True, text=True, timeout=900, cwd=BENCH.parent,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert find(r"size {n} frames \({n} videos\)", out) == (5000, 50)
    p50, p99 = find(r"FrameIndex: p50 {n} ms  p99 {n} ms", out)
    positive(p50, p99)
    assert p50 <= p99
    assert find(r"found exactly the planted video: {n} of {n}", out) == (12, 12)
    assert find(r"same videos as brute force: {n} of {n}", out) == (3, 3)
    brute, ratio = find(r"brute force: p50 {n} ms", out)[0], find(r"\(p50\): {n}x", out)[0]
    assert ratio == pytest.approx(brute / p50, rel=0.5, abs=1)  # printed rounded
