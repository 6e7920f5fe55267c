"""The text benchmark stays runnable: a tiny run prints sound figures (parsed and checked;
timings are never compared with a threshold)."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench_output import find, positive

ROOT = Path(__file__).resolve().parents[2]


def check_text_output(out: str, urls: int, keywords: int, posts: int) -> None:
    """The figures bench_text.py prints for a run with these sizes."""
    (listed, n_keywords) = find(r"listed: {n} URL expressions; keywords: {n}", out)
    assert (listed, n_keywords) == (urls, keywords)
    positive(*find(r"machine reference: 1,000,000 Python additions in {n} ms", out))
    load1, load5, cores = find(
        r"machine load: load average {n} \(1 min\), {n} \(5 min\) on {n} cores", out
    )
    assert min(load1, load5) >= 0
    assert cores >= 1
    (n_posts, links, planted) = find(r"posts: {n} with {n} links \({n} to listed pages\)", out)
    assert n_posts == posts
    assert 0 <= planted <= links
    rows = {}
    for label in ("text pipeline", "regex + set (baseline)"):
        p50, p99, rate = find(re.escape(label) + r"\s+{n}\s+{n}\s+{n}", out)
        positive(p50, p99, rate)
        assert p50 <= p99
        rows[label] = (p99, rate)
    (pipe_p99, pipe_rate), (base_p99, base_rate) = rows.values()
    rate_ratio, p99_ratio = find(r"pipeline vs baseline: {n}x messages/s, {n}x at p99", out)
    assert rate_ratio == pytest.approx(pipe_rate / base_rate, rel=0.1, abs=0.01)
    assert p99_ratio == pytest.approx(base_p99 / pipe_p99, rel=0.1, abs=0.01)
    cpu50_ratio, cpu99_ratio = find(
        r"pipeline vs baseline, cpu time per message: {n}x at p50, {n}x at p99", out
    )
    c50, c99, d50, d99 = find(
        r"pipeline p50 {n} us, p99 {n} us; baseline p50 {n} us, p99 {n} us", out
    )
    positive(c50, c99, d50, d99)
    assert cpu50_ratio == pytest.approx(d50 / c50, rel=0.1, abs=0.01)
    assert cpu99_ratio == pytest.approx(d99 / c99, rel=0.1, abs=0.01)
    positive(*find(r"links p50 {n} us, p99 {n} us; keywords .* p50 {n} us, p99 {n} us", out))
    # every planted listed link and keyword is found: they are written so that they must be
    found, of = find(r"listed links found: pipeline {n} of {n}", out)
    assert found == of == planted
    found, of = find(r"keywords found: pipeline {n} of {n}", out)
    assert found == of
    # post by post, the pipeline finds everything the baseline finds (and more: hidden links)
    base_found, pipe_found, missed, missed_posts = find(
        r"post by post: baseline found {n} matches, pipeline {n}; "
        r"pipeline missed {n} of the baseline's, in {n} posts",
        out,
    )
    assert missed == missed_posts == 0
    assert pipe_found >= base_found > 0
    assert re.search(r"targets: messages/s >= 20,000: (yes|NO); p99 < 1000 us: (yes|NO)", out)


def test_text_benchmark_runs_small() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_text.py"), "--urls", "2000",
         "--keywords", "500", "--posts", "300", "--seconds", "0.2"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    check_text_output(proc.stdout, urls=2000, keywords=500, posts=300)
