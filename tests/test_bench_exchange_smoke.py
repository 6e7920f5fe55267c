"""The federation benchmark stays runnable and prints sound figures: a tiny run whose
printed lines are parsed and checked. Timings are never compared with a threshold."""

import subprocess
import sys
from pathlib import Path

import pytest

from bench_output import find, positive

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.slow
def test_exchange_benchmark_prints_rates_and_latency() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_exchange.py"), "--sizes", "300", "--page", "100"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=BENCH.parent,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    (load,) = find(r"load average {n}, [^,]+, [^,]+, feed format columns", out)
    assert load >= 0
    ref_full, ref_delta = find(
        r"size 300: reference bulk import {n} entries/s, delta {n} entries/s", out
    )
    positive(ref_full, ref_delta)
    entries, seconds, rate, pages, ratio = find(
        r"size 300: full fetch {n} entries in {n} s, {n} entries/s, {n} pages, "
        r"{n}x the reference",
        out,
    )
    assert entries == 300
    assert pages >= 3  # the listing in pages of 100, then the change log
    positive(seconds, rate, ratio)
    assert ratio == pytest.approx(rate / ref_full, rel=0.05, abs=0.01)
    delta, seconds, rate, latency, ratio = find(
        r"size 300: delta {n} entries in {n} s, {n} entries/s; commit to matchable {n} ms; "
        r"{n}x the reference",
        out,
    )
    assert delta == 30
    positive(seconds, rate, ratio)
    assert ratio == pytest.approx(rate / ref_delta, rel=0.05, abs=0.01)
    assert latency >= 0
    (wal,) = find(r"size 300: write-ahead log after the full fetch: {n} MiB on disk", out)
    positive(wal)
    (running,) = find(r"size 300: commit to matchable with the fetch running \(a worker "
                      r"refreshing every 100 ms\): {n} ms", out)  # fmt: skip
    assert running >= 0
    memory, peer_memory = find(r"size 300: peak memory {n} MiB \(this process\), "
                               r"{n} MiB \(the peer\)", out)  # fmt: skip
    positive(memory)
    assert peer_memory >= 0  # 0 where /proc is missing
    (floor,) = find(r"size 300: floor \(narrow staging rows alone\) {n} rows/s", out)
    positive(floor)
    served, seconds, rate, peer_cpu = find(
        r"size 300: peer serves {n} entries in {n} s, {n} entries/s \(pages read and decoded, "
        r"nothing applied; peer CPU {n} s\)",
        out,
    )
    assert served == 300
    positive(seconds, rate)
    assert peer_cpu >= 0
    client_cpu, peer_cpu, floors = find(
        r"size 300: full fetch CPU: this process {n} s, the peer {n} s; {n}x the floor's time",
        out,
    )
    positive(client_cpu, floors)
    assert peer_cpu >= 0
