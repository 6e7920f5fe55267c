"""Statistics against independent values: SciPy where installed, textbook examples, and
Monte Carlo for the sequential boundaries."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safespace.deter._analysis import ArmCounts, analyze, parse_counts_csv
from safespace.deter._stats import (
    fisher_exact,
    obf_boundaries,
    obf_spent,
    odds_ratio,
    sample_size_two_proportions,
    sequential_inflation,
    two_proportion_z,
    wilson_interval,
)
from safespace.errors import InvalidInput


def test_fisher_lady_tasting_tea() -> None:
    # Fisher (1935): 3 of 4 cups right each way; two-sided p = 34/70.
    assert fisher_exact(3, 1, 1, 3) == pytest.approx(34 / 70, rel=1e-12)
    assert fisher_exact(4, 0, 0, 4) == pytest.approx(2 / 70, rel=1e-12)


def test_fisher_degenerate_tables() -> None:
    assert fisher_exact(0, 0, 0, 0) == 1.0
    assert fisher_exact(5, 5, 0, 0) == 1.0
    assert fisher_exact(1, 1, 1, 1) == 1.0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=4, max_size=4))
def test_fisher_matches_scipy(cells: list[int]) -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    a, b, c, d = cells
    expected = scipy_stats.fisher_exact([[a, b], [c, d]]).pvalue
    assert fisher_exact(a, b, c, d) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_fisher_large_counts_match_scipy() -> None:
    scipy_stats = pytest.importorskip("scipy.stats")
    for table in ([[1000, 9000], [1100, 8900]], [[15, 85_000], [40, 84_000]]):
        (a, b), (c, d) = table
        expected = scipy_stats.fisher_exact(table).pvalue
        assert fisher_exact(a, b, c, d) == pytest.approx(expected, rel=1e-7)


def test_wilson_textbook_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857, Table I: 81/263 -> 0.2553 to 0.3662.
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    # 15/148 -> 0.0624 to 0.1605; 0/20 -> 0 to 0.1611; 1/29 -> 0.0061 to 0.1718.
    assert tuple(round(x, 4) for x in wilson_interval(15, 148)) == (0.0624, 0.1605)
    assert tuple(round(x, 4) for x in wilson_interval(0, 20)) == (0.0, 0.1611)
    assert tuple(round(x, 4) for x in wilson_interval(1, 29)) == (0.0061, 0.1718)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_matches_statsmodels_formula(kn: tuple[int, int]) -> None:
    k, n = kn
    z = 1.959963984540054
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low, high = wilson_interval(k, n)
    assert low == pytest.approx(max(0, centre - half), abs=1e-12)
    assert high == pytest.approx(min(1, centre + half), abs=1e-12)
    assert low <= p <= high


def test_odds_ratio_reproduces_the_published_trial() -> None:
    # Prichard et al. 2022: left the site, per arm; control 27 of 100.
    ip = odds_ratio(40, 41, 27, 73)
    illegal = odds_ratio(52, 47, 27, 73)
    assert round(ip.value, 2) == 2.64
    assert round(illegal.value, 2) == 2.99
    se = math.sqrt(1 / 40 + 1 / 41 + 1 / 27 + 1 / 73)
    assert ip.low == pytest.approx(math.exp(math.log(ip.value) - 1.959963984540054 * se))
    assert not ip.corrected


def test_odds_ratio_haldane_anscombe_correction() -> None:
    r = odds_ratio(0, 10, 5, 5)
    assert r.corrected
    assert r.value == pytest.approx((0.5 * 5.5) / (10.5 * 5.5))
    assert 0 < r.low < r.value < r.high


def test_two_proportion_z() -> None:
    assert two_proportion_z(50, 100, 50, 100) == 0.0
    # pooled p = 0.4; se = sqrt(0.24 * 0.02); z = 0.2 / se
    assert two_proportion_z(50, 100, 30, 100) == pytest.approx(0.2 / math.sqrt(0.24 * 0.02))


def test_sample_size_textbook() -> None:
    # Fleiss' formula without continuity correction: p0 = 0.27, p1 = 0.40 -> 206 per arm.
    assert sample_size_two_proportions(0.27, 0.40) == 206
    # By hand: (1.95996 * sqrt(2 * .55 * .45) + 1.28155 * sqrt(.25 + .24))^2 / .01 = 518.04.
    assert sample_size_two_proportions(0.5, 0.6, power=0.9) == 519
    with pytest.raises(ValueError, match="different rates"):
        sample_size_two_proportions(0.3, 0.3)


def test_obrien_fleming_boundaries_match_published_values() -> None:
    # Lan-DeMets O'Brien-Fleming-type, 5 equal looks, alpha 0.025 per side (gsDesign sfLDOF).
    got = obf_boundaries([0.2, 0.4, 0.6, 0.8, 1.0])
    assert [round(b, 3) for b in got] == [4.877, 3.357, 2.680, 2.290, 2.031]
    assert obf_boundaries([1.0])[0] == pytest.approx(1.959964, abs=1e-5)
    assert [round(b, 3) for b in obf_boundaries([0.5, 1.0])] == [2.963, 1.969]
    assert obf_spent(1.0) == pytest.approx(0.05)
    assert obf_spent(0.0) == 0.0


def test_boundaries_keep_type_one_error_by_simulation() -> None:
    rng = np.random.default_rng(7)
    ts = np.array([0.3, 0.55, 0.8, 1.0])
    bounds = np.array(obf_boundaries(list(ts)))
    steps = rng.standard_normal((200_000, len(ts))) * np.sqrt(np.diff(np.r_[0.0, ts]))
    z = np.cumsum(steps, axis=1) / np.sqrt(ts)
    rate = (np.abs(z) >= bounds).any(axis=1).mean()
    assert abs(rate - 0.05) < 0.003  # Monte Carlo standard error about 0.0005


def test_sequential_inflation_gives_the_planned_power_by_simulation() -> None:
    rng = np.random.default_rng(11)
    looks = 4
    ts = np.arange(1, looks + 1) / looks
    bounds = np.array(obf_boundaries(list(ts)))
    inflation = sequential_inflation(looks)
    assert 1.0 < inflation < 1.05
    drift = (1.959963984540054 + 0.8416212335729143) * math.sqrt(inflation)
    steps = rng.standard_normal((200_000, looks)) * np.sqrt(np.diff(np.r_[0.0, ts]))
    z = (np.cumsum(steps, axis=1) + drift * ts) / np.sqrt(ts)
    assert abs((np.abs(z) >= bounds).any(axis=1).mean() - 0.8) < 0.005


# --- counts CSV and analysis ------------------------------------------------------------------

PRICHARD = "arm,shown,outcome\ncontrol,100,27\nip_tracing,81,40\nillegality,99,52\n"


def test_analysis_without_a_plan_is_exploratory() -> None:
    result = analyze(parse_counts_csv(PRICHARD), "control")
    assert result.note.startswith("exploratory")
    assert [r.verdict for r in result.arms] == ["control", "not-called", "not-called"]
    control, ip, _ = result.arms
    assert control.p_value is None
    assert control.odds_ratio is None
    assert round(ip.odds_ratio or 0, 2) == 2.64
    assert ip.p_value == pytest.approx(fisher_exact(40, 41, 27, 73))


def test_analysis_refuses_to_call_before_the_planned_sample() -> None:
    result = analyze(parse_counts_csv(PRICHARD), "control", planned_per_arm=206)
    assert "not reached" in result.note
    assert {r.verdict for r in result.arms[1:]} == {"not-called"}
    done = analyze(parse_counts_csv(PRICHARD), "control", planned_per_arm=80)
    assert [r.verdict for r in done.arms] == ["control", "significant", "significant"]


def test_sequential_analysis_uses_the_adjusted_boundary() -> None:
    counts = [ArmCounts("c", 100, 27), ArmCounts("t", 100, 45)]
    early = analyze(counts, "c", planned_per_arm=400, earlier_looks=[0.1])
    assert early.boundary_z == pytest.approx(obf_boundaries([0.1, 0.25])[-1])
    assert early.arms[1].z is not None
    assert abs(early.arms[1].z) < early.boundary_z
    assert early.arms[1].verdict == "continue"
    final = analyze(counts, "c", planned_per_arm=100, earlier_looks=[0.5])
    assert final.arms[1].verdict == "significant"
    with pytest.raises(InvalidInput, match="must come after"):
        analyze(counts, "c", planned_per_arm=100, earlier_looks=[1.0])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("name,n,k\na,1,1\n", "header must be arm,shown,outcome"),
        ("arm,shown,outcome\na,10\n", "line 2: expected 3 fields"),
        ("arm,shown,outcome\na,10,x\n", "line 2: shown and outcome must be whole numbers"),
        ("arm,shown,outcome\na,10,11\nb,5,1\n", "line 2: need shown > 0"),
        ("arm,shown,outcome\na,0,0\nb,5,1\n", "line 2: need shown > 0"),
        ("arm,shown,outcome\na,10,1\na,5,1\n", "line 3: arm 'a' appears twice"),
        ("arm,shown,outcome\na,10,1\n", "need the control and at least one other arm"),
    ],
)
def test_bad_counts(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_counts_csv(text, "c.csv")
    assert message in str(info.value)


def test_unknown_control() -> None:
    with pytest.raises(InvalidInput, match="no arm 'x'"):
        analyze(parse_counts_csv(PRICHARD), "x")
