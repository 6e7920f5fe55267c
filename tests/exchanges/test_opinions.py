"""Opinions go back: a reviewer's final decision on a match against an entry from a source
queues an opinion in the decision's transaction, and the outbox delivers it to the source
(here the fake NCMEC and StopNCII servers) with retries and backoff."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from safespace.access import record_matches
from safespace.banks import BankService
from safespace.banks._match_results import Match
from safespace.banks.formats._base import HashRecord
from safespace.errors import Conflict, SourceNotFound
from safespace.exchanges import Opinion
from safespace.exchanges._opinions import OpinionOutbox, opinions_of_item
from safespace.exchanges._source_ncmec import NcmecSource
from safespace.exchanges._source_stopncii import StopNciiSource
from safespace.reports._queue import ReviewPolicy, ReviewQueue
from safespace.store import Database
from safespace.store._models_exchanges import ExchangeEntry, ExchangeSource
from safespace.store._models_opinions import ExchangeOpinion
from safespace.store._models_reports import AuditRecord

sys.path.insert(0, str(Path(__file__).parent / "fakes"))
from _ncmec_fake import NcmecFake
from _ncmec_fake import serve as serve_ncmec
from _stopncii_fake import StopNciiFake
from _stopncii_fake import serve as serve_stopncii

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
MD5_B = "0cc175b9c0f1b6a831c399e269772661"
PDQ = "f" * 32 + "0" * 32


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 5, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    db: Database
    queue: ReviewQueue
    ncmec: NcmecFake
    stopncii: StopNciiFake
    urls: dict[str, str]
    clock: Clock
    entries: dict[str, int]  # content value -> bank entry id

    def send(self, name: str, opinion: Opinion) -> None:
        """What the app's ExchangeService.send_opinion does, without the sealed row."""
        with httpx.Client(timeout=5) as http:
            if name == "ncmec":
                config = NcmecSource.parse_config({"base_url": self.urls[name]})
                creds = {"username": "member", "password": "secret"}
                NcmecSource(config, creds, http).send_opinion(opinion)
            elif name == "stopncii":
                config = StopNciiSource.parse_config({"base_url": self.urls[name]})
                keys = {
                    "subscription_key": "sub-key",
                    "fetch_function_key": "fetch-key",
                    "feedback_function_key": "feedback-key",
                }
                StopNciiSource(config, keys, http).send_opinion(opinion)
            else:
                raise SourceNotFound(name)

    def item_for(self, content_id: str, value: str, bank: str = "common") -> int:
        match = Match(bank, "normal", self.entries[value], "md5", value, 0)
        record_matches(self.db, content_id, [match], None)
        self.queue.sync()
        (item,) = [i for i in self.queue.list_items() if i.content_id == content_id]
        return item.id

    def decide(self, item_id: int, kind: str, reason: str = "looked at it", **kw: str) -> None:
        self.queue.claim(item_id, kw.get("actor", "rev"), kw.get("role", "lead"))
        category = "A1" if kind == "confirm" else None
        self.queue.decide(item_id, kw.get("actor", "rev"), kw.get("role", "lead"), kind, reason,
                          category)  # fmt: skip


def _source_row(db: Database, name: str, kind: str, bank_id: int) -> int:
    with db.transaction() as s:
        row = ExchangeSource(
            name=name, type=kind, bank_id=bank_id, config={}, paused=False,
            consecutive_failures=0, interval_seconds=300, fetched=0, removed=0, pages=0,
        )  # fmt: skip
        s.add(row)
        s.flush()
        return row.id


@pytest.fixture
def world(database: Database) -> Iterator[World]:
    clock = Clock()
    ncmec, stopncii = NcmecFake(), StopNciiFake()
    ncmec.put("e1", {"md5": MD5}, timestamp=clock.now - timedelta(days=1))
    stopncii.put(MD5, "VideoMD5", last_mod=1_700_000_000)
    banks = BankService(database)
    banks.create_bank("common")
    banks.add_entries("common", [HashRecord("md5", MD5), HashRecord("md5", MD5_B)])
    entries = {e.value: e.id for e in banks.list_entries("common")}
    bank_id = banks.get_bank("common").id
    ids = {
        "ncmec": _source_row(database, "ncmec", "ncmec", bank_id),
        "stopncii": _source_row(database, "stopncii", "stopncii", bank_id),
    }
    with database.transaction() as s:
        s.add(ExchangeEntry(source_id=ids["ncmec"], upstream_id="42/e1/md5", entry_id=entries[MD5]))
        s.add(
            ExchangeEntry(
                source_id=ids["stopncii"], upstream_id=f"VideoMD5:{MD5}", entry_id=entries[MD5]
            )
        )
    queue = ReviewQueue(database, clock=clock)
    with serve_ncmec(ncmec) as n_url, serve_stopncii(stopncii) as s_url:
        urls = {"ncmec": n_url + "/hashsharing", "stopncii": s_url}
        yield World(database, queue, ncmec, stopncii, urls, clock, entries)


def _outbox(world: World, **kw: object) -> OpinionOutbox:
    return OpinionOutbox(world.db, world.send, world.clock, **kw)  # type: ignore[arg-type]


def test_a_confirmation_and_a_false_positive_each_reach_the_sources(world: World) -> None:
    confirmed = world.item_for("post-1", MD5)
    world.decide(confirmed, "confirm")
    states = opinions_of_item(world.db, confirmed)
    assert [(o.source, o.verdict, o.status) for o in states] == [
        ("ncmec", "confirmed", "pending"),
        ("stopncii", "confirmed", "pending"),
    ]
    assert _outbox(world).deliver_due().sent == 2
    false_positive = world.item_for("post-2", MD5)
    world.decide(false_positive, "false-positive", "a benign photo of a cat")
    assert _outbox(world).deliver_due().sent == 2
    assert [(f.entry_id, f.fingerprint_type, f.vote) for f in world.ncmec.feedback] == [
        ("e1", "MD5", "affirmative"),
        ("e1", "MD5", "negative"),
    ]
    assert world.ncmec.feedback[1].reason_guids  # a downvote always carries a reason
    assert [(f.value, f.feedback) for f in world.stopncii.feedback] == [
        (MD5, "Blocked"),
        (MD5, "NotBlocked"),
    ]
    shown = [o.to_dict() for o in opinions_of_item(world.db, false_positive)]
    assert {(o["status"], o["attempts"]) for o in shown} == {("sent", 1)}
    assert shown[0]["sent_at"] == "2026-12-05T12:00:00Z"


def test_the_opinion_is_queued_in_the_decisions_transaction(world: World) -> None:
    item = world.item_for("post-1", MD5)
    with pytest.raises(Conflict):  # not claimed: no decision, so no opinion either
        world.queue.decide(item, "rev", "lead", "confirm", "looked at it", "A1")
    assert opinions_of_item(world.db, item) == []
    world.decide(item, "confirm")
    with world.db.session() as s:
        records = s.scalars(select(AuditRecord).where(AuditRecord.action == "case.decision"))
        assert json.loads(records.all()[-1].details)["opinions"] == 2


def test_escalations_second_looks_and_unlisted_entries_send_nothing(world: World) -> None:
    world.queue.policy = ReviewPolicy(second_look=True)
    item = world.item_for("post-1", MD5)
    world.decide(item, "escalate")
    world.decide(item, "confirm", actor="lead1")  # first look of two: not final yet
    assert opinions_of_item(world.db, item) == []
    world.decide(item, "confirm", actor="lead2")  # final now
    assert len(opinions_of_item(world.db, item)) == 2
    other = world.item_for("post-2", MD5_B)  # an entry no source listed
    world.queue.policy = ReviewPolicy()
    world.decide(other, "confirm")
    assert opinions_of_item(world.db, other) == []


def test_a_failed_delivery_backs_off_and_is_retried(world: World) -> None:
    item = world.item_for("post-1", MD5)
    world.decide(item, "confirm")
    outbox = _outbox(world, base_delay=timedelta(seconds=30))
    world.ncmec.fail("5xx")
    world.stopncii.fail("5xx")
    report = outbox.deliver_due()
    assert (report.sent, report.retrying) == (0, 2)
    states = opinions_of_item(world.db, item)
    assert all(o.status == "pending" and o.attempts == 1 for o in states)
    assert all("503" in (o.last_error or "") for o in states)
    assert all(o.next_attempt_at == world.clock.now + timedelta(seconds=30) for o in states)
    assert outbox.deliver_due().sent == 0  # not due yet
    world.ncmec.fail("5xx")
    world.clock.now += timedelta(seconds=31)
    assert outbox.deliver_due().sent == 1  # StopNCII is back; NCMEC fails again
    (ncmec,) = [o for o in opinions_of_item(world.db, item) if o.source == "ncmec"]
    assert ncmec.attempts == 2
    assert ncmec.next_attempt_at == world.clock.now + timedelta(seconds=60)  # doubled
    world.clock.now += timedelta(seconds=61)
    assert outbox.deliver_due().sent == 1
    assert world.ncmec.feedback[-1].vote == "affirmative"


def test_an_opinion_is_given_up_after_max_attempts_and_can_be_retried(world: World) -> None:
    item = world.item_for("post-1", MD5)
    world.decide(item, "confirm")
    outbox = _outbox(world, max_attempts=2, base_delay=timedelta(seconds=1))
    for _ in range(2):
        world.ncmec.fail("401")
        world.stopncii.fail("401")
        outbox.deliver_due()
        world.clock.now += timedelta(seconds=5)
    states = opinions_of_item(world.db, item)
    assert {o.status for o in states} == {"rejected"}
    assert outbox.deliver_due().sent == 0
    assert outbox.retry_now(item) == 2
    assert outbox.deliver_due().sent == 2
    with world.db.session() as s:
        assert {o.status for o in s.scalars(select(ExchangeOpinion))} == {"sent"}
