"""The StopNCII source against a fake StopNCII API (a real HTTP server): the inherited
contract, then paging by token and set timestamp, withdrawals, the truncated page that
python-threatexchange's client stalls on (#2004), faults, keys and feedback."""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from source_contract import MemoryBank, SourceContract

from safespace.errors import SourceRejected, SourceUnavailable
from safespace.exchanges import BankSource, Opinion, Verdict, get_source_type
from safespace.exchanges._source_stopncii import StopNciiSource, upstream_id
from safespace.signals import normalize

sys.path.insert(0, str(Path(__file__).parent / "fakes"))
from _stopncii_fake import StopNciiFake, serve

_SUPPORTED = {"ImagePDQ": "pdq", "VideoMD5": "md5"}
KEYS = {
    "subscription_key": "sub-key",
    "fetch_function_key": "fetch-key",
    "feedback_function_key": "feedback-key",
}


class StopNciiUpstream:
    def __init__(self, fake: StopNciiFake) -> None:
        self.fake, self.made, self.now = fake, 0, 1_700_000_000

    def publish(self, count: int) -> None:
        for _ in range(count):
            self.made += 1
            n = self.made
            if n % 5 == 0:
                value, kind = hashlib.md5(f"benign {n}".encode()).hexdigest(), "VideoMD5"
            elif n % 7 == 0:
                value, kind = hashlib.sha1(f"benign {n}".encode()).hexdigest(), "VideoTMK"
            else:
                value, kind = hashlib.sha256(f"benign {n}".encode()).hexdigest(), "ImagePDQ"
            self.fake.put(value, kind, last_mod=self.now)
            self.now += 1

    def withdraw(self, count: int) -> None:
        live = [r for r in self.fake.records.values() if r.status == "Active"]
        for i, record in enumerate(live[:count]):
            status = "Withdrawn" if i % 2 else "Deleted"
            self.fake.put(record.value, record.signal_type, last_mod=self.now, status=status)
            self.now += 1

    def live(self) -> dict[str, tuple[str, str]]:
        return {
            upstream_id(r.signal_type, r.value): normalize(_SUPPORTED[r.signal_type], r.value)
            for r in self.fake.records.values()
            if r.status == "Active" and r.signal_type in _SUPPORTED
        }

    def break_next_page(self) -> None:
        self.fake.fail("truncated")

    def opinions(self) -> list[tuple[str, str]]:
        kinds = {r.value: r.signal_type for r in self.fake.records.values()}
        verdicts = {"Blocked": "confirmed", "NotBlocked": "false_positive"}
        return [
            (upstream_id(kinds[f.value], f.value), verdicts[f.feedback]) for f in self.fake.feedback
        ]


@pytest.fixture
def fake() -> StopNciiFake:
    return StopNciiFake()


@pytest.fixture
def base_url(fake: StopNciiFake) -> Iterator[str]:
    with serve(fake) as base:
        yield base


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def _maker(base_url: str, http: httpx.Client, **settings: object) -> Callable[..., StopNciiSource]:
    def make(**keys: str) -> StopNciiSource:
        config = StopNciiSource.parse_config({"base_url": base_url, "page_size": 6, **settings})
        return StopNciiSource(config, {**KEYS, **keys}, http)

    return make


class TestStopNciiContract(SourceContract):
    @pytest.fixture
    def upstream(self, fake: StopNciiFake) -> StopNciiUpstream:
        return StopNciiUpstream(fake)

    @pytest.fixture
    def make_source(self, base_url: str, http: httpx.Client) -> Callable[[], BankSource]:
        return _maker(base_url, http)


@pytest.fixture
def upstream(fake: StopNciiFake) -> StopNciiUpstream:
    return StopNciiUpstream(fake)


@pytest.fixture
def make(base_url: str, http: httpx.Client) -> Callable[..., StopNciiSource]:
    return _maker(base_url, http)


def test_the_registry_gives_the_stopncii_source() -> None:
    assert get_source_type("stopncii") is StopNciiSource
    assert "feedback_function_key" in StopNciiSource.config_schema()["x-credentials"]


def test_pages_follow_the_token_then_the_set_timestamp(
    upstream: StopNciiUpstream, make: Callable[..., StopNciiSource], fake: StopNciiFake
) -> None:
    upstream.publish(20)
    pages = list(make().fetch(None))
    assert [p.more for p in pages] == [True, True, True, False]
    assert pages[0].checkpoint["token"]
    assert pages[-1].checkpoint == {"start": upstream.now}  # nextSetTimestamp
    got = {e.upstream_id: e for p in pages for e in p.upserts}
    assert not any(uid.startswith("VideoTMK:") for uid in got)  # a type SafeSpace lacks
    assert got == {k: got[k] for k in upstream.live()}
    assert all("Ocp-Apim-Subscription-Key" for _ in fake.requests)


def test_a_fetch_resumes_from_the_page_token(
    upstream: StopNciiUpstream, make: Callable[..., StopNciiSource], fake: StopNciiFake
) -> None:
    upstream.publish(20)
    bank = MemoryBank()
    first = make().fetch(None)
    bank.apply(next(first))
    first.close()
    fake.requests.clear()
    bank.sync(make())
    assert bank.entries == upstream.live()
    assert "nextPageToken=" in fake.requests[0][1]


def test_a_refused_old_token_fetches_the_set_again(
    upstream: StopNciiUpstream, make: Callable[..., StopNciiSource]
) -> None:
    upstream.publish(10)
    bank = MemoryBank()
    bank.checkpoint = {"start": 0, "token": "not-a-token-any-more"}
    bank.sync(make())
    assert bank.entries == upstream.live()


def test_withdrawn_and_deleted_records_remove_entries(
    upstream: StopNciiUpstream, make: Callable[..., StopNciiSource], fake: StopNciiFake
) -> None:
    upstream.publish(8)
    bank = MemoryBank()
    bank.sync(make())
    gone = [r.value for r in list(fake.records.values())[:2]]
    upstream.withdraw(2)
    bank.sync(make())
    assert not any(uid.endswith(v) for uid in bank.entries for v in gone)
    assert bank.entries == upstream.live()


def test_feedback_counts_become_opinions(
    upstream: StopNciiUpstream, make: Callable[..., StopNciiSource], fake: StopNciiFake
) -> None:
    upstream.publish(1)
    record = next(iter(fake.records.values()))
    record.feedbacks += [{"feedbackValue": "Blocked"}, {"feedbackValue": "Blocked"}]
    record.feedbacks.append({"feedbackValue": "NotBlocked"})
    (entry,) = [e for p in make().fetch(None) for e in p.upserts]
    assert dict(entry.opinions) == {"confirmed": 2, "disputed": 1}
    assert entry.metadata["hash_status"] == "Active"


@pytest.mark.parametrize("fault", ["truncated", "malformed", "5xx", "drop"])
def test_a_bad_page_raises_unavailable_and_never_stalls(
    upstream: StopNciiUpstream, make: Callable[..., StopNciiSource], fake: StopNciiFake, fault: str
) -> None:
    upstream.publish(15)
    bank = MemoryBank()
    bank.sync(make())
    kept = (dict(bank.entries), bank.checkpoint)
    upstream.publish(15)
    first = make().fetch(bank.checkpoint)
    bank.apply(next(first))  # one good page of the new set, then the broken one
    kept = (dict(bank.entries), bank.checkpoint)
    fake.fail(fault)
    with pytest.raises(SourceUnavailable):
        next(first)
    assert (bank.entries, bank.checkpoint) == kept
    bank.sync(make())  # the retry resumes from the last good page and finishes
    assert bank.entries == upstream.live()


def test_a_slow_server_is_unavailable_not_a_hang(
    upstream: StopNciiUpstream, base_url: str, fake: StopNciiFake
) -> None:
    upstream.publish(3)
    fake.slow_seconds = 1.0
    fake.fail("slow")
    with httpx.Client(timeout=0.2) as quick, pytest.raises(SourceUnavailable):
        MemoryBank().sync(_maker(base_url, quick)())


def test_bad_keys_are_rejected(
    upstream: StopNciiUpstream, make: Callable[..., StopNciiSource], fake: StopNciiFake
) -> None:
    upstream.publish(3)
    with pytest.raises(SourceRejected):
        MemoryBank().sync(make(subscription_key="wrong"))
    with pytest.raises(SourceRejected):
        MemoryBank().sync(make(fetch_function_key="wrong"))
    fake.fail("401")
    with pytest.raises(SourceRejected):
        MemoryBank().sync(make())


def test_feedback_is_blocked_or_not_blocked_with_tags(
    upstream: StopNciiUpstream, base_url: str, http: httpx.Client, fake: StopNciiFake
) -> None:
    upstream.publish(2)
    source = _maker(base_url, http, feedback_tags=["reviewed"])()
    bank = MemoryBank()
    bank.sync(source)
    uid, (kind, value) = next(iter(bank.entries.items()))
    now = datetime.now(UTC)
    source.send_opinion(Opinion(uid, kind, value, Verdict.CONFIRMED, None, now))
    source.send_opinion(Opinion(uid, kind, value, Verdict.FALSE_POSITIVE, "benign", now))
    assert [(f.feedback, f.tags) for f in fake.feedback] == [
        ("Blocked", ("reviewed",)),
        ("NotBlocked", ("reviewed",)),
    ]
    fake.fail("5xx")
    with pytest.raises(SourceUnavailable):
        source.send_opinion(Opinion(uid, kind, value, Verdict.CONFIRMED, None, now))
    with pytest.raises(SourceRejected):
        _maker(base_url, http)(feedback_function_key="").send_opinion(
            Opinion(uid, kind, value, Verdict.CONFIRMED, None, now)
        )


def test_a_checkpoint_is_stale_after_30_days(
    upstream: StopNciiUpstream, make: Callable[..., StopNciiSource]
) -> None:
    upstream.publish(1)
    bank = MemoryBank()
    source = make()
    bank.sync(source)
    now = datetime.now(UTC)
    assert not source.is_stale(bank.checkpoint, now + timedelta(days=29))
    assert source.is_stale(bank.checkpoint, now + timedelta(days=31))
