"""The experiment report page (issue 11): outcomes named in words, interventions not
"people", no odds ratio for an outcome no arm has had, a way back to the console, plots that
fit a phone and are drawn once for the same figures."""

from __future__ import annotations

import datetime as dt

from safespace.deter import _report
from safespace.deter._analysis import ArmCounts, analyze
from safespace.deter._report import ExperimentReport, OutcomeAnalysis, render_html

ARMS = {"neutral": (40, 4), "harm": (30, 9)}


def _report_with(primary_events: bool) -> ExperimentReport:
    rows = [ArmCounts(a, s, h if primary_events else 0) for a, (s, h) in ARMS.items()]
    helped = analyze(rows, "neutral", planned_per_arm=100)
    nothing = analyze([ArmCounts(a, s, 0) for a, (s, _) in ARMS.items()], "neutral")
    counts = {a: {"shown": s} for a, (s, _) in ARMS.items()}
    return ExperimentReport(
        "trial", "neutral", tuple(ARMS), counts, "clicked_help", 100,
        (OutcomeAnalysis("clicked_help", True, helped),
         OutcomeAnalysis("triggered_again", False, nothing)),
        dt.datetime(2026, 12, 5, tzinfo=dt.UTC),
    )  # fmt: skip


def test_headings_words_and_no_odds_ratio_without_events() -> None:
    html = render_html(_report_with(True), back=("/console/experiments", "Back to the experiments"))
    assert '<a href="/console/experiments">Back to the experiments</a>' in html
    assert "<h2>Opened a help link <small>(clicked_help, primary outcome)" in html
    assert "Saw a message again later" in html
    assert "people" not in html
    assert "100 interventions per arm" in html
    section = html.split("Saw a message again later", 1)[1]
    assert "no events" in section
    assert "nothing to compare" in section
    assert "(0.50-" not in section  # no Haldane-corrected odds ratio for zero events
    assert "img{max-width:100%" in html
    assert '<div class="wide"><table>' in html


def test_plots_are_drawn_once_for_the_same_figures() -> None:
    _report._rates_plot.cache_clear()
    _report._odds_plot.cache_clear()
    first = render_html(_report_with(True))
    again = render_html(_report_with(True))  # built anew, the same figures
    assert first.split("<li>Generated")[1] == again.split("<li>Generated")[1]
    assert _report._rates_plot.cache_info().misses == 1
    assert _report._rates_plot.cache_info().hits == 1
