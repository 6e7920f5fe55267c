"""Reviewer wellbeing on SQLite and PostgreSQL: settings, the exposure summary, the break
reminder (an injected clock, no waiting) and category opt-outs in "Claim the next item"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from queue_rows import add_items
from safespace.errors import InvalidInput
from safespace.reports._exposure import ExposureCounter
from safespace.reports._queue import QueueFilter, ReviewQueue, claim_next_filtered, list_filtered
from safespace.reports._wellbeing import Wellbeing, review_stretches
from safespace.store import Database, User

START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)  # a fixed morning: no day boundary nearby


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def _users(db: Database, *names: str, role: str = "reviewer") -> None:
    with db.transaction() as s:
        for name in names:
            s.add(User(name=name, role=role, password_hash="not-a-real-hash"))


def _setup(db: Database) -> tuple[Clock, ReviewQueue, Wellbeing]:
    clock = Clock()
    _users(db, "ann", "bob")
    _users(db, "lee", role="lead")
    return clock, ReviewQueue(db, clock=clock), Wellbeing(db, clock=clock)


def test_defaults_and_checked_settings(database: Database) -> None:
    clock, _, service = _setup(database)
    prefs = service.prefs("ann")
    assert (prefs.blur, prefs.keep_grey, prefs.break_minutes, prefs.opt_out) == (
        "strong",
        True,
        50,
        (),
    )
    assert prefs.media_classes == "blur-strong keep-grey"
    add_items(database, 6, now=clock.now)  # categories A, B and C
    assert service.categories("ann") == ["A", "B", "C"]
    form = {"blur": "light", "keep_grey": False, "break_minutes": "30", "opt_out": ["C"]}
    saved = service.save("ann", **form)
    assert (saved.blur, saved.keep_grey, saved.break_minutes, saved.opt_out) == (
        "light",
        False,
        30,
        ("C",),
    )
    assert service.prefs("ann").media_classes == "blur-light"
    for bad in (
        {"blur": "none"},
        {"blur": ""},
        {"break_minutes": "ten"},
        {"break_minutes": "481"},
        {"break_minutes": "-5"},
        {"opt_out": ["Z"]},
    ):
        with pytest.raises(InvalidInput):
            service.save("ann", **{**form, **bad})  # type: ignore[arg-type]
    assert service.prefs("ann").break_minutes == 30  # nothing stored by a refused form
    back = service.save("ann", **{**form, "break_minutes": ""})
    assert (back.own_break_minutes, back.break_minutes) == (None, 50)
    off = service.save("ann", **{**form, "break_minutes": "0"})
    assert off.break_minutes == 0
    assert service.prefs("bob").blur == "strong"  # per reviewer


def test_review_stretches_end_at_a_pause() -> None:
    t = START
    events = [t, t + timedelta(minutes=10), t + timedelta(minutes=40), t + timedelta(minutes=45)]
    assert review_stretches(events, t + timedelta(minutes=50)) == [
        (t, t + timedelta(minutes=10)),
        (t + timedelta(minutes=40), t + timedelta(minutes=50)),
    ]
    assert review_stretches(events, t + timedelta(hours=2))[-1][1] == t + timedelta(minutes=45)
    assert review_stretches([], t) == []


def test_summary_and_break_reminder_follow_the_clock(database: Database) -> None:
    clock, queue, service = _setup(database)
    service.save("ann", blur="strong", keep_grey=True, break_minutes="45", opt_out=[])
    ids = add_items(database, 12, now=clock.now - timedelta(hours=1))
    exposure = ExposureCounter(database, cap=50, clock=clock)
    # ann works steadily: a step every 10 minutes for 50 minutes.
    for n in range(6):
        item = queue.claim(ids[n], "ann", "reviewer")
        if n % 2 == 0:
            exposure.reveal("ann", item.id)
        if n < 5:
            queue.decide(item.id, "ann", "reviewer", "false-positive", "benign picture", None)
            clock.advance(minutes=10)
    summary = service.summary("ann")
    assert summary.items_seen_today == 6
    assert (summary.reveals_today, summary.reveals_week) == (3, 3)
    assert (summary.decided_today, summary.decided_week) == (5, 5)
    assert summary.continuous_minutes == 50
    assert summary.review_minutes_today == 50
    assert summary.last_active == clock.now
    assert summary.break_due
    assert not service.summary("bob").break_due  # bob did nothing
    # "Not now": the notice goes for 15 minutes, then comes back while ann keeps going.
    service.snooze("ann")
    assert not service.break_due("ann")
    clock.advance(minutes=10)
    queue.claim(ids[6], "ann", "reviewer")
    assert not service.break_due("ann")
    clock.advance(minutes=6)
    queue.claim(ids[7], "ann", "reviewer")
    assert service.break_due("ann")
    # A real pause (15 minutes or more) ends the stretch: no reminder on coming back.
    clock.advance(minutes=20)
    assert not service.break_due("ann")
    queue.claim(ids[8], "ann", "reviewer")
    again = service.summary("ann")
    assert (again.continuous_minutes, again.break_due) == (0, False)
    assert again.review_minutes_today == 66  # 0:00-0:66 of review; the pause not counted
    # A reviewer who turned the reminder off is never reminded.
    service.save("ann", blur="strong", keep_grey=True, break_minutes="0", opt_out=[])
    clock.advance(minutes=10)
    queue.claim(ids[9], "ann", "reviewer")
    clock.advance(minutes=300)
    assert not service.break_due("ann")
    # A new day starts from nothing.
    clock.advance(days=1)
    fresh = service.summary("ann")
    assert (fresh.items_seen_today, fresh.reveals_today, fresh.review_minutes_today) == (0, 0, 0)
    assert fresh.reveals_week == 3


def test_claim_next_and_the_default_view_skip_opted_out_categories(database: Database) -> None:
    clock, queue, service = _setup(database)
    ids = add_items(database, 6, now=clock.now, category="C")
    service.save("ann", blur="strong", keep_grey=True, break_minutes="", opt_out=["C"])
    skip = service.prefs("ann").opt_out
    assert (
        claim_next_filtered(queue, QueueFilter(), "ann", "reviewer", skip_categories=skip) is None
    )
    # Even when the view asks for that category, it is never handed over.
    only_c = QueueFilter(category="C")
    assert claim_next_filtered(queue, only_c, "ann", "reviewer", skip_categories=skip) is None
    assert list_filtered(queue, QueueFilter(skip_categories=skip)) == []
    # Items without a category, and other categories, are still handed out.
    more = add_items(database, 2, now=clock.now - timedelta(hours=5), first=100, category="A")
    got = claim_next_filtered(queue, QueueFilter(), "ann", "reviewer", skip_categories=skip)
    assert got is not None
    assert got.id in more
    # bob opted out of nothing and gets the C items; a linked C item still opens for ann.
    bob = claim_next_filtered(queue, QueueFilter(), "bob", "reviewer")
    assert bob is not None
    assert queue.get(ids[0]).category == "C"
    assert queue.claim(ids[1], "ann", "reviewer").claimed_by == "ann"  # her own choice


def test_the_lead_view_lists_every_reviewer(database: Database) -> None:
    clock, queue, service = _setup(database)
    ids = add_items(database, 3, now=clock.now)
    service.save("bob", blur="medium", keep_grey=False, break_minutes="5", opt_out=["B"])
    queue.claim(ids[0], "bob", "reviewer")
    clock.advance(minutes=6)
    queue.decide(ids[0], "bob", "reviewer", "false-positive", "benign picture", None)
    rows = {r.name: r for r in service.reviewers()}
    assert set(rows) == {"ann", "bob", "lee"}
    assert rows["bob"].opt_out == ("B",)
    assert rows["bob"].summary.decided_today == 1
    assert rows["bob"].summary.break_due
    assert rows["ann"].summary.last_active is None
    assert rows["lee"].role == "lead"


def test_settings_and_not_now_are_audited_and_refused_forms_are_not(database: Database) -> None:
    import json

    from sqlalchemy import select

    from safespace.reports import _audit as audit
    from safespace.store._models_reports import AuditRecord

    clock, _, service = _setup(database)
    add_items(database, 3, now=clock.now)
    form = {"blur": "medium", "keep_grey": True, "break_minutes": "40", "opt_out": ["A"]}
    service.save("ann", **form)
    with pytest.raises(InvalidInput):
        service.save("ann", **{**form, "blur": "none"})  # type: ignore[arg-type]
    until = service.snooze("ann", 15)
    with database.session() as s:
        assert audit.verify(s).ok
        rows = s.scalars(
            select(AuditRecord)
            .where(AuditRecord.action.in_(("reviewer.settings", "reviewer.break")))
            .order_by(AuditRecord.seq)
        ).all()
        got = [(r.actor, r.action, r.subject, json.loads(r.details)) for r in rows]
    assert got == [
        ("user:ann", "reviewer.settings", "user:ann",
         {"blur": "medium", "keep_grey": True, "break_minutes": 40, "opt_out": ["A"]}),
        ("user:ann", "reviewer.break", "user:ann", {"until": until.isoformat(), "minutes": 15}),
    ]  # fmt: skip
