"""The queue of thousands on SQLite and PostgreSQL: filters, search, sorting, adjacent items,
claiming the next item of a filter, and bulk false positive / release, audited per item."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from queue_rows import BANKS, add_items, md5_of
from safespace.banks import BankService
from safespace.errors import AccessDenied, InvalidInput
from safespace.reports._queue import (
    FALSE_POSITIVE_BANK,
    QueueFilter,
    ReviewPolicy,
    ReviewQueue,
    adjacent_items,
    bulk_action,
    claim_next_filtered,
    count_filtered,
    filter_choices,
    item_stamp,
    list_filtered,
    parse_selection,
    view_counts,
)
from safespace.store import Database
from safespace.store._models import utcnow
from safespace.store._models_reports import AuditRecord

COUNT = 400


@pytest.fixture
def queue(database: Database) -> ReviewQueue:
    now = utcnow()
    q = ReviewQueue(database, clock=lambda: now)
    add_items(database, COUNT, now=now)
    return q


def _all(queue: ReviewQueue, flt: QueueFilter) -> list[int]:
    return [i.id for i in list_filtered(queue, flt, limit=10_000)]


def test_each_filter_narrows_the_queue_and_its_total(queue: ReviewQueue) -> None:
    everything = list_filtered(queue, QueueFilter(), limit=10_000)
    assert len(everything) == count_filtered(queue, QueueFilter()) == COUNT
    cases = {
        QueueFilter(source="retro"): lambda i: i.source == "retro",
        QueueFilter(source="user-report"): lambda i: i.source == "user-report",
        QueueFilter(bank=BANKS[1]): lambda i: i.bank == BANKS[1],
        QueueFilter(category="A"): lambda i: i.category == "A",
        QueueFilter(bank=BANKS[0], category="A"): lambda i: (
            i.bank == BANKS[0] and i.category == "A"
        ),
        QueueFilter(older=10): lambda i: i.created_at <= queue.clock() - timedelta(hours=10),
    }
    for flt, wanted in cases.items():
        expected = {i.id for i in everything if wanted(i)}
        assert expected, flt
        assert set(_all(queue, flt)) == expected, flt
        assert count_filtered(queue, flt) == len(expected), flt


def test_status_and_claim_filters(queue: ReviewQueue) -> None:
    ids = _all(queue, QueueFilter())
    queue.claim(ids[0], "ann", "reviewer")
    queue.claim(ids[1], "bob", "lead")
    queue.decide(ids[1], "bob", "lead", "escalate", "needs a lead's look")
    assert _all(queue, QueueFilter(claimed="ann")) == [ids[0]]
    assert _all(queue, QueueFilter(status="escalated")) == [ids[1]]
    assert count_filtered(queue, QueueFilter(claimed="nobody")) == COUNT - 1
    assert count_filtered(queue, QueueFilter(status="open")) == COUNT - 1
    assert filter_choices(queue)["claimed"] == ["ann"]
    assert view_counts(queue) == {"escalations": 1, "retro": COUNT // 10}
    queue.clock = lambda: utcnow() + timedelta(days=1)  # the claim ran out
    assert _all(queue, QueueFilter(claimed="ann")) == []


def test_search_is_exact_on_content_account_and_hash(queue: ReviewQueue) -> None:
    by_content = _all(queue, QueueFilter(q="content-17"))
    assert len(by_content) == 1
    assert queue.get(by_content[0]).content_id == "content-17"
    assert count_filtered(queue, QueueFilter(q="content-1")) == 1  # exact, not a prefix
    assert count_filtered(queue, QueueFilter(q="account-3")) == COUNT // 50
    assert _all(queue, QueueFilter(q=md5_of(17))) == by_content
    assert _all(queue, QueueFilter(q=md5_of(17)[:20])) == []
    assert _all(queue, QueueFilter(q="%")) == []  # no wildcard
    assert _all(queue, QueueFilter(q="_")) == []


def test_sorting(queue: ReviewQueue) -> None:
    items = list_filtered(queue, QueueFilter(), limit=10_000)
    keys = [(i.priority, i.created_at, i.id) for i in items]
    assert keys == sorted(keys)
    oldest = list_filtered(queue, QueueFilter(sort="oldest"), limit=10_000)
    assert [i.created_at for i in oldest] == sorted(i.created_at for i in items)
    newest = list_filtered(queue, QueueFilter(sort="newest"), limit=10_000)
    assert [i.id for i in newest] == [i.id for i in oldest][::-1]
    by_bank = list_filtered(queue, QueueFilter(sort="bank"), limit=10_000)
    names = [i.bank or "" for i in by_bank]
    assert names == sorted(names)


def test_query_parameters_parse_round_trip_and_refuse_bad_values() -> None:
    flt = QueueFilter.from_query(
        {"source": "retro", "bank": "alpha-list", "older": "5", "q": " x ", "sort": "bank"}
    )
    assert flt == QueueFilter(source="retro", bank="alpha-list", older=5, q="x", sort="bank")
    assert QueueFilter.from_query_string(flt.query()) == flt
    assert QueueFilter.from_query({"view": "escalations"}) == QueueFilter(status="escalated")
    assert QueueFilter.from_query({"view": "retro"}) == QueueFilter(source="retro")
    assert QueueFilter.from_query({"claimed": "anyone", "page": "3"}) == QueueFilter()
    assert QueueFilter().query() == ""
    assert not QueueFilter().active
    bad = [
        {"source": "nowhere"},
        {"status": "confirmed"},
        {"sort": "random"},
        {"older": "-1"},
        {"older": "1e9"},
        {"older": "99999999"},
        {"view": "mine"},
        {"claimed": "a b"},
        {"q": "x" * 300},
        {"bank": "tab\there"},
    ]
    for params in bad:
        with pytest.raises(InvalidInput):
            QueueFilter.from_query(params)
    assert QueueFilter.from_query_string("sort=random") == QueueFilter()  # a form's: ignored


def test_adjacent_items_and_claiming_the_next_of_a_filter(queue: ReviewQueue) -> None:
    retro = QueueFilter(source="retro")
    ids = _all(queue, retro)
    assert adjacent_items(queue, retro, ids[0]) == (None, ids[1])
    assert adjacent_items(queue, retro, ids[5]) == (ids[4], ids[6])
    assert adjacent_items(queue, retro, ids[-1]) == (ids[-2], None)
    first = claim_next_filtered(queue, retro, "ann", "reviewer")
    assert first is not None
    assert first.id == ids[0]
    assert first.source == "retro"
    second = claim_next_filtered(queue, retro, "bob", "reviewer")
    assert second is not None
    assert second.id == ids[1]
    assert claim_next_filtered(queue, QueueFilter(q="nothing-like-this"), "ann", "reviewer") is None


def _audits(database: Database, action: str) -> list[str]:
    with database.session() as s:
        query = select(AuditRecord.subject).where(AuditRecord.action == action)
        return list(s.scalars(query.order_by(AuditRecord.seq)))


def test_bulk_false_positive_is_for_leads_audited_per_item_and_skips_changed_rows(
    queue: ReviewQueue, database: Database
) -> None:
    items = list_filtered(queue, QueueFilter(source="match"), limit=5)
    picked = {i.id: item_stamp(i) for i in items}
    with pytest.raises(AccessDenied):
        bulk_action(queue, "false-positive", picked, "ann", "reviewer", "not the listed image")
    with pytest.raises(InvalidInput):
        bulk_action(queue, "false-positive", picked, "lea", "lead", "  ")
    # Meanwhile: one is claimed by someone else, one is decided by a colleague.
    queue.claim(items[0].id, "ann", "reviewer")
    queue.claim(items[1].id, "bob", "lead")
    queue.decide(items[1].id, "bob", "lead", "confirm", "it is the listed image", "A")
    result = bulk_action(queue, "false-positive", picked, "lea", "lead", "not the listed image")
    assert result.done == tuple(sorted(i.id for i in items[2:]))
    assert sorted(i for i, _ in result.skipped) == sorted([items[0].id, items[1].id])
    assert all("changed" in why for _, why in result.skipped)
    for item_id in result.done:
        item = queue.get(item_id)
        assert item.status == "false-positive"
        assert item.decided_by == "lea"
        assert queue.decisions(item_id)[-1].reason == "not the listed image"
    assert _audits(database, "case.decision")[-3:] == [f"review:{i}" for i in result.done]
    allowed = {e.value for e in BankService(database).list_entries(FALSE_POSITIVE_BANK)}
    assert {queue.get(i).hashes["md5"] for i in result.done} <= allowed
    # A stale stamp is skipped even when the row would otherwise qualify.
    again = bulk_action(queue, "false-positive", {items[0].id: "0" * 12}, "lea", "lead", "why")
    assert again.done == ()
    assert again.skipped[0][0] == items[0].id


def test_bulk_false_positive_with_a_second_look_is_not_final(database: Database) -> None:
    queue = ReviewQueue(database, ReviewPolicy(second_look=True))
    add_items(database, 3)
    items = list_filtered(queue, QueueFilter(), limit=3)
    result = bulk_action(
        queue, "false-positive", {i.id: item_stamp(i) for i in items}, "lea", "lead", "benign"
    )
    assert len(result.done) == 3
    assert {queue.get(i).status for i in result.done} == {"second-look"}
    fresh = {i.id: item_stamp(i) for i in list_filtered(queue, QueueFilter(), limit=3)}
    again = bulk_action(queue, "false-positive", fresh, "lea", "lead", "benign")
    assert again.done == ()
    assert all("someone else" in why for _, why in again.skipped)
    final = bulk_action(queue, "false-positive", fresh, "max", "admin", "benign too")
    assert {queue.get(i).status for i in final.done} == {"false-positive"}


def test_bulk_release_unclaims_your_items_or_anyones_for_a_lead(
    queue: ReviewQueue, database: Database
) -> None:
    ids = sorted(_all(queue, QueueFilter())[:4])
    queue.claim(ids[0], "ann", "reviewer")
    queue.claim(ids[1], "ann", "reviewer")
    queue.claim(ids[2], "bob", "reviewer")
    stamps = {i: item_stamp(queue.get(i)) for i in ids}
    mine = bulk_action(queue, "release", stamps, "ann", "reviewer", "end of my shift")
    assert mine.done == (ids[0], ids[1])
    assert dict(mine.skipped) == {ids[2]: "claimed by bob: only a lead releases it",
                                  ids[3]: "not claimed"}  # fmt: skip
    assert queue.get(ids[0]).claimed_by is None
    assert _audits(database, "case.release") == [f"review:{ids[0]}", f"review:{ids[1]}"]
    lead = bulk_action(
        queue, "release", {ids[2]: item_stamp(queue.get(ids[2]))}, "lea", "lead", "bob left"
    )
    assert lead.done == (ids[2],)
    assert queue.get(ids[2]).claimed(queue.clock()) is None


def test_selection_values_are_checked() -> None:
    assert parse_selection(["12:0123456789ab", "12:0123456789ab"]) == {12: "0123456789ab"}
    for bad in ([], ["x:0123456789ab"], ["1:short"], ["1:0123456789aZ"], ["-1:0123456789ab"]):
        with pytest.raises(InvalidInput):
            parse_selection(bad)
    with pytest.raises(InvalidInput):
        parse_selection([f"{n}:0123456789ab" for n in range(1, 600)])
    with pytest.raises(InvalidInput):
        bulk_action(ReviewQueue.__new__(ReviewQueue), "delete", {1: "x"}, "a", "admin", "why")
