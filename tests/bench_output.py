"""Reading the figures the benchmarks print, for the smoke tests that check them."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

NUMBER = r"[0-9][0-9,]*(?:\.[0-9]+)?"


BENCH_DIR = Path(__file__).resolve().parents[1] / "bench"


def run_bench(script: str, *args: str) -> str:
    """Run ``bench/<script>`` with ``args`` from the repository root; its output."""
    bench = BENCH_DIR / script
    proc = subprocess.run(
        [sys.executable, str(bench), *args],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=bench.parents[1],
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def number(text: str) -> float:
    return float(text.replace(",", ""))


def find(pattern: str, out: str) -> tuple[float, ...]:
    """The numbers captured by ``pattern`` (``{n}`` stands for a number); it must match."""
    match = re.search(pattern.replace("{n}", f"({NUMBER})"), out)
    assert match, f"{pattern!r} not in the output:\n{out}"
    return tuple(number(g) for g in match.groups())


def positive(*values: float) -> None:
    for value in values:
        assert math.isfinite(value)
        assert value > 0


def check_deter_output(out: str, terms: int, queries: int, regex_queries: int) -> None:
    """The figures bench_deter.py prints for a run with these sizes."""
    assert find(r"terms: {n} placeholder terms", out) == (terms,)
    (n_queries, intervened) = find(r"queries: {n} \({n} intervened\)", out)
    assert n_queries == queries
    assert 0 < intervened <= queries  # the planted queries are found
    rows = {}
    for label in ("Deterrer.decide", "normalise + automaton only", "regex alternation (raw)"):
        p50, p99, rate = find(re.escape(label) + r"\s+{n}\s+{n}\s+{n}", out)
        positive(p50, p99, rate)
        assert p50 <= p99
        rows[label] = (p99, rate)
    decide, automaton, regex = rows.values()
    qps, at_p99 = find(r"whole decision vs regex: {n}x queries/s, {n}x at p99", out)
    assert qps == pytest.approx(decide[1] / regex[1], rel=0.1, abs=0.06)
    assert at_p99 == pytest.approx(regex[0] / decide[0], rel=0.1, abs=0.06)
    qps, at_p99 = find(r"term matching vs regex:  {n}x queries/s, {n}x at p99", out)
    assert qps == pytest.approx(automaton[1] / regex[1], rel=0.1, abs=0.06)
    (matched, seen) = find(r"it matched {n} of {n} queries", out)
    assert seen == regex_queries
    assert 0 <= matched <= seen
