"""Per-arm results of a warning experiment, from counts, with a guard against peeking.

Input is one row per arm: how many people were shown it and how many had the outcome
(``arm,shown,outcome``), so published trials can be re-analysed as easily as SafeSpace's
own events. Each warned arm is compared with the control.

Significance is called only under a pre-registered plan: with a planned sample per arm and
no interim looks, not before both arms reach it; with interim looks (the information
fractions of earlier analyses), against the O'Brien-Fleming-type boundary for this look.
Without a plan the numbers are shown as exploratory and no verdict is given.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import NormalDist

from safespace.deter._stats import (
    fisher_exact,
    obf_boundaries,
    odds_ratio,
    two_proportion_z,
    wilson_interval,
)
from safespace.errors import InvalidInput

__all__ = ["Analysis", "ArmCounts", "ArmResult", "analyze", "parse_counts_csv"]

_MAX_ROWS = 1000


@dataclass(frozen=True)
class ArmCounts:
    arm: str
    shown: int
    outcome: int


def parse_counts_csv(text: str, source: str = "counts") -> list[ArmCounts]:
    """Rows of ``arm,shown,outcome`` (a header line first); errors name the line."""
    reader = csv.reader(io.StringIO(text))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise InvalidInput(f"{source}: not a CSV file ({exc})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise InvalidInput(f"{source}: empty file")
    header = [h.strip().lower() for h in rows[0]]
    if header[:3] != ["arm", "shown", "outcome"] or len(header) != 3:
        raise InvalidInput(f"{source}: line 1: the header must be arm,shown,outcome")
    if len(rows) > _MAX_ROWS:
        raise InvalidInput(f"{source}: more than {_MAX_ROWS} arms")
    out: list[ArmCounts] = []
    seen: set[str] = set()
    for lineno, row in enumerate(rows[1:], start=2):
        where = f"{source}: line {lineno}"
        if len(row) != 3:
            raise InvalidInput(f"{where}: expected 3 fields, got {len(row)}")
        arm = row[0].strip()
        if not arm:
            raise InvalidInput(f"{where}: empty arm name")
        if arm in seen:
            raise InvalidInput(f"{where}: arm {arm!r} appears twice")
        seen.add(arm)
        try:
            shown, outcome = int(row[1].strip()), int(row[2].strip())
        except ValueError:
            raise InvalidInput(f"{where}: shown and outcome must be whole numbers") from None
        if shown <= 0 or outcome < 0 or outcome > shown:
            raise InvalidInput(f"{where}: need shown > 0 and 0 <= outcome <= shown")
        out.append(ArmCounts(arm, shown, outcome))
    if len(out) < 2:
        raise InvalidInput(f"{source}: need the control and at least one other arm")
    return out


@dataclass(frozen=True)
class ArmResult:
    arm: str
    shown: int
    outcome: int
    rate: float
    rate_ci_low: float
    rate_ci_high: float
    odds_ratio: float | None
    or_ci_low: float | None
    or_ci_high: float | None
    p_value: float | None  # Fisher's exact, two-sided; None for the control
    z: float | None
    haldane_corrected: bool
    verdict: str  # control, significant, not-significant, continue, not-called

    def to_dict(self) -> dict[str, object]:
        return {k: _clean(v) for k, v in asdict(self).items()}


def _clean(v: object) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


@dataclass(frozen=True)
class Analysis:
    control: str
    arms: tuple[ArmResult, ...]
    alpha: float
    planned_per_arm: int | None
    information_fraction: float | None  # of the least-filled comparison
    boundary_z: float | None  # |z| needed now (sequential), or the fixed-design one
    note: str


def analyze(
    counts: Sequence[ArmCounts],
    control: str,
    *,
    alpha: float = 0.05,
    planned_per_arm: int | None = None,
    earlier_looks: Sequence[float] = (),
) -> Analysis:
    """Compare each arm with ``control``; see the module doc for when a verdict is given."""
    by_arm = {c.arm: c for c in counts}
    if control not in by_arm:
        raise InvalidInput(f"no arm {control!r} in the counts (arms: {', '.join(by_arm)})")
    if not 0 < alpha < 1:
        raise InvalidInput("alpha must be between 0 and 1")
    if planned_per_arm is not None and planned_per_arm <= 0:
        raise InvalidInput("the planned sample per arm must be positive")
    if earlier_looks and planned_per_arm is None:
        raise InvalidInput("interim looks need the planned sample per arm")
    ctrl = by_arm[control]
    fractions = [
        min(by_arm[a].shown, ctrl.shown) / planned_per_arm
        for a in by_arm
        if a != control and planned_per_arm
    ]
    t_now = min(fractions) if fractions else None
    boundary: float | None = None
    note: str
    if planned_per_arm is None:
        note = "exploratory: no pre-registered sample size, so no significance is called"
    elif earlier_looks:
        looks = sorted(float(t) for t in earlier_looks)
        assert t_now is not None
        current = min(t_now, 1.0)
        if current <= looks[-1]:
            raise InvalidInput(
                f"this look (information {current:.3f}) must come after the earlier looks"
            )
        try:
            boundary = obf_boundaries([*looks, current], alpha)[-1]
        except ValueError as exc:
            raise InvalidInput(f"earlier looks: {exc}") from None
        note = (
            f"sequential look {len(looks) + 1} at information {current:.3f}: "
            f"O'Brien-Fleming boundary |z| >= {boundary:.3f}"
        )
    else:
        assert t_now is not None
        boundary = _z_two_sided(alpha)
        if t_now < 1:
            note = (
                f"planned sample not reached ({min(by_arm[a].shown for a in by_arm)} "
                f"of {planned_per_arm} per arm): no significance is called yet"
            )
        else:
            note = f"planned sample reached: two-sided alpha {alpha}"
    results = [_control_row(ctrl)]
    for arm in by_arm.values():
        if arm.arm == control:
            continue
        t_arm = min(arm.shown, ctrl.shown) / planned_per_arm if planned_per_arm else None
        results.append(_arm_row(arm, ctrl, alpha, t_arm, boundary, bool(earlier_looks)))
    return Analysis(control, tuple(results), alpha, planned_per_arm, t_now, boundary, note)


def _z_two_sided(alpha: float) -> float:
    return NormalDist().inv_cdf(1 - alpha / 2)


def _rate(c: ArmCounts) -> tuple[float, float, float]:
    low, high = wilson_interval(c.outcome, c.shown)
    return c.outcome / c.shown, low, high


def _control_row(c: ArmCounts) -> ArmResult:
    rate, low, high = _rate(c)
    return ArmResult(c.arm, c.shown, c.outcome, rate, low, high, None, None, None, None, None,
                     False, "control")  # fmt: skip


def _arm_row(
    arm: ArmCounts,
    ctrl: ArmCounts,
    alpha: float,
    t: float | None,
    boundary: float | None,
    sequential: bool,
) -> ArmResult:
    rate, low, high = _rate(arm)
    a, b = arm.outcome, arm.shown - arm.outcome
    c, d = ctrl.outcome, ctrl.shown - ctrl.outcome
    ratio = odds_ratio(a, b, c, d)
    p = fisher_exact(a, b, c, d)
    z = two_proportion_z(arm.outcome, arm.shown, ctrl.outcome, ctrl.shown)
    if t is None or boundary is None:
        verdict = "not-called"
    elif sequential:
        if abs(z) >= boundary:
            verdict = "significant"
        else:
            verdict = "not-significant" if t >= 1 else "continue"
    elif t < 1:
        verdict = "not-called"
    else:
        verdict = "significant" if p < alpha else "not-significant"
    return ArmResult(arm.arm, arm.shown, arm.outcome, rate, low, high, ratio.value, ratio.low,
                     ratio.high, p, z, ratio.corrected, verdict)  # fmt: skip
