"""The Deter benchmark stays runnable: a tiny run prints sound figures (parsed and checked;
timings are never compared with a threshold)."""

import subprocess
import sys
from pathlib import Path

from bench_output import check_deter_output

ROOT = Path(__file__).resolve().parents[2]


def test_deter_benchmark_runs_small() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_deter.py"), "--terms", "2000",
         "--queries", "500", "--regex-queries", "100", "--seconds", "0.2"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    check_deter_output(proc.stdout, terms=2000, queries=500, regex_queries=100)
