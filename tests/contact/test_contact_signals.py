"""Suspicious-adult signals: keyed-hashed storage, flag rules, retention, clearing a flag."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from safespace.contact import Account, ContactRequest, Relation
from safespace.contact._service import ContactService
from safespace.errors import InvalidInput, NotFound
from safespace.store import Database
from safespace.store._models_contact import ContactEventRow

SECRET = b"contact-test-secret-0123456789abcdef"
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
ADULT = Account("adult-7", "18-plus", True)


def child(n: int, band: str = "13-15") -> Account:
    return Account(f"child-{n}", band)


@pytest.fixture
def service(database: Database) -> ContactService:
    return ContactService(database, SECRET)


def dm(service: ContactService, actor: Account, target: Account) -> str:
    connected = Relation(connected=True)
    return service.check(ContactRequest(actor, target, "direct_message", connected)).decision


def test_ids_are_stored_keyed_hashed_and_nothing_else(service: ContactService) -> None:
    assert service.event("block", child(1), ADULT, at=NOW)[0]
    with service.signals.db.session() as s:
        rows = s.execute(select(ContactEventRow.subject, ContactEventRow.other)).all()
    assert len(rows) == 1
    subject, other = rows[0]
    assert subject == service.signals.key_for("adult-7")
    assert other == service.signals.key_for("child-1")
    assert "adult-7" not in (subject + other)
    assert len(subject) == 64
    other_service = ContactService(service.signals.db, b"another-secret-0123456789abcdef!")
    assert other_service.signals.key_for("adult-7") != subject


def test_events_not_between_an_adult_and_a_child_are_not_kept(service: ContactService) -> None:
    assert not service.event("block", Account("a", "18-plus"), Account("b", "18-plus"))[0]
    assert not service.event("block", child(1), child(2))[0]
    assert not service.event("request_sent", child(1), ADULT)[0]
    assert service.event("request_sent", ADULT, child(1))[0]
    assert service.event("request_ignored", Account("u", "unknown"), ADULT)[0]


def test_blocked_by_children_flags_the_adult_who_is_then_denied(service: ContactService) -> None:
    assert dm(service, ADULT, child(9)) == "allow"
    service.event("block", child(1), ADULT, at=NOW)
    assert dm(service, ADULT, child(9)) == "allow"  # one child is not enough (threshold 2)
    service.event("report", child(1), ADULT, at=NOW)
    assert dm(service, ADULT, child(9)) == "allow"  # the same child twice is still one
    service.event("report", child(2), ADULT, at=NOW)
    assert service.signals.is_flagged(service.signals.key_for("adult-7"))
    decision = service.check(ContactRequest(ADULT, child(9), "direct_message", Relation(True)))
    assert (decision.decision, decision.rule) == ("deny", "flagged-adult-to-child")
    suggest = service.check(ContactRequest(ADULT, child(9), "suggest", Relation(True)))
    assert suggest.decision == "deny"
    assert dm(service, ADULT, Account("grown-up", "18-plus")) == "allow"


def test_many_ignored_requests_to_children_flag_the_adult(service: ContactService) -> None:
    for n in range(9):
        service.event("request_sent", ADULT, child(n), at=NOW)
        service.event("request_ignored", child(n), ADULT, at=NOW)
    assert not service.signals.is_flagged(service.signals.key_for("adult-7"))
    service.event("request_ignored", child(10), ADULT, at=NOW)
    assert service.signals.is_flagged(service.signals.key_for("adult-7"))


def test_ignored_requests_do_not_flag_when_most_are_accepted(service: ContactService) -> None:
    for n in range(10):
        service.event("request_ignored", child(n), ADULT, at=NOW)
        service.event("request_accepted", child(100 + n), ADULT, at=NOW)
        service.event("request_accepted", child(200 + n), ADULT, at=NOW)
    assert not service.signals.is_flagged(service.signals.key_for("adult-7"))


def test_old_events_stop_counting_and_are_purged_after_retention(
    service: ContactService,
) -> None:
    old = NOW - dt.timedelta(days=31)
    key = service.signals.key_for("adult-7")
    service.event("block", child(1), ADULT, at=old)
    service.event("block", child(2), ADULT, at=old)
    assert service.signals.is_flagged(key)  # as of when the events came
    service.tick(monotonic=0.0, now=NOW)  # the first tick purges and recounts everyone
    assert not service.signals.is_flagged(key)  # the events left the 30-day window
    assert service.last_purged == 0  # but are kept for the 90-day retention
    service.tick(monotonic=1.0, now=NOW)  # later ticks recount only what changed
    assert not service.signals.is_flagged(key)
    service.tick(monotonic=PURGE_AFTER, now=NOW + dt.timedelta(days=90))
    assert service.last_purged == 2
    with service.signals.db.session() as s:
        assert s.execute(select(ContactEventRow.id)).first() is None


PURGE_AFTER = 3601.0


def test_ticks_share_flags_and_clearings_made_by_another_process(database: Database) -> None:
    one, two = ContactService(database, SECRET), ContactService(database, SECRET)
    two.tick(monotonic=0.0, now=NOW)  # the hourly full recount, done
    one.event("block", child(1), ADULT, at=NOW)
    one.event("block", child(2), ADULT, at=NOW)
    key = two.signals.key_for("adult-7")
    assert one.signals.is_flagged(key)
    assert not two.signals.is_flagged(key)
    two.tick(monotonic=1.0, now=NOW)  # recounts only the adults with new events
    assert two.signals.is_flagged(key)
    with database.transaction() as s:
        one.clear_flag(key, session=s, now=NOW)
    two.tick(monotonic=2.0, now=NOW + dt.timedelta(seconds=1))
    assert not two.signals.is_flagged(key)


def test_a_lead_sees_the_events_behind_a_flag_and_can_clear_it(service: ContactService) -> None:
    service.event("block", child(1), ADULT, at=NOW)
    service.event("report", child(2), ADULT, at=NOW)
    service.event("request_sent", ADULT, child(3), at=NOW)
    flags = service.flags(now=NOW)
    assert [f.subject for f in flags] == [service.signals.key_for("adult-7")]
    info = flags[0]
    assert info.reasons == ("blocked_or_reported_by_children",)
    assert info.blocked_or_reported_by == 2
    assert sorted(e.kind for e in info.events) == ["block", "report", "request_sent"]
    with service.signals.db.transaction() as s:
        service.clear_flag(info.subject, session=s, now=NOW)
    assert not service.signals.is_flagged(info.subject)
    service.tick(monotonic=0.0, now=NOW)
    assert service.flags(now=NOW) == []
    later = NOW + dt.timedelta(minutes=5)
    service.event("block", child(4), ADULT, at=later)
    service.event("block", child(5), ADULT, at=later)  # new events after clearing count again
    assert service.signals.is_flagged(info.subject)


def test_clearing_checks_its_input(service: ContactService) -> None:
    with service.signals.db.transaction() as s, pytest.raises(InvalidInput):
        service.clear_flag("adult-7", session=s)
    with service.signals.db.transaction() as s, pytest.raises(NotFound):
        service.clear_flag("0" * 64, session=s)
    with pytest.raises(InvalidInput, match="unknown event type"):
        service.event("wave", ADULT, child(1))


def test_threshold_comes_from_the_policy_file(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "version: 1\nextends: default\nsignals: {blocked_or_reported_by_children: 1}\n",
        encoding="utf-8",
    )
    service = ContactService(database, SECRET, policy_path=path)
    service.event("block", child(1), ADULT, at=NOW)
    assert service.signals.is_flagged(service.signals.key_for("adult-7"))
