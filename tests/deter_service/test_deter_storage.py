"""Deter events in the database: retention, per-arm counts, reports, reloads and the CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from deter_service_helpers import (
    EXPERIMENT,
    QUERY,
    SECRET,
    TERM,
    MakeSvc,
    Svc,
    problem,
    write_deter_dir,
)
from sqlalchemy import func, select

from safespace.api._routes.deter import PURGE_SECONDS, DeterRuntime
from safespace.deter import DeterLoader
from safespace.deter._analysis import ArmCounts, analyze
from safespace.deter._events import DeterEvents
from safespace.deter._report import build_report, render_csv, render_html
from safespace.runtime import TASKS, AppContext, TaskRunner
from safespace.store import Database, DeterEventRow, DeterOutcomeRow, open_database

NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)

# Planted counts: arm -> (shown, clicked_help, left)
PLANTED = {"neutral": (40, 4, 10), "harm": (30, 9, 12), "chatbot": (20, 6, 3)}


def _decisions(db: Database, loader: DeterLoader) -> None:
    """Record PLANTED interventions, with their outcomes, straight through the service API."""
    events = DeterEvents(db)
    for arm, (shown, helped, left) in PLANTED.items():
        for i in range(shown):
            d = loader.decide(_request(f"{arm}-{i}"))
            d = replace(d, arm=arm, event_id=str(uuid.uuid4()), session=f"{arm}-{i}")
            events.record(d, at=NOW - dt.timedelta(minutes=i))
            if i < helped:
                events.add_outcome(d.event_id, "clicked_help", at=NOW)
            if i < left:
                events.add_outcome(d.event_id, "left", via="widget", at=NOW)


def _request(session: str) -> object:
    from safespace.deter import DecisionRequest

    return DecisionRequest("search", QUERY, session=session)


@pytest.fixture
def loader(tmp_path: Path) -> DeterLoader:
    return DeterLoader(write_deter_dir(tmp_path / "deter"), SECRET.encode())


def _count(db: Database, model: type) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_purge_deletes_old_events_and_their_outcomes(
    database: Database, loader: DeterLoader
) -> None:
    events = DeterEvents(database)
    old = loader.decide(_request("a"))
    new = loader.decide(_request("b"))
    events.record(old, at=NOW - dt.timedelta(days=200))
    events.record(new, at=NOW - dt.timedelta(days=10))
    events.add_outcome(old.event_id, "left")
    events.add_outcome(new.event_id, "left")
    assert events.purge(180, now=NOW) == 1
    assert events.get(old.event_id) is None
    assert events.get(new.event_id) is not None
    assert _count(database, DeterEventRow) == 1
    assert _count(database, DeterOutcomeRow) == 1
    assert events.purge(180, now=NOW) == 0


def test_counts_match_what_was_recorded(database: Database, loader: DeterLoader) -> None:
    _decisions(database, loader)
    counts = DeterEvents(database).counts(EXPERIMENT)
    for arm, (shown, helped, left) in PLANTED.items():
        assert counts[arm]["shown"] == shown
        assert counts[arm]["clicked_help"] == helped
        assert counts[arm]["left"] == left
        assert counts[arm]["proceeded"] == 0
    rows = DeterEvents(database).arm_counts(EXPERIMENT, "clicked_help")
    assert sorted(rows, key=lambda r: r.arm) == sorted(
        (ArmCounts(a, s, h) for a, (s, h, _) in PLANTED.items()), key=lambda r: r.arm
    )


def test_report_from_stored_events(database: Database, loader: DeterLoader) -> None:
    _decisions(database, loader)
    experiment = loader.current.data.experiments.experiments[0]
    report = build_report(DeterEvents(database), experiment, outcome="clicked_help")
    table = list(csv.DictReader(io.StringIO(render_csv(report))))
    assert [r["arm"] for r in table] == ["neutral", "harm", "chatbot"]
    for r in table:
        shown, helped, left = PLANTED[r["arm"]]
        assert (int(r["shown"]), int(r["clicked_help"]), int(r["left"])) == (shown, helped, left)
        assert r["control"] == ("yes" if r["arm"] == "neutral" else "no")
    expected = analyze(
        [ArmCounts(a, s, h) for a, (s, h, _) in PLANTED.items()],
        "neutral",
        planned_per_arm=experiment.plan.per_arm() if experiment.plan else None,
    )
    primary = report.outcomes[0]
    assert primary.primary
    assert primary.analysis is not None
    assert primary.analysis.arms == expected.arms
    html = render_html(report)
    harm = next(r for r in expected.arms if r.arm == "harm")
    assert f"{harm.odds_ratio:.2f}" in html
    assert f"{harm.p_value:.3g}" in html
    assert "planned sample not reached" in html  # the peeking guard, with the plan's N
    assert html.count("data:image/png;base64,") == 2
    assert "<script" not in html
    assert "http://" not in html.replace("http://www.w3.org", "")


def test_report_with_no_data_says_so(database: Database, loader: DeterLoader) -> None:
    experiment = loader.current.data.experiments.experiments[0]
    report = build_report(DeterEvents(database), experiment)
    assert all(o.analysis is None for o in report.outcomes)
    assert "Not enough data" in render_html(report)
    assert render_csv(report).splitlines()[1] == "neutral,yes,0,0,0,0,0,0"


def test_report_endpoint(svc: Svc) -> None:
    loader = svc.runtime.loader()
    _decisions(svc.state.db, loader)
    url = f"/v1/deter/experiments/{EXPERIMENT}/report"
    html = svc.client.get(url, headers=svc.as_("admin"))
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert "Deter experiment trial" in html.text
    r = svc.client.get(url + "?format=csv&outcome=left", headers=svc.as_("admin"))
    assert r.headers["content-type"].startswith("text/csv")
    rows = {row["arm"]: row for row in csv.DictReader(io.StringIO(r.text))}
    assert int(rows["harm"]["left"]) == PLANTED["harm"][2]
    problem(svc.client.get(url, headers=svc.as_("match")), 403, "forbidden")
    bad = "/v1/deter/experiments/nope/report"
    problem(svc.client.get(bad, headers=svc.as_("admin")), 404, "not-found")
    problem(svc.client.get(url + "?format=pdf", headers=svc.as_("admin")), 400, "invalid-input")
    problem(svc.client.get(url + "?outcome=x", headers=svc.as_("admin")), 400, "invalid-input")
    problem(svc.client.get(url + "?planned=0", headers=svc.as_("admin")), 422, "invalid-request")


def test_server_reloads_changed_terms_and_keeps_the_old_on_a_bad_file(svc: Svc) -> None:
    folder = svc.runtime.settings.deter_dir
    assert folder is not None
    assert svc.check(text="qqplaceholderbeta here").json()["intervene"] is False
    terms = folder / "terms" / "ops.txt"
    terms.write_text(f"{TERM}\nqqplaceholderbeta\n", encoding="utf-8")
    svc.runtime.tick()
    assert svc.check(text="qqplaceholderbeta here").json()["rule_id"] == "ops:2"
    (folder / "terms" / "broken.yaml").write_text("version: 1\nterms: [[[\n", encoding="utf-8")
    svc.runtime.tick()  # logged, not raised: the old configuration stays live
    assert svc.check(text="qqplaceholderbeta here").json()["rule_id"] == "ops:2"


def test_server_purges_in_its_background_tick(svc: Svc) -> None:
    """The tick purges at most hourly, on the clock it is given (never on the wall clock)."""
    runtime = svc.runtime
    svc.client.app.state.tasks.stop()  # type: ignore[attr-defined]  # the test drives ticks
    loader = runtime.loader()
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=181)
    old = loader.decide(_request("x"))
    runtime.events.record(old, at=long_ago)
    runtime.tick(now=1e12)  # far beyond the next hourly purge
    assert runtime.events.get(old.event_id) is None
    assert runtime.last_purged == 1

    later = loader.decide(_request("y"))
    runtime.events.record(later, at=long_ago)
    runtime.tick(now=1e12 + PURGE_SECONDS - 1)  # within the hour: no purge yet
    assert runtime.events.get(later.event_id) is not None
    assert runtime.last_purged == 1
    runtime.tick(now=1e12 + PURGE_SECONDS)
    assert runtime.events.get(later.event_id) is None
    assert runtime.last_purged == 1


def test_the_background_task_runs_the_purge(svc: Svc) -> None:
    """The ``deter-data`` task's first run purges; driven by the test, never raced."""
    svc.client.app.state.tasks.stop()  # type: ignore[attr-defined]  # only the runner here
    old = svc.runtime.loader().decide(_request("x"))
    svc.runtime.events.record(old, at=dt.datetime.now(dt.UTC) - dt.timedelta(days=181))
    runtime = DeterRuntime(svc.runtime.settings, svc.runtime.events.db)
    context = AppContext(svc.state, None, None, runtime)  # type: ignore[arg-type]
    runner = TaskRunner([t for t in TASKS if t.name == "deter-data"], context)
    assert runner.run_due(now=1e9) == ["deter-data"]
    assert runtime.last_purged == 1
    assert runtime.events.get(old.event_id) is None


def test_cli_purge_and_report(
    db_url: str,
    tmp_path: Path,
    loader: DeterLoader,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from safespace.cli import main

    db = open_database(db_url)
    _decisions(db, loader)
    stale = loader.decide(_request("stale"))
    DeterEvents(db).record(stale, at=dt.datetime.now(dt.UTC) - dt.timedelta(days=40))
    db.close()
    monkeypatch.setenv("SAFESPACE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SAFESPACE_DATABASE_URL", db_url)
    monkeypatch.setenv("SAFESPACE_DETER_DIR", str(loader.directory))
    monkeypatch.setenv("SAFESPACE_DETER_RETENTION_DAYS", "30")

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["safespace", *args])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    code, out, _ = run("deter", "purge")
    assert code == 0
    assert json.loads(out) == {"deleted": 1, "retention_days": 30}
    code, out, _ = run("deter", "report", EXPERIMENT, "--out", str(tmp_path / "r"))
    assert code == 0, out
    info = json.loads(out)
    assert info["shown"] == sum(s for s, _, _ in PLANTED.values())
    text = (tmp_path / "r" / "trial.csv").read_text()
    assert (
        text.splitlines()[0]
        == "arm,control,shown,proceeded,left,clicked_help,engaged_chatbot,triggered_again"
    )
    assert "data:image/png" in (tmp_path / "r" / "trial.html").read_text()
    code, _, err = run("deter", "report", "nope")
    assert code == 3
    assert "no experiment" in err


def test_outcome_for_a_purged_event_is_not_found(make_svc: MakeSvc) -> None:
    svc = make_svc()
    d = svc.check(text=QUERY, session="p").json()
    svc.runtime.events.purge(1, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    url = f"/v1/deter/events/{d['event_id']}/outcomes"
    problem(svc.post(url, {"outcome": "left"}), 404, "not-found")
