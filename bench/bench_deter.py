"""Deter decision speed with a large operator term list, against a plain regex baseline.

Generates placeholder terms (random tokens, never real ones) and benign queries with a few
hits mixed in, then measures ``Deterrer.decide`` per query (p50, p99) and in a tight loop
(decisions per second, one core), and one big alternation regular expression over the same
terms, in the same run. Prints the ratios.

    python bench/bench_deter.py                 # 100,000 terms, 50,000 queries
    python bench/bench_deter.py --quick         # 10,000 terms, 5,000 queries
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path

from safespace.deter import DecisionRequest, Deterrer, load_data, normalize

_BENIGN_TEXT = (
    "weather tomorrow london cheap flights to paris recipe chicken curry how to fix a bike "
    "puncture best laptop 2026 football scores kids shoes size 12 teen fiction books garden "
    "furniture sale train times manchester python tutorial used cars near me dentist opening "
    "hours birthday cake ideas hiking boots review cinema listings tonight yoga for beginners "
    "mortgage calculator cat food allergy wedding dresses museum tickets bus route 42 school "
    "holidays 2026 vegan pasta bake phone case red winter coat women running shoes men "
    "children's hospital visiting times plumber emergency translate hello into spanish"
)
BENIGN_WORDS = _BENIGN_TEXT.split(" ")


def make_terms(n: int, rng: random.Random) -> list[str]:
    terms: set[str] = set()
    while len(terms) < n:
        word = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(6, 10)))
        if rng.random() < 0.2:  # some two-word terms
            word += " " + "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 7)))
        terms.add(word)
    return sorted(terms)


def make_queries(n: int, terms: list[str], rng: random.Random) -> list[str]:
    queries = []
    for _ in range(n):
        words = rng.choices(BENIGN_WORDS, k=rng.randint(2, 7))
        roll = rng.random()
        if roll < 0.02:  # an operator term, sometimes disguised
            term = rng.choice(terms)
            words.insert(rng.randint(0, len(words)), term.upper() if roll < 0.01 else term)
        elif roll < 0.03:
            words += ["teen", "nude"]  # the built-in rule
        queries.append(" ".join(words))
    return queries


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def per_query(fn: object, queries: list[str]) -> list[float]:
    assert callable(fn)
    times = []
    clock = time.perf_counter_ns
    for q in queries:
        t0 = clock()
        fn(q)
        times.append((clock() - t0) / 1000)  # microseconds
    return times


def throughput(fn: object, queries: list[str], seconds: float) -> float:
    assert callable(fn)
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for q in queries[:5000]:
            fn(q)
        done += min(5000, len(queries))
    return done / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--terms", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=50_000)
    parser.add_argument("--regex-queries", type=int, default=2_000, help="the baseline is slow")
    parser.add_argument("--quick", action="store_true", help="10,000 terms, 5,000 queries")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=2.0, help="per throughput loop")
    args = parser.parse_args()
    if args.quick:
        args.terms, args.queries, args.regex_queries = 10_000, 5_000, 500
    rng = random.Random(args.seed)
    terms = make_terms(args.terms, rng)
    queries = make_queries(args.queries, terms, rng)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "placeholder.txt"
        path.write_text("\n".join(terms))
        t0 = time.perf_counter()
        data = load_data(extra_terms=[path])
        load_s = time.perf_counter() - t0
    deterrer = Deterrer(data, b"bench-secret-0123456789abcdef")

    def decide(q: str) -> object:
        return deterrer.decide(DecisionRequest("search", q, session="bench-session"))

    hits = sum(decide(q).intervene for q in queries)  # also warms caches
    lat = per_query(decide, queries)
    rate = throughput(decide, queries, args.seconds)

    t0 = time.perf_counter()
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, terms)) + r")\b")
    compile_s = time.perf_counter() - t0

    def regex(q: str) -> object:
        return pattern.search(q.lower())

    matcher = data.detector.terms

    def automaton(q: str) -> object:
        return matcher.find(normalize(q))

    sample = queries[: args.regex_queries]
    regex_hits = sum(regex(q) is not None for q in sample)
    rlat = per_query(regex, sample)
    rrate = len(sample) / (sum(rlat) / 1e6)

    alat = per_query(automaton, queries)
    arate = throughput(automaton, queries, args.seconds)

    p50, p99 = statistics.median(lat), percentile(lat, 0.99)
    a50, a99 = statistics.median(alat), percentile(alat, 0.99)
    r50, r99 = statistics.median(rlat), percentile(rlat, 0.99)
    print(f"terms: {len(terms):,} placeholder terms; queries: {len(queries):,} "
          f"({hits:,} intervened); Python {sys.version.split()[0]}")  # fmt: skip
    print(f"load (normalise + automaton): {load_s:.2f} s; regex compile: {compile_s:.2f} s")
    print(f"{'':28}{'p50 us':>10}{'p99 us':>10}{'decisions/s':>14}")
    print(f"{'Deterrer.decide':28}{p50:10.1f}{p99:10.1f}{rate:14,.0f}")
    print(f"{'normalise + automaton only':28}{a50:10.1f}{a99:10.1f}{arate:14,.0f}")
    print(f"{'regex alternation (raw)':28}{r50:10.1f}{r99:10.1f}{rrate:14,.0f}")
    print(f"whole decision vs regex: {rate / rrate:.1f}x queries/s, {r99 / p99:.1f}x at p99")
    print(f"term matching vs regex:  {arate / rrate:.1f}x queries/s, {r99 / a99:.1f}x at p99 "
          f"(the regex sees raw lowercase text: no normalisation, so it misses disguises; "
          f"it matched {regex_hits} of {len(sample):,} queries)")  # fmt: skip
    print(f"targets: p99 < 1000 us: {'yes' if p99 < 1000 else 'NO'}; "
          f">= 20,000 decisions/s: {'yes' if rate >= 20_000 else 'NO'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
