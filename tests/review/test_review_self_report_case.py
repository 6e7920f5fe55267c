"""A self-report and its re-uploads are one case (issue 11): withdrawing it closes its open
items as withdrawn with their hashes gone; confirming one item confirms the case's other
items of the same image; the item page shows what the young person told us. Migration 0021
admits the withdrawn status."""

from __future__ import annotations

from typing import Any

import pytest
from review_helpers import csrf
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from safespace.access import record_matches
from safespace.banks import BankService
from safespace.banks._match_results import Match
from safespace.banks.formats._base import HashRecord
from safespace.reports._queue import ReviewQueue
from safespace.reports._selfreport import SelfReportReceipt, SelfReportService
from safespace.reports._selfreport_input import NewSelfReport, ReportItem
from safespace.store import Database, open_database, upgrade
from safespace.store._database import alembic_config
from safespace.store._models_reports import AuditRecord

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
PDQ = "f" * 64
URL = "https://example.org/where-i-saw-it"


def _case(db: Database) -> tuple[SelfReportService, SelfReportReceipt, int]:
    reports = SelfReportService(db)
    report = NewSelfReport([ReportItem(MD5)], age_band="13-15", seen_at_urls=[URL])
    receipt = reports.create(report)
    entry = BankService(db).list_entries("self-reports")[0]
    return reports, receipt, entry.id


def _reupload(db: Database, content_id: str, entry_id: int, distance: int = 0) -> None:
    match = Match("self-reports", "normal", entry_id, "md5", MD5, distance)
    record_matches(db, content_id, [match], None)


def _by_content(queue: ReviewQueue) -> dict[str | None, Any]:
    return {i.content_id: i for i in queue.list_items(open_only=False) + queue.list_items()}


def test_withdrawing_closes_the_cases_items_and_removes_their_hashes(database: Database) -> None:
    reports, receipt, entry_id = _case(database)
    _reupload(database, "post-again", entry_id)
    queue = ReviewQueue(database)
    queue.sync()
    assert len(queue.list_items()) == 2  # the self-report and its re-upload
    own = _by_content(queue)[None]
    queue.claim(own.id, "ann", "reviewer")

    reports.withdraw(receipt.case_number, receipt.pin)

    assert queue.list_items() == []  # nothing left open to review
    items = _by_content(queue)
    for item in items.values():
        assert item.status == "withdrawn"
        assert dict(item.hashes) == {}
        assert item.matched_value is None
        assert item.claimed_by is None
    with database.session() as s:
        records = s.scalars(select(AuditRecord).where(AuditRecord.action == "case.withdrawn"))
        subjects = sorted(r.subject for r in records)
    assert subjects == sorted(f"review:{i.id}" for i in items.values())


def test_a_reupload_that_matched_another_bank_stays_open_without_the_case(
    database: Database,
) -> None:
    reports, receipt, entry_id = _case(database)
    banks = BankService(database)
    banks.create_bank("list-a1")
    banks.add_entries("list-a1", [HashRecord("md5", MD5, category="A1")])
    other = banks.list_entries("list-a1")[0].id
    matches = [
        Match("self-reports", "normal", entry_id, "md5", MD5, 0),
        Match("list-a1", "normal", other, "md5", MD5, 0, {"category": "A1"}),
    ]
    record_matches(database, "post-listed", matches, None)
    queue = ReviewQueue(database)
    queue.sync()
    reports.withdraw(receipt.case_number, receipt.pin)
    (left,) = queue.list_items()
    assert left.content_id == "post-listed"
    assert left.self_report_case_id is None
    assert queue.case(left.id) is None


def test_confirming_a_reupload_confirms_the_self_report_in_one_decision(
    database: Database,
) -> None:
    reports, receipt, entry_id = _case(database)
    _reupload(database, "post-exact", entry_id)
    _reupload(database, "post-near", entry_id, distance=12)
    queue = ReviewQueue(database)
    queue.sync()
    items = _by_content(queue)
    exact = items["post-exact"]
    case = queue.case(exact.id)
    assert case is not None
    assert case.case_number == receipt.case_number
    assert case.age_band == "13-15"
    assert case.seen_at_urls == (URL,)
    assert sorted(i for i, _, _ in case.items) == sorted(i.id for i in items.values())

    queue.claim(exact.id, "ann", "reviewer")
    queue.decide(exact.id, "ann", "reviewer", "confirm", "the reported image", "A1")

    after = _by_content(queue)
    assert after[None].status == "confirmed"  # the self-report is not left open
    assert after[None].decided_by == "ann"
    assert "With item" in queue.decisions(after[None].id)[0].reason
    assert after["post-near"].status == "open"  # a near match gets its own look
    assert reports.status(receipt.case_number, receipt.pin).status == "actioned"


def test_the_item_page_shows_what_the_young_person_told_us(make_app: Any) -> None:
    app = make_app()
    queue = app.app.state.review.queue
    database = queue.db
    reports, receipt, entry_id = _case(database)
    _reupload(database, "post-again", entry_id)
    queue.sync()
    reupload = _by_content(queue)["post-again"]
    ann = app.signed_in("ann")
    page = ann.get(f"/console/items/{reupload.id}").text
    assert receipt.case_number in page
    assert "13-15" in page
    assert URL in page
    assert "the self-report" in page

    reports.withdraw(receipt.case_number, receipt.pin)
    page = ann.get(f"/console/items/{reupload.id}").text
    assert "withdrew it" in page
    assert MD5 not in page
    assert f"/console/items/{reupload.id}/claim" not in page
    assert csrf(ann)


NOW = "2026-01-01 00:00:00"


def _insert(s: Any, status: str, content_id: str) -> None:
    s.execute(
        text(
            "INSERT INTO review_items (source, status, priority, content_id, urls, reports, "
            "hashes, created_at, updated_at) VALUES ('match', :st, 1, :cid, '[]', 1, '{}', "
            ":t, :t)"
        ),
        {"st": status, "cid": content_id, "t": NOW},
    )


def test_migration_0021_admits_withdrawn_items_and_keeps_the_rest(db_url: str) -> None:
    from alembic import command

    db = open_database(db_url, migrate=False)
    try:
        upgrade(db, "0020")
        with db.transaction() as s:
            _insert(s, "confirmed", "kept-1")
        with pytest.raises(IntegrityError), db.transaction() as s:
            _insert(s, "withdrawn", "too-early")
        upgrade(db, "0021")
        with db.transaction() as s:
            _insert(s, "withdrawn", "closed-1")
        with pytest.raises(IntegrityError), db.transaction() as s:
            _insert(s, "forgotten", "nope")
        with db.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0020")
        with db.session() as s:
            left = s.execute(text("SELECT content_id FROM review_items")).scalars().all()
        assert left == ["kept-1"]
    finally:
        db.engine.dispose()
