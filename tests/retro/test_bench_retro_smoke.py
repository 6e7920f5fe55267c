"""bench/bench_retro.py stays runnable at a tiny size and prints sound figures: every planted
copy queued, recall 1.0 against brute force, nothing found that brute force did not find.
Timings are printed, never compared with a threshold."""

from __future__ import annotations

from bench_output import find, positive, run_bench


def test_retro_benchmark_prints_recall_and_ratios() -> None:
    args = ["--sizes", "3000", "--new", "300", "--planted", "40"]
    out = run_bench("bench_retro.py", *args)
    (stored, loaded) = find(r"stored {n} content hashes in [^;]+; content index loaded in "
                            r"[^(]+\({n} hashes\)", out)  # fmt: skip
    assert stored == loaded == 3000
    new, planted, t_import, t_total, hits, queued = find(
        r"{n} new entries \({n} planted copies\): import {n} s, import to queued items {n} s; "
        r"{n} hits, {n} items queued",
        out,
    )
    assert (new, planted) == (300, 40)
    positive(t_import, t_total)
    assert t_total >= t_import
    assert hits >= planted
    assert queued >= planted
    recall, pairs, entries, extra = find(
        r"recall {n} vs brute force \({n} pairs over {n} entries, {n} not in brute force\)", out
    )
    assert recall == 1.0
    assert pairs == hits
    assert entries == 300
    assert extra == 0
    t_search, t_brute = find(r"content index {n} s; brute force {n} s", out)
    positive(t_search, t_brute)
