"""An item's history, neighbours, matched-entry provenance and notes; the overview figures
and their cache (SQLite and PostgreSQL; every time comes from a clock the test moves)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from safespace.access import record_matches
from safespace.banks import BankService
from safespace.banks._match_results import Match
from safespace.banks.formats._base import HashRecord
from safespace.errors import InvalidInput, NotFound
from safespace.reports import _audit as audit
from safespace.reports._charts import OverviewCharts, compute_figures
from safespace.reports._item_context import (
    MAX_NOTE,
    add_note,
    entry_provenance,
    item_history,
    item_neighbours,
    list_notes,
)
from safespace.reports._queue import ReviewQueue, UserReport
from safespace.store import Database, ImportJob
from safespace.store._models_reports import AuditRecord, WebhookAction, WebhookAttempt

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
MD5_B = "0cc175b9c0f1b6a831c399e269772661"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _entry(db: Database, bank: str, value: str, **record: object) -> int:
    banks = BankService(db)
    if bank not in {b.name for b in banks.list_banks()}:
        banks.create_bank(bank)
    banks.add_entries(bank, [HashRecord("md5", value, **record)])  # type: ignore[arg-type]
    return next(e.id for e in banks.list_entries(bank) if e.value == value)


def _match(db: Database, content_id: str, entry_id: int, bank: str, value: str = MD5) -> None:
    record_matches(db, content_id, [Match(bank, "normal", entry_id, "md5", value, 0)], None)


def test_history_is_one_time_ordered_list_of_what_happened(database: Database) -> None:
    clock = Clock()
    queue = ReviewQueue(database, clock=clock)
    item, _ = queue.report(UserReport("post-1", "looks wrong", account_id="acct-1"))
    clock.advance(minutes=1)
    queue.claim(item.id, "ann", "reviewer")
    clock.advance(minutes=1)
    queue.claim(item.id, "ann", "reviewer")  # the holder's renewal is not a new claim
    add_note(database, item.id, "ann", "Asked the platform for the thread.", clock=clock)
    clock.advance(minutes=1)
    with database.transaction() as s:  # a webhook action with one failed, one good delivery
        audit.append(s, "user:ann", "case.reveal", f"review:{item.id}", {"over_cap": False},
                     at=clock())  # fmt: skip
        from safespace.store._models_reports import WebhookEndpoint

        endpoint = WebhookEndpoint(name="review", url="https://example.invalid/hook")
        s.add(endpoint)
        s.flush()
        action = WebhookAction(
            endpoint_id=endpoint.id, kind="take_down_content", case_id=f"review-{item.id}",
            payload="{}", next_attempt_at=clock(), created_at=clock(),
        )  # fmt: skip
        s.add(action)
        s.flush()
        for seconds, code, error in ((5, None, "connection refused"), (9, 204, None)):
            at = clock() + timedelta(seconds=seconds)
            s.add(WebhookAttempt(action_id=action.id, at=at, status_code=code, error=error,
                                 duration_ms=3))  # fmt: skip
    clock.advance(minutes=1)
    queue.decide(item.id, "ann", "reviewer", "false-positive", "benign holiday photo")
    events = item_history(database, item.id)
    kinds = [e.kind for e in events]
    assert kinds == [
        "queued", "report", "claim", "note", "reveal", "action", "webhook", "webhook", "decision",
    ]  # fmt: skip
    assert [e.at for e in events] == sorted(e.at for e in events)
    note = events[kinds.index("note")]
    assert (note.actor, note.summary) == ("ann", "Asked the platform for the thread.")
    assert "connection refused" in events[6].summary
    assert "failed" in events[6].summary
    assert "HTTP 204" in events[7].summary
    assert "delivered" in events[7].summary
    decision = events[-1]
    assert decision.actor == "ann"
    assert "false-positive" in decision.summary
    assert "benign holiday photo" in decision.summary
    with pytest.raises(NotFound):
        item_history(database, 99999)


def test_notes_are_bounded_audited_and_kept_in_order(database: Database) -> None:
    clock = Clock()
    queue = ReviewQueue(database, clock=clock)
    item, _ = queue.report(UserReport("post-2", "reason"))
    first = add_note(database, item.id, "bob", "  first note  ", clock=clock)
    clock.advance(seconds=30)
    add_note(database, item.id, "cat", "second\nnote", clock=clock)
    assert first.text == "first note"
    assert [(n.author, n.text) for n in list_notes(database, item.id)] == [
        ("bob", "first note"),
        ("cat", "second\nnote"),
    ]
    for bad in ("", "   ", "x" * (MAX_NOTE + 1), "bell\x07"):
        with pytest.raises(InvalidInput):
            add_note(database, item.id, "bob", bad, clock=clock)
    assert len(list_notes(database, item.id)) == 2
    add_note(database, item.id, "bob", "y" * MAX_NOTE, clock=clock)  # the bound itself is fine
    with pytest.raises(NotFound):
        add_note(database, 99999, "bob", "no such item", clock=clock)
    with database.session() as s:
        rows = s.scalars(select(AuditRecord).where(AuditRecord.action == "case.note")).all()
        assert [(r.actor, r.subject) for r in rows[:2]] == [
            ("user:bob", f"review:{item.id}"),
            ("user:cat", f"review:{item.id}"),
        ]
        assert audit.verify(s).ok


def test_neighbours_by_hash_account_and_case_are_capped_with_counts(database: Database) -> None:
    queue = ReviewQueue(database)
    entry = _entry(database, "common", MD5)
    for i in range(4):
        _match(database, f"post-m{i}", entry, "common")
    queue.sync()
    matched = [i for i in queue.list_items() if i.content_id and i.content_id.startswith("post-m")]
    assert len(matched) == 4
    reported, _ = queue.report(UserReport("post-r", "same file", hashes={"md5": MD5}))
    other, _ = queue.report(UserReport("post-x", "other file", hashes={"md5": MD5_B}))
    acct = [queue.report(UserReport(f"post-a{i}", "r", account_id="acct-7"))[0] for i in range(3)]

    near = item_neighbours(database, matched[0].id, limit=2)
    assert near.same_hash.total == 4  # three other matches and the report with the same hash
    assert len(near.same_hash.items) == 2
    assert reported.id in {n.id for n in item_neighbours(database, matched[0].id).same_hash.items}
    by_report = item_neighbours(database, reported.id)
    assert {n.id for n in by_report.same_hash.items} == {i.id for i in matched}
    assert item_neighbours(database, other.id).same_hash.total == 0
    by_account = item_neighbours(database, acct[0].id)
    assert {n.id for n in by_account.same_account.items} == {acct[1].id, acct[2].id}
    assert by_account.same_case.total == 0
    assert not item_neighbours(database, other.id).any


def test_provenance_names_the_source_the_import_job_and_the_quality(database: Database) -> None:
    added = datetime(2026, 10, 1, tzinfo=UTC)
    entry = _entry(
        database, "vendor", MD5, source="vendor-list-2026", category="B", note="from the vendor",
        added_at=added, extra={"quality": "87", "list_id": "v-123"},
    )  # fmt: skip
    prov = entry_provenance(database, entry)
    assert prov is not None
    assert (prov.bank, prov.source, prov.category, prov.note) == (
        "vendor", "vendor-list-2026", "B", "from the vendor",
    )  # fmt: skip
    assert prov.added_at == added
    assert prov.quality == "87"
    assert ("list_id", "v-123") in prov.extra
    assert prov.import_job is None
    assert prov.upstream == ()
    with database.transaction() as s:  # an import job that ran while the entry was written
        s.add(ImportJob(bank="vendor", status="succeeded", filename="vendor.csv",
                        started_at=prov.created_at - timedelta(seconds=1),
                        finished_at=prov.created_at + timedelta(seconds=1)))  # fmt: skip
    again = entry_provenance(database, entry)
    assert again is not None
    assert again.import_job is not None
    assert again.import_file == "vendor.csv"
    assert entry_provenance(database, None) is None
    assert entry_provenance(database, 99999) is None


def test_overview_figures_count_per_day_and_the_cache_follows_the_clock(
    database: Database,
) -> None:
    clock = Clock(datetime.now(UTC))  # match events are stamped with the real time
    queue = ReviewQueue(database, clock=clock)
    good = _entry(database, "good-list", MD5)
    bad = _entry(database, "bad-list", MD5_B)
    for i in range(3):
        _match(database, f"g{i}", good, "good-list")
    for i in range(2):
        _match(database, f"b{i}", bad, "bad-list", MD5_B)
    queue.sync()
    items = {i.content_id: i for i in queue.list_items()}
    for cid, kind in (("g0", "confirm"), ("b0", "false-positive"), ("b1", "false-positive")):
        queue.claim(items[cid].id, "ann", "reviewer")
        queue.decide(items[cid].id, "ann", "reviewer", kind, "checked it", "A")
    clock.advance(minutes=5)
    figures = compute_figures(database, clock())
    assert len(figures.days) == 30
    assert figures.days[-1] == clock().strftime("%Y-%m-%d")
    today = figures.days.index(datetime.now(UTC).strftime("%Y-%m-%d"))
    by_bank = dict(figures.matches_by_bank)
    assert (by_bank["good-list"][today], by_bank["bad-list"][today]) == (3, 2)
    assert sum(by_bank["good-list"]) == 3
    assert sum(figures.items_in) == 5
    assert sum(figures.items_decided) == 3
    assert figures.waiting == 2
    assert figures.oldest_waiting_id in {items["g1"].id, items["g2"].id}
    hours = figures.oldest_waiting_hours()
    assert hours is not None
    assert hours >= 4 / 60  # queued with the event (a moment after the clock started)
    rates = {r.bank: (r.decided, r.false_positives) for r in figures.bank_rates}
    assert rates == {"good-list": (1, 0), "bad-list": (2, 2)}
    assert figures.bank_rates[0].bank == "bad-list"
    assert figures.bank_rates[0].rate == 1.0
    assert [(e.bank, e.entry_id, e.false_positives) for e in figures.worst_entries] == [
        ("bad-list", bad, 2)
    ]
    later = compute_figures(database, clock() + timedelta(days=40))
    assert sum(later.items_in) == 0
    assert later.bank_rates == ()

    charts = OverviewCharts(database, clock=clock, ttl=timedelta(minutes=1))
    first = charts.figures()
    assert charts.figures() is first
    assert charts.computed == 1
    _match(database, "g9", good, "good-list")
    clock.advance(seconds=59)
    assert charts.figures() is first  # still within the minute: the cached figures
    clock.advance(seconds=2)
    assert charts.figures() is not first
    assert charts.computed == 2
    charts.invalidate()
    charts.figures()
    assert charts.computed == 3
