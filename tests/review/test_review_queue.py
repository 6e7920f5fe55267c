"""The queue's domain on SQLite and PostgreSQL: feeds, priority, claims, decisions, actions."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from safespace.access import record_matches
from safespace.banks import BankService
from safespace.banks._match_results import Match
from safespace.banks.formats._base import HashRecord
from safespace.errors import AccessDenied, Conflict, InvalidInput
from safespace.reports import _audit as audit
from safespace.reports import _sealing as sealing
from safespace.reports._exposure import ExposureCounter
from safespace.reports._queue import FALSE_POSITIVE_BANK, ReviewPolicy, ReviewQueue, UserReport
from safespace.store import Database
from safespace.store._models import utcnow
from safespace.store._models_reports import AuditRecord, WebhookAction

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
MD5_B = "0cc175b9c0f1b6a831c399e269772661"
SECRET = "whsec_" + "s" * 40


def _bank(db: Database, category: str, value: str) -> int:
    banks = BankService(db)
    name = f"list-{category.lower()}"
    banks.create_bank(name)
    banks.add_entries(name, [HashRecord("md5", value, category=category)])
    return banks.list_entries(name)[0].id


def _event(db: Database, content_id: str, entry_id: int, bank: str) -> None:
    record_matches(db, content_id, [Match(bank, "normal", entry_id, "md5", MD5, 0)], None)


def test_items_are_ordered_by_severity_then_age(database: Database) -> None:
    queue = ReviewQueue(database)
    c_entry = _bank(database, "C", MD5_B)
    a_entry = _bank(database, "A1", MD5)
    _event(database, "post-c", c_entry, "list-c")
    queue.report(UserReport("post-unmatched", "looks wrong"))
    _event(database, "post-a", a_entry, "list-a1")
    assert queue.sync() == 2
    assert queue.sync() == 0  # the cursor moved: nothing twice
    order = [i.content_id for i in queue.list_items()]
    assert order == ["post-a", "post-c", "post-unmatched"]
    assert [i.priority for i in queue.list_items()] == [0, 3, 4]


def test_a_second_report_of_the_same_content_joins_its_item(database: Database) -> None:
    queue = ReviewQueue(database)
    first, new = queue.report(UserReport("post-9", "first reason", account_id="u1"))
    again, new_again = queue.report(UserReport("post-9", "second reason"))
    assert new
    assert not new_again
    assert again.id == first.id
    assert again.reports == 2
    assert "second reason" in (again.reason or "")
    with pytest.raises(InvalidInput):
        queue.report(UserReport("post-10", "   "))


def test_media_is_kept_only_when_the_operator_turns_it_on(database: Database) -> None:
    off, on = ReviewQueue(database), ReviewQueue(database, ReviewPolicy(store_media=True))
    on.sealer = sealing.MediaSealer(bytes(range(32)))
    item, _ = off.report(
        UserReport("p1", "r", hashes={"md5": MD5}, media=b"x", media_type="image/png")
    )
    assert off.media(item.id) is None
    assert item.hashes == {"md5": MD5}
    item2, _ = on.report(UserReport("p2", "r", media=b"bytes", media_type="image/png"))
    assert on.media(item2.id) == ("image/png", b"bytes")


def test_only_one_of_two_concurrent_claims_wins(db_url: str) -> None:
    from safespace.store import open_database

    setup = open_database(db_url)
    item, _ = ReviewQueue(setup).report(UserReport("post-1", "reason"))
    dbs = [open_database(db_url), open_database(db_url)]  # two sessions, two connections
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def claim(name: str, db: Database) -> None:
        barrier.wait()
        try:
            ReviewQueue(db).claim(item.id, name, "reviewer")
            results[name] = "won"
        except Conflict:
            results[name] = "lost"

    threads = [threading.Thread(target=claim, args=(n, d)) for n, d in zip("ab", dbs, strict=False)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == ["lost", "won"]
    winner = next(n for n, r in results.items() if r == "won")
    assert ReviewQueue(setup).get(item.id).claimed_by == winner
    for db in [setup, *dbs]:
        db.close()


def test_claims_expire(database: Database) -> None:
    now = [utcnow()]
    queue = ReviewQueue(database, ReviewPolicy(claim_minutes=5), clock=lambda: now[0])
    item, _ = queue.report(UserReport("p", "reason"))
    queue.claim(item.id, "ann", "reviewer")
    with pytest.raises(Conflict, match="ann"):
        queue.claim(item.id, "bob", "reviewer")
    now[0] += timedelta(minutes=6)
    assert queue.claim(item.id, "bob", "reviewer").claimed_by == "bob"
    assert queue.claim_next("carl", "reviewer") is None


def test_decisions_need_a_claim_and_a_reason(database: Database) -> None:
    queue = ReviewQueue(database)
    item, _ = queue.report(UserReport("p", "reason"))
    with pytest.raises(Conflict, match="claim"):
        queue.decide(item.id, "ann", "reviewer", "confirm", "clear case", "A1")
    queue.claim(item.id, "ann", "reviewer")
    with pytest.raises(InvalidInput, match="reason"):
        queue.decide(item.id, "ann", "reviewer", "confirm", " ", "A1")
    with pytest.raises(InvalidInput, match="category"):
        queue.decide(item.id, "ann", "reviewer", "confirm", "clear case", "Z")
    done = queue.decide(item.id, "ann", "reviewer", "confirm", "clear case", "a1")
    assert (done.status, done.decision_category, done.decided_by) == ("confirmed", "A1", "ann")
    with database.session() as s:
        rec = s.scalars(select(AuditRecord).where(AuditRecord.action == "case.decision")).one()
        assert rec.actor == "user:ann"
        assert '"final":true' in rec.details
    with database.session() as s:
        assert audit.verify(s).ok


def test_second_look_by_a_different_lead(database: Database) -> None:
    queue = ReviewQueue(database, ReviewPolicy(second_look=True))
    item, _ = queue.report(UserReport("p", "reason"))
    queue.claim(item.id, "ann", "reviewer")
    first = queue.decide(item.id, "ann", "reviewer", "confirm", "looks like A", "A")
    assert first.status == "second-look"
    assert first.final_at is None
    with pytest.raises(AccessDenied):
        queue.claim(item.id, "bob", "reviewer")
    queue.claim(item.id, "lee", "lead")
    final = queue.decide(item.id, "lee", "lead", "confirm", "agreed", "A")
    assert final.status == "confirmed"
    assert final.decided_by == "lee"
    assert [d.final for d in queue.decisions(item.id)] == [False, True]


def test_escalation_goes_to_a_lead(database: Database) -> None:
    queue = ReviewQueue(database)
    item, _ = queue.report(UserReport("p", "reason"))
    queue.claim(item.id, "ann", "reviewer")
    assert queue.decide(item.id, "ann", "reviewer", "escalate", "not sure").status == "escalated"
    with pytest.raises(AccessDenied):
        queue.claim(item.id, "ann", "reviewer")
    queue.claim(item.id, "lee", "lead")
    assert queue.decide(item.id, "lee", "lead", "false-positive", "benign").status == (
        "false-positive"
    )


def test_a_false_positive_never_matches_again(database: Database) -> None:
    from safespace.banks import Matcher

    entry = _bank(database, "A", MD5)
    _event(database, "post-1", entry, "list-a")
    queue = ReviewQueue(database)
    queue.sync()
    item = queue.list_items()[0]
    queue.claim(item.id, "ann", "reviewer")
    queue.decide(item.id, "ann", "reviewer", "false-positive", "a known meme")
    allow = BankService(database).get_bank(FALSE_POSITIVE_BANK)
    assert allow.kind == "allow"
    assert allow.entry_counts == {"md5": 1}

    class Q:
        pdq, pdq_quality, md5, sha256 = None, None, MD5, None

    result = Matcher.from_database(database).match(Q())
    assert not result.matched
    assert result.suppressed


def test_confirmation_queues_signed_actions(database: Database) -> None:
    queue = ReviewQueue(
        database, ReviewPolicy(webhook_url="http://127.0.0.1:9/h", webhook_secret=SECRET)
    )
    item, _ = queue.report(UserReport("post-5", "reason", account_id="user-7"))
    queue.claim(item.id, "ann", "reviewer")
    queue.decide(item.id, "ann", "reviewer", "confirm", "clear", "B1")
    with database.session() as s:
        kinds = sorted(a.kind for a in s.scalars(select(WebhookAction)))
    assert kinds == ["preserve_evidence", "restrict_account", "take_down_content"]
    sent: list[tuple[str, bytes, str]] = []

    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        sent.append((url, body, headers["SafeSpace-Signature"]))
        return 200

    assert set(queue.webhooks.deliver_due(post).values()) == {"delivered"}
    from safespace.reports import verify_signature

    assert all(verify_signature(SECRET, body, sig) for _, body, sig in sent)
    assert len(queue.action_ids(item.id)) == 3


def test_referral_of_a_confirmed_item_is_valid(database: Database) -> None:
    from safespace.reports._referrals import Reporter, validate_cybertip

    queue = ReviewQueue(database)
    item, _ = queue.report(UserReport("post-5", "reason", hashes={"md5": MD5}))
    reporter = Reporter(email="safety@example.org", platform="Example")
    with pytest.raises(Conflict):
        queue.export_referral(item.id, "xml", "user:ann", reporter)
    queue.claim(item.id, "ann", "reviewer")
    queue.decide(item.id, "ann", "reviewer", "confirm", "clear", "A1")
    xml, media_type = queue.export_referral(item.id, "xml", "user:ann", reporter)
    validate_cybertip(xml, what="report")
    assert media_type == "application/xml"
    assert MD5.encode() in xml
    body, _ = queue.export_referral(item.id, "json", "user:ann", reporter)
    assert b'"classification": "A1"' in body


def test_reveals_are_counted_per_day_with_a_soft_cap(database: Database) -> None:
    now = [utcnow()]
    counter = ExposureCounter(database, cap=2, clock=lambda: now[0])
    assert counter.reveal("ann", 1).allowed
    assert counter.reveal("ann", 1).count == 2
    held = counter.reveal("ann", 1)
    assert not held.allowed
    assert held.needs_confirmation
    assert counter.count_today("ann") == 2
    extra = counter.reveal("ann", 1, confirmed=True)
    assert extra.allowed
    assert extra.over_cap
    assert extra.count == 3
    assert counter.count_today("bob") == 0
    now[0] += timedelta(days=1)
    assert counter.count_today("ann") == 0
    with database.session() as s:
        n = len(s.scalars(select(AuditRecord).where(AuditRecord.action == "case.reveal")).all())
    assert n == 3


def test_a_reupload_of_self_reported_content_carries_the_case(database: Database) -> None:
    from safespace.reports._selfreport import SelfReportService
    from safespace.reports._selfreport_input import NewSelfReport, ReportItem

    reports = SelfReportService(database)
    receipt = reports.create(NewSelfReport([ReportItem(MD5)], age_band="13-15"))
    entry = BankService(database).list_entries("self-reports")[0]
    record_matches(
        database, "post-again", [Match("self-reports", "normal", entry.id, "md5", MD5, 0)], None
    )
    queue = ReviewQueue(database)
    queue.sync()
    (item,) = [i for i in queue.list_items() if i.content_id == "post-again"]
    assert item.self_report_case_id is not None  # the match knows whose report it answers

    queue.claim(item.id, "ann", "reviewer")
    queue.decide(item.id, "ann", "reviewer", "confirm", "the reported image", "A1")
    assert reports.status(receipt.case_number, receipt.pin).status == "actioned"
