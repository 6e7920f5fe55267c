"""An experiment's report from stored events: HTML with plots, and a CSV of per-arm counts.

The primary outcome (the one the plan was made for) is analysed under the peeking guard of
:mod:`safespace.deter._analysis`; the other outcomes are shown as exploratory, never with a
verdict. Plots are PNGs drawn with matplotlib's Agg canvas (no display, no global pyplot
state, so safe in a server thread) and embedded as data URIs: the HTML is one file that
loads nothing else. A plot is drawn once per set of figures (a small cache): a page asked for
again with no new events reuses them. Headings name outcomes in words; an outcome no arm has
had yet gets no odds ratio or test (there is nothing to compare). The page fits a phone.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from safespace.deter._analysis import Analysis, ArmCounts, ArmResult, analyze
from safespace.deter._events import DeterEvents
from safespace.deter._experiments import OUTCOMES, Experiment
from safespace.errors import InvalidInput

__all__ = ["OUTCOME_LABELS", "ExperimentReport", "build_report", "render_csv", "render_html"]

# Each outcome in words, for headings and axes (the stored name follows in small print).
OUTCOME_LABELS = {
    "proceeded": "Went on after the message",
    "left": "Left after the message",
    "clicked_help": "Opened a help link",
    "engaged_chatbot": "Talked to the chatbot",
    "triggered_again": "Saw a message again later",
}


def _label(outcome: str) -> str:
    return OUTCOME_LABELS.get(outcome, outcome)


@dataclass(frozen=True)
class OutcomeAnalysis:
    outcome: str
    primary: bool
    analysis: Analysis | None  # None: not enough data (no control or no other arm shown)


@dataclass(frozen=True)
class ExperimentReport:
    experiment: str
    control: str
    arms: tuple[str, ...]  # every arm of the experiment, in its order, then any others seen
    counts: dict[str, dict[str, int]]  # arm -> shown and each outcome
    primary: str
    planned_per_arm: int | None
    outcomes: tuple[OutcomeAnalysis, ...]
    generated_at: dt.datetime


def build_report(
    events: DeterEvents,
    experiment: Experiment,
    *,
    outcome: str = "clicked_help",
    planned_per_arm: int | None = None,
    earlier_looks: Sequence[float] = (),
    alpha: float | None = None,
    epoch: int | None = None,
) -> ExperimentReport:
    """Count the stored events of ``experiment`` and analyse each outcome against control.

    ``planned_per_arm`` defaults to the experiment's plan (``Plan.per_arm``); without a plan
    the primary outcome is exploratory too.
    """
    if outcome not in OUTCOMES:
        raise InvalidInput(f"unknown outcome {outcome!r} (use {', '.join(OUTCOMES)})")
    plan = experiment.plan
    if planned_per_arm is None and plan is not None:
        planned_per_arm = plan.per_arm()
    if alpha is None:
        alpha = plan.alpha if plan is not None else 0.05
    counts = events.counts(experiment.id, epoch=epoch)
    arms = [a.id for a in experiment.arms] + sorted(set(counts) - {a.id for a in experiment.arms})
    for arm in arms:
        counts.setdefault(arm, {"shown": 0, **dict.fromkeys(OUTCOMES, 0)})
    results = []
    for name in (outcome, *[o for o in OUTCOMES if o != outcome]):
        rows = [ArmCounts(a, counts[a]["shown"], counts[a][name]) for a in arms]
        rows = [r for r in rows if r.shown > 0]
        usable = any(r.arm == experiment.control for r in rows) and len(rows) >= 2
        analysis = None
        if usable:
            primary = name == outcome
            analysis = analyze(
                rows,
                experiment.control,
                alpha=alpha,
                planned_per_arm=planned_per_arm if primary else None,
                earlier_looks=earlier_looks if primary and planned_per_arm else (),
            )
        results.append(OutcomeAnalysis(name, name == outcome, analysis))
    return ExperimentReport(
        experiment.id, experiment.control, tuple(arms), counts, outcome, planned_per_arm,
        tuple(results), dt.datetime.now(dt.UTC),
    )  # fmt: skip


def render_csv(report: ExperimentReport) -> str:
    """``arm,shown,<each outcome>``: one row per arm (the control marked in its own column)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["arm", "control", "shown", *OUTCOMES])
    for arm in report.arms:
        row = report.counts[arm]
        is_control = "yes" if arm == report.control else "no"
        writer.writerow([arm, is_control, row["shown"], *(row[o] for o in OUTCOMES)])
    return buf.getvalue()


# --- plots -------------------------------------------------------------------------------------


def _png(fig: object) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure)
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@lru_cache(maxsize=64)
def _rates_plot(analysis: Analysis, outcome: str) -> str:
    from matplotlib.figure import Figure

    rows = list(analysis.arms)
    fig = Figure(figsize=(6.4, 0.5 + 0.45 * len(rows)))
    ax = fig.add_subplot()
    ys = list(range(len(rows)))[::-1]
    rates = [r.rate * 100 for r in rows]
    lows = [(r.rate - r.rate_ci_low) * 100 for r in rows]
    highs = [(r.rate_ci_high - r.rate) * 100 for r in rows]
    colours = ["#595959" if r.verdict == "control" else "#1f5fa8" for r in rows]
    ax.errorbar(rates, ys, xerr=[lows, highs], fmt="none", ecolor="#333333", capsize=3)
    ax.scatter(rates, ys, c=colours, zorder=3)
    ax.set_yticks(ys, [r.arm for r in rows])
    ax.set_xlabel(f"{_label(outcome)}: rate, % (95% Wilson interval)")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


@lru_cache(maxsize=64)
def _odds_plot(analysis: Analysis) -> str | None:
    from matplotlib.figure import Figure

    rows = [r for r in analysis.arms if r.odds_ratio is not None]
    if not rows:
        return None
    fig = Figure(figsize=(6.4, 0.5 + 0.45 * len(rows)))
    ax = fig.add_subplot()
    ys = list(range(len(rows)))[::-1]
    ors = [r.odds_ratio or 1.0 for r in rows]
    low = [o - (r.or_ci_low or o) for o, r in zip(ors, rows, strict=True)]
    high = [(r.or_ci_high or o) - o for o, r in zip(ors, rows, strict=True)]
    ax.errorbar(ors, ys, xerr=[low, high], fmt="o", color="#1f5fa8", ecolor="#333333", capsize=3)
    ax.axvline(1.0, color="#a33", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(ys, [r.arm for r in rows])
    ax.set_xlabel(f"odds ratio against {analysis.control} (95% interval, log scale)")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)


# --- HTML --------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,sans-serif;color:#1a1a1a;background:#fff;max-width:60rem;
margin:2rem auto;padding:0 1rem;line-height:1.5}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #999;padding:.3rem .6rem;
text-align:right}th:first-child,td:first-child{text-align:left}
.note{background:#f2f2f2;border-left:4px solid #555;padding:.5rem 1rem}
img{max-width:100%;height:auto}.wide{overflow-x:auto;max-width:100%}
h2 small{font-weight:normal;color:#444}
"""


def _pct(x: float) -> str:
    return f"{x:.1%}"


def _num(x: float | None, fmt: str = ".2f") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    return format(x, fmt)


def _row(r: ArmResult, events: bool) -> str:
    odds = ""
    if not events:  # no arm had the outcome: an odds ratio or test would mean nothing
        cells = [r.arm, str(r.shown), str(r.outcome), f"{_pct(r.rate)}", "", "", "", "no events"]
        return "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>"
    if r.odds_ratio is not None:
        star = " *" if r.haldane_corrected else ""
        odds = f"{_num(r.odds_ratio)} ({_num(r.or_ci_low)}-{_num(r.or_ci_high)}){star}"
    cells = [
        r.arm, str(r.shown), str(r.outcome),
        f"{_pct(r.rate)} ({_pct(r.rate_ci_low)}-{_pct(r.rate_ci_high)})",
        odds, _num(r.p_value, ".3g"), _num(r.z), r.verdict,
    ]  # fmt: skip
    return "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>"


def _section(oa: OutcomeAnalysis, with_plots: bool) -> str:
    kind = "primary outcome" if oa.primary else "secondary outcome, exploratory"
    parts = [f"<h2>{escape(_label(oa.outcome))} <small>({escape(oa.outcome)}, {kind})</small></h2>"]
    a = oa.analysis
    if a is None:
        parts.append(
            '<p class="note">Not enough data: the control and at least one other arm must '
            "have been shown.</p>"
        )
        return "\n".join(parts)
    events = any(r.outcome > 0 for r in a.arms)
    head = ["arm", "shown", oa.outcome, "rate (95% CI)", "odds ratio (95% CI)",
            "Fisher p", "z", "verdict"]  # fmt: skip
    parts.append('<div class="wide"><table><thead><tr>')
    parts.append("".join(f'<th scope="col">{escape(h)}</th>' for h in head))
    parts.append("</tr></thead><tbody>")
    parts += [_row(r, events) for r in a.arms]
    parts.append("</tbody></table></div>")
    if not events:
        parts.append(
            '<p class="note">No arm has had this outcome yet, so there is nothing to compare: '
            "no odds ratio or test is shown.</p>"
        )
        return "\n".join(parts)
    guard = [f"Peeking guard: {a.note}."]
    if a.information_fraction is not None:
        guard.append(f"Information fraction {a.information_fraction:.3f}.")
    if a.boundary_z is not None:
        guard.append(f"|z| needed now: {a.boundary_z:.3f}.")
    parts.append(f'<p class="note">{escape(" ".join(guard))}</p>')
    if any(r.haldane_corrected for r in a.arms):
        parts.append("<p>* a zero cell: 0.5 added to every cell (Haldane-Anscombe).</p>")
    if with_plots:
        alt = f"{_label(oa.outcome)}: rate per arm with 95% intervals"
        parts.append(f'<img src="{_rates_plot(a, oa.outcome)}" alt="{escape(alt)}">')
        odds = _odds_plot(a)
        if odds is not None:
            alt = f"{_label(oa.outcome)}: odds ratios against {a.control}, 95% intervals"
            parts.append(f'<img src="{odds}" alt="{escape(alt)}">')
    return "\n".join(parts)


def render_html(
    report: ExperimentReport, *, plots: bool = True, back: tuple[str, str] | None = None
) -> str:
    """One self-contained page; ``plots=False`` leaves the PNGs out (faster, smaller);
    ``back`` is a link (address, words) to where the page was opened from."""
    title = f"Deter experiment {report.experiment}"
    planned = (
        f"{report.planned_per_arm} interventions per arm (pre-registered)"
        if report.planned_per_arm
        else "none: the analysis is exploratory"
    )
    total = sum(report.counts[a]["shown"] for a in report.arms)
    head = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        *([f'<p><a href="{escape(back[0])}">{escape(back[1])}</a></p>'] if back else []),
        f"<h1>{escape(title)}</h1>",
        "<ul>",
        f"<li>Control arm: {escape(report.control)}</li>",
        f"<li>Primary outcome: {escape(_label(report.primary))} ({escape(report.primary)})</li>",
        f"<li>Planned sample: {escape(planned)}</li>",
        f"<li>Interventions counted: {total}</li>",
        f"<li>Generated: {report.generated_at.strftime('%Y-%m-%d %H:%M UTC')}</li>",
        "</ul>",
        "<p>Counts are interventions shown and, for each, whether the outcome followed "
        "(each outcome at most once per intervention). Rates use Wilson 95% intervals; odds "
        "ratios against the control use Woolf's interval; p-values are Fisher's exact test, "
        "two-sided. Only the primary outcome is tested against the plan.</p>",
    ]
    body = [_section(oa, plots and oa.primary) for oa in report.outcomes]
    return "\n".join([*head, *body, "</body></html>"]) + "\n"
