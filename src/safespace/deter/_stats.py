"""Statistics for comparing warnings: rates, odds ratios, exact tests, and peeking guards.

* Rates: Wilson score interval (good at small counts and near 0 or 1).
* Odds ratio of an arm against the control: Woolf's log interval,
  ``exp(ln OR +/- z * sqrt(1/a + 1/b + 1/c + 1/d))``; when any cell is zero, 0.5 is added
  to every cell first (Haldane-Anscombe), and the result says so.
* Fisher's exact test, two-sided: the sum of the hypergeometric probabilities of all tables
  with the same margins that are no more likely than the one observed (the "minimum
  likelihood" rule R and SciPy use), computed in log space from the mode outwards.
* Sample size for two proportions (normal approximation, pooled variance under H0), and
  group-sequential boundaries: O'Brien-Fleming-type alpha spending (Lan-DeMets), two-sided
  and symmetric, found by numerical integration over the looks (Armitage-McPherson-Rowe).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

__all__ = [
    "OddsRatio",
    "fisher_exact",
    "obf_boundaries",
    "obf_spent",
    "odds_ratio",
    "sample_size_two_proportions",
    "sequential_inflation",
    "two_proportion_z",
    "wilson_interval",
]

_N = NormalDist()


def _z(confidence: float) -> float:
    return _N.inv_cdf(0.5 + confidence / 2)


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes out of ``n`` (``n`` > 0)."""
    if n <= 0 or not 0 <= k <= n:
        raise ValueError("need 0 <= k <= n and n > 0")
    z = _z(confidence)
    z2 = z * z
    p = k / n
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


@dataclass(frozen=True)
class OddsRatio:
    value: float
    low: float
    high: float
    corrected: bool  # Haldane-Anscombe: 0.5 added to every cell because one was zero


def odds_ratio(a: int, b: int, c: int, d: int, confidence: float = 0.95) -> OddsRatio:
    """Odds ratio of the table ``[[a, b], [c, d]]`` (arm: outcome, none; control: ...)."""
    if min(a, b, c, d) < 0:
        raise ValueError("counts must not be negative")
    corrected = min(a, b, c, d) == 0
    fa, fb, fc, fd = (x + 0.5 if corrected else float(x) for x in (a, b, c, d))
    log_or = math.log(fa * fd / (fb * fc))
    se = math.sqrt(1 / fa + 1 / fb + 1 / fc + 1 / fd)
    z = _z(confidence)
    return OddsRatio(
        math.exp(log_or), math.exp(log_or - z * se), math.exp(log_or + z * se), corrected
    )


def _lcomb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p-value of Fisher's exact test for ``[[a, b], [c, d]]``."""
    if min(a, b, c, d) < 0:
        raise ValueError("counts must not be negative")
    n1, k, total = a + b, a + c, a + b + c + d
    lo, hi = max(0, n1 - (total - k)), min(n1, k)
    if lo == hi:
        return 1.0
    base = _lcomb(total, n1)

    def logpmf(x: int) -> float:
        return _lcomb(k, x) + _lcomb(total - k, n1 - x) - base

    log_obs = logpmf(a)
    threshold = log_obs + 1e-7  # relative tolerance for ties, as R and SciPy use
    mode = min(max((n1 + 1) * (k + 1) // (total + 2), lo), hi)
    if logpmf(mode) <= threshold:
        return 1.0

    def down(x: int) -> float:  # pmf(x - 1) / pmf(x)
        return x * (total - k - n1 + x) / ((k - x + 1) * (n1 - x + 1))

    def up(x: int) -> float:  # pmf(x + 1) / pmf(x)
        return (k - x) * (n1 - x) / ((x + 1) * (total - k - n1 + x + 1))

    rel_sum = 0.0
    # Left tail: pmf rises up to the mode, so the tables counted are a prefix [lo, xl].
    if logpmf(lo) <= threshold:
        left, right = lo, mode  # invariant: logpmf(left) <= threshold < logpmf(right)
        while right - left > 1:
            mid = (left + right) // 2
            left, right = (mid, right) if logpmf(mid) <= threshold else (left, mid)
        rel_sum += _tail_sum(left, lo, logpmf(left) - log_obs, down, -1)
    # Right tail: pmf falls after the mode, so the tables counted are a suffix [xr, hi].
    if logpmf(hi) <= threshold:
        left, right = mode, hi  # invariant: logpmf(left) > threshold >= logpmf(right)
        while right - left > 1:
            mid = (left + right) // 2
            left, right = (left, mid) if logpmf(mid) <= threshold else (mid, right)
        rel_sum += _tail_sum(right, hi, logpmf(right) - log_obs, up, 1)
    return min(1.0, math.exp(log_obs) * rel_sum)


def _tail_sum(
    start: int, end: int, log_rel: float, ratio: Callable[[int], float], step: int
) -> float:
    """Sum pmf/pmf_obs from ``start`` to ``end`` (inclusive), stopping once terms vanish."""
    term = math.exp(log_rel)
    total = 0.0
    x = start
    while True:
        total += term
        if x == end or term < total * 1e-17:
            return total
        term *= ratio(x)
        x += step


def two_proportion_z(k1: int, n1: int, k0: int, n0: int) -> float:
    """The pooled two-proportion z statistic (arm 1 minus control 0); 0 when undefined."""
    pooled = (k1 + k0) / (n1 + n0)
    var = pooled * (1 - pooled) * (1 / n1 + 1 / n0)
    return 0.0 if var <= 0 else (k1 / n1 - k0 / n0) / math.sqrt(var)


def sample_size_two_proportions(
    p0: float, p1: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """People per arm to tell rates ``p0`` and ``p1`` apart (two-sided ``alpha``)."""
    if not (0 < p0 < 1 and 0 < p1 < 1) or p0 == p1:
        raise ValueError("need two different rates strictly between 0 and 1")
    za, zb = _N.inv_cdf(1 - alpha / 2), _N.inv_cdf(power)
    pbar = (p0 + p1) / 2
    top = za * math.sqrt(2 * pbar * (1 - pbar)) + zb * math.sqrt(p0 * (1 - p0) + p1 * (1 - p1))
    return math.ceil(top * top / (p0 - p1) ** 2)


# --- group-sequential boundaries -------------------------------------------------------------


def obf_spent(t: float, alpha: float = 0.05) -> float:
    """Two-sided alpha spent by information fraction ``t``: O'Brien-Fleming-type (Lan-DeMets),
    ``2 * (2 - 2 * Phi(z_{1 - alpha/4} / sqrt(t)))``, i.e. ``alpha / 2`` spent on each side."""
    if t <= 0:
        return 0.0
    t = min(t, 1.0)
    return 2 * (2 - 2 * _N.cdf(_N.inv_cdf(1 - alpha / 4) / math.sqrt(t)))


_GRID = 401
_erfc = np.frompyfunc(math.erfc, 1, 1)


def _upper(x: np.ndarray) -> np.ndarray:
    """P(N(0,1) > x), elementwise."""
    return np.asarray(_erfc(x / math.sqrt(2)), dtype=float) / 2


class _Sequential:
    """The density of the score S_k = Z_k * sqrt(t_k) on a grid, continued look by look."""

    def __init__(self, drift: float) -> None:
        self.drift = drift
        self.t = 0.0
        self.nodes: np.ndarray | None = None  # None: S is exactly 0 (before the first look)
        self.weights = np.ones(1)

    def crossing(self, t: float, c: float) -> float:
        """P(|Z| >= c at a look at ``t`` and no earlier crossing)."""
        dt = t - self.t
        sd = math.sqrt(dt)
        mean = (self.nodes if self.nodes is not None else np.zeros(1)) + self.drift * dt
        b = c * math.sqrt(t)
        probs = _upper((b - mean) / sd) + _upper((b + mean) / sd)
        return float(np.dot(self.weights, probs))

    def advance(self, t: float, c: float) -> None:
        """Keep only paths inside the boundary at ``t``; their density on a new grid."""
        dt = t - self.t
        sd = math.sqrt(dt)
        b = c * math.sqrt(t)
        grid = np.linspace(-b, b, _GRID)
        simpson = np.ones(_GRID)
        simpson[1:-1:2], simpson[2:-1:2] = 4, 2
        simpson *= (grid[1] - grid[0]) / 3
        prev = self.nodes if self.nodes is not None else np.zeros(1)
        diff = (grid[None, :] - prev[:, None] - self.drift * dt) / sd
        dens = self.weights @ (np.exp(-0.5 * diff * diff) / (sd * math.sqrt(2 * math.pi)))
        self.nodes, self.weights, self.t = grid, dens * simpson, t


def _check_fractions(fractions: Sequence[float]) -> list[float]:
    ts = [float(t) for t in fractions]
    if not ts or any(not 0 < t <= 1 for t in ts) or any(b <= a for a, b in itertools.pairwise(ts)):
        raise ValueError("information fractions must rise strictly within (0, 1]")
    return ts


def obf_boundaries(fractions: Sequence[float], alpha: float = 0.05) -> list[float]:
    """Two-sided |z| boundaries at each look for O'Brien-Fleming-type Lan-DeMets spending."""
    ts = _check_fractions(fractions)
    seq = _Sequential(0.0)
    out: list[float] = []
    spent = 0.0
    for t in ts:
        target = obf_spent(t, alpha) - spent
        lo, hi = 0.0, 40.0
        if target <= 1e-15:
            c = hi
        else:
            for _ in range(60):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if seq.crossing(t, mid) > target else (lo, mid)
            c = (lo + hi) / 2
        out.append(c)
        spent += seq.crossing(t, c)
        seq.advance(t, c)
    return out


def _power(fractions: list[float], bounds: list[float], drift: float) -> float:
    seq = _Sequential(drift)
    total = 0.0
    for t, c in zip(fractions, bounds, strict=True):
        total += seq.crossing(t, c)
        seq.advance(t, c)
    return total


def sequential_inflation(looks: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """How much more information (sample) equally spaced O'Brien-Fleming looks need than a
    single analysis at the same alpha and power (1.0 for one look)."""
    if looks <= 1:
        return 1.0
    fractions = [(i + 1) / looks for i in range(looks)]
    bounds = obf_boundaries(fractions, alpha)
    fixed = _N.inv_cdf(1 - alpha / 2) + _N.inv_cdf(power)
    lo, hi = fixed, fixed * 1.5
    for _ in range(26):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _power(fractions, bounds, mid) < power else (lo, mid)
    return ((lo + hi) / 2 / fixed) ** 2
