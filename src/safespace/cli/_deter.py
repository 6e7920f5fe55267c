"""``safespace deter ...``: warnings and help at search and upload; trials analysed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from safespace.cli._common import deter_events, emit, err, parse_looks, settings_of
from safespace.errors import InvalidInput, NotFound

__all__ = ["deter_app"]

deter_app = typer.Typer(
    help="Warnings and help at search and upload: check texts, validate data, analyse trials.",
    no_args_is_help=True,
)

_DeterDir = Annotated[
    Path | None,
    typer.Option("--config-dir", help="The operator's Deter folder (default: packaged data)."),
]


@deter_app.command("check")
def deter_check(
    text: Annotated[str, typer.Argument(help="The text typed: a search, message or URL.")],
    context: Annotated[str, typer.Option(help="search, message, url or upload.")] = "search",
    locale: Annotated[str, typer.Option(help="The person's language, e.g. en or pt-BR.")] = "en",
    country: Annotated[
        str | None, typer.Option(help="Two-letter country code for help services.")
    ] = None,
    session: Annotated[str, typer.Option(help="Session pseudonym (picks the arm).")] = "cli",
    upload_matched: Annotated[
        bool, typer.Option("--upload-matched", help="The upload matched a hash bank.")
    ] = False,
    config_dir: _DeterDir = None,
) -> None:
    """Decide for one text as the service would: one JSON line (arms drawn with a random key)."""
    import secrets

    from safespace.deter import DecisionRequest, Deterrer, load_data

    deterrer = Deterrer(load_data(config_dir), secrets.token_bytes(32))
    request = DecisionRequest(
        context, text, session, locale, country, upload_matched=upload_matched
    )
    emit(deterrer.decide(request).to_dict())


@deter_app.command("validate")
def deter_validate(config_dir: _DeterDir = None) -> None:
    """Load and check every Deter data file: a JSON summary, warnings on stderr."""
    from safespace.deter import load_data

    data = load_data(config_dir)
    for warning in data.warnings:
        err.print(f"warning: {warning}", markup=False, highlight=False)
    emit(
        {
            "ok": True,
            "term_lists": [tl.id for tl in data.term_lists],
            "terms": data.detector.terms.size,
            "variants": sorted(data.messages.variants),
            "locales": data.catalogs.locales,
            "help_resources": len(data.help.resources),
            "chatbot_nodes": len(data.chatbot.nodes),
            "experiments": [e.id for e in data.experiments.experiments if e.enabled],
            "warnings": len(data.warnings),
        }
    )


@deter_app.command("analyze")
def deter_analyze(
    counts: Annotated[Path, typer.Argument(help="CSV with the header arm,shown,outcome.")],
    control: Annotated[str, typer.Option(help="The control arm's name.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per arm.")] = False,
    alpha: Annotated[float, typer.Option(help="Two-sided significance level.")] = 0.05,
    planned: Annotated[
        int | None, typer.Option(help="Pre-registered sample size per arm (power calculation).")
    ] = None,
    looks: Annotated[
        str | None,
        typer.Option(help="Information fractions of earlier interim looks, e.g. 0.25,0.5."),
    ] = None,
) -> None:
    """Rates, odds ratios against the control and Fisher p-values for each arm."""
    from safespace.deter._analysis import analyze, parse_counts_csv

    if not counts.is_file():
        raise InvalidInput(f"{counts}: no such file")
    try:
        text = counts.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{counts}: cannot read: {exc}") from None
    earlier = parse_looks(looks)
    result = analyze(
        parse_counts_csv(text, str(counts)),
        control,
        alpha=alpha,
        planned_per_arm=planned,
        earlier_looks=earlier,
    )
    if as_json:
        for row in result.arms:
            emit(row.to_dict())
        err.print(result.note, markup=False, highlight=False)
        return
    table = Table("arm", "shown", "outcome", "rate (95% CI)", "odds ratio (95% CI)", "p", "verdict")
    for r in result.arms:
        odds = (
            ""
            if r.odds_ratio is None
            else f"{r.odds_ratio:.2f} ({r.or_ci_low:.2f}-{r.or_ci_high:.2f})"
        )
        if r.haldane_corrected:
            odds += " *"
        table.add_row(
            r.arm,
            str(r.shown),
            str(r.outcome),
            f"{r.rate:.1%} ({r.rate_ci_low:.1%}-{r.rate_ci_high:.1%})",
            odds,
            "" if r.p_value is None else f"{r.p_value:.3g}",
            r.verdict,
        )
    Console(width=None if sys.stdout.isatty() else 140).print(table)
    if any(r.haldane_corrected for r in result.arms):
        typer.echo("* a zero cell: 0.5 added to every cell (Haldane-Anscombe)")
    typer.echo(result.note)


@deter_app.command("report")
def deter_report(
    ctx: typer.Context,
    experiment: Annotated[str, typer.Argument(help="The experiment's id in experiments.yaml.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the HTML and CSV files.")] = Path(
        "."
    ),
    outcome: Annotated[str, typer.Option(help="The primary outcome.")] = "clicked_help",
    planned: Annotated[
        int | None, typer.Option(help="People per arm (default: the experiment's plan).")
    ] = None,
    looks: Annotated[
        str | None,
        typer.Option(help="Information fractions of earlier interim looks, e.g. 0.25,0.5."),
    ] = None,
    config_dir: _DeterDir = None,
) -> None:
    """Analyse an experiment from stored events: EXPERIMENT.html (plots) and EXPERIMENT.csv."""
    from safespace.deter import load_data
    from safespace.deter._report import build_report, render_csv, render_html

    settings = settings_of(ctx)
    data = load_data(config_dir or settings.deter_dir)
    found = [e for e in data.experiments.experiments if e.id == experiment]
    if not found:
        raise NotFound(f"no experiment {experiment!r} in the Deter data")
    earlier = parse_looks(looks)
    events = deter_events(settings)
    try:
        report = build_report(
            events, found[0], outcome=outcome, planned_per_arm=planned, earlier_looks=earlier
        )
    finally:
        events.db.close()
    try:
        out.mkdir(parents=True, exist_ok=True)
        html_path, csv_path = out / f"{experiment}.html", out / f"{experiment}.csv"
        html_path.write_text(render_html(report), encoding="utf-8")
        csv_path.write_text(render_csv(report), encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"{out}: cannot write the report: {exc.strerror or exc}") from None
    shown = sum(report.counts[a]["shown"] for a in report.arms)
    emit({"experiment": experiment, "html": str(html_path), "csv": str(csv_path), "shown": shown})


@deter_app.command("purge")
def deter_purge(ctx: typer.Context) -> None:
    """Delete Deter events older than SAFESPACE_DETER_RETENTION_DAYS (the server does hourly)."""
    settings = settings_of(ctx)
    events = deter_events(settings)
    try:
        deleted = events.purge(settings.deter_retention_days)
    finally:
        events.db.close()
    emit({"deleted": deleted, "retention_days": settings.deter_retention_days})
