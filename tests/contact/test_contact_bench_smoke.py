"""bench/bench_contact.py runs small and prints consistent figures (no timing is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench_output import find, positive

ROOT = Path(__file__).resolve().parents[2]


def test_contact_benchmark_runs_small() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_contact.py"), "--accounts", "3000",
         "--decisions", "500", "--baseline-decisions", "100", "--seconds", "0.2"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    accounts, events, flagged, planted = find(
        r"accounts: {n} with signals \({n} events, {n} flagged of {n} planted\)", out
    )
    assert accounts == 3000
    assert events == accounts + planted  # one event each, two for the planted ones
    assert flagged == planted  # every planted adult is flagged, nobody else
    total, allow, deny, prompt, as_flagged = find(
        r"decisions: {n} \(allow {n}, deny {n}, prompt {n}; {n} denied as flagged\)", out
    )
    assert total == 500
    assert allow + deny + prompt == total
    assert 0 <= as_flagged <= deny
    rows = {}
    for label in ("ContactService.check", "SQL flag lookup per check (base)"):
        p50, p99, rate = find(re.escape(label) + r"\s+{n}\s+{n}\s+{n}", out)
        positive(p50, p99, rate)
        assert p50 <= p99
        rows[label] = (p99, rate)
    (check_p99, check_rate), (base_p99, base_rate) = rows.values()
    speed, at_p99 = find(r"in-memory flags vs SQL lookup: {n}x decisions/s, {n}x at p99", out)
    assert speed == pytest.approx(check_rate / base_rate, rel=0.1, abs=0.06)
    assert at_p99 == pytest.approx(base_p99 / check_p99, rel=0.1, abs=0.06)
    assert re.search(r"targets: p99 < 1000 us: (yes|NO); >= 20,000 decisions/s: (yes|NO)", out)
