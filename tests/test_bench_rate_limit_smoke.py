"""bench_rate_limit.py runs against a real PostgreSQL and prints sound figures (parsed, never
compared with a time threshold)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench_output import find, positive

BENCH = Path(__file__).resolve().parents[1] / "bench" / "bench_rate_limit.py"


@pytest.mark.postgres
def test_rate_limit_benchmark_prints_each_scope_against_select_1(pg_url: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--database-url", pg_url, "--requests", "300"],
        capture_output=True, text=True, timeout=600, cwd=BENCH.parents[1],
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert find(r"{n} requests over {n} keys", out) == (300, 50)
    reference = find(r"SELECT 1\s+{n}\s+{n}\s+{n}x", out)
    assert reference[2] == 1.0  # the reference against itself
    for label in ("machine \\(shared file\\)", "SELECT 1 in a transaction",
                  "cluster \\(PostgreSQL upsert\\)"):  # fmt: skip
        p50, p99, ratio = find(label + r"\s+{n}\s+{n}\s+{n}x", out)
        positive(p50, p99)
        assert p50 <= p99
        # printed to 0.1 us and 0.001x: the ratio is the p50s' within their rounding
        assert abs(ratio - p50 / reference[0]) <= 0.001 + 0.1 / reference[0] * (1 + ratio)
