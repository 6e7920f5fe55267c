"""The NCMEC source against a fake NCMEC server (a real HTTP server speaking API v2 XML):
the inherited contract, then paging, resuming, old next URLs, windows that shrink, faults,
credentials and votes."""

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
from safespace.exchanges._source_ncmec import NcmecSource, upstream_id
from safespace.signals import normalize

sys.path.insert(0, str(Path(__file__).parent / "fakes"))
from _ncmec_fake import NcmecFake, serve

ENV = "/hashsharing"  # the path of NCMEC's industry environment, as the fake serves it
_SUPPORTED = {"md5": "md5", "pdq": "pdq"}


class Clock:
    """Now, for the fake (entry timestamps) and the source (window ends) alike."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 60) -> None:
        self.now += timedelta(seconds=seconds)


class NcmecUpstream:
    def __init__(self, fake: NcmecFake, clock: Clock) -> None:
        self.fake, self.clock, self.made = fake, clock, 0

    def publish(self, count: int) -> None:
        for _ in range(count):
            self.made += 1
            n = self.made
            fps = {
                "md5": hashlib.md5(f"benign {n}".encode()).hexdigest(),
                "sha1": hashlib.sha1(f"benign {n}".encode()).hexdigest(),  # kept by NCMEC only
            }
            if n % 3 == 0:
                fps["pdq"] = hashlib.sha256(f"benign {n}".encode()).hexdigest()
            kind = "video" if n % 4 == 0 else "image"
            self.fake.put(f"e{n}", fps, timestamp=self.clock.now, kind=kind)
            self.clock.tick(1)
        self.clock.tick(60)

    def withdraw(self, count: int) -> None:
        live = [e for e in self.fake.entries.values() if not e.deleted]
        for entry in live[:count]:
            self.fake.delete(entry.entry_id, timestamp=self.clock.now, member_id=entry.member_id)
            self.clock.tick(1)
        self.clock.tick(60)

    def live(self) -> dict[str, tuple[str, str]]:
        out = {}
        for e in self.fake.entries.values():
            if e.deleted:
                continue
            for tag, value in e.fingerprints.items():
                if tag in _SUPPORTED:
                    key = upstream_id(str(e.member_id), e.entry_id, tag)
                    out[key] = normalize(_SUPPORTED[tag], value)
        return out

    def break_next_page(self) -> None:
        self.fake.fail("truncated")

    def opinions(self) -> list[tuple[str, str]]:
        verdicts = {"affirmative": "confirmed", "negative": "false_positive"}
        return [
            (upstream_id(str(f.esp_id), f.entry_id, f.fingerprint_type), verdicts[f.vote])
            for f in self.fake.feedback
        ]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake() -> NcmecFake:
    return NcmecFake(page_size=7)


@pytest.fixture
def base_url(fake: NcmecFake) -> Iterator[str]:
    with serve(fake) as base:
        yield base + ENV


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def _maker(
    base_url: str, http: httpx.Client, clock: Clock, **settings: object
) -> Callable[[], NcmecSource]:
    def make(password: str = "secret") -> NcmecSource:
        config = NcmecSource.parse_config({"base_url": base_url, **settings})
        source = NcmecSource(config, {"username": "member", "password": password}, http)
        source.clock = clock
        return source

    return make


class TestNcmecContract(SourceContract):
    @pytest.fixture
    def upstream(self, fake: NcmecFake, clock: Clock) -> NcmecUpstream:
        return NcmecUpstream(fake, clock)

    @pytest.fixture
    def make_source(
        self, base_url: str, http: httpx.Client, clock: Clock
    ) -> Callable[[], BankSource]:
        return _maker(base_url, http, clock)


@pytest.fixture
def upstream(fake: NcmecFake, clock: Clock) -> NcmecUpstream:
    return NcmecUpstream(fake, clock)


@pytest.fixture
def make(base_url: str, http: httpx.Client, clock: Clock) -> Callable[..., NcmecSource]:
    return _maker(base_url, http, clock)


def test_the_registry_gives_the_ncmec_source() -> None:
    assert get_source_type("ncmec") is NcmecSource
    schema = NcmecSource.config_schema()
    assert schema["x-credentials"] == ["username", "password"]
    assert "test-ngo" in schema["properties"]["environment"]["enum"]


def test_pages_follow_the_next_url_and_carry_entry_details(
    upstream: NcmecUpstream, make: Callable[..., NcmecSource], fake: NcmecFake
) -> None:
    upstream.publish(20)
    fake.entries[(42, "e3")].upvotes["pdq"] = 2
    fake.entries[(42, "e3")].downvotes["pdq"] = 1
    pages = list(make().fetch(None))
    assert len(pages) == 3  # 20 entries, 7 a page
    assert [p.more for p in pages] == [True, True, False]
    assert pages[0].checkpoint["next"].startswith("/v2/entries?")
    assert "next" not in pages[-1].checkpoint
    got = {e.upstream_id: e for p in pages for e in p.upserts}
    pdq = got["42/e3/pdq"]
    assert pdq.categories == ("A1",)
    assert dict(pdq.opinions) == {"confirmed": 2, "disputed": 1}
    assert pdq.metadata["entry_id"] == "e3"
    assert pdq.metadata["member_id"] == "42"
    assert got["42/e4/md5"].metadata["media"] == "video"
    assert not any(uid.endswith("/sha1") for uid in got)  # SafeSpace cannot match SHA-1
    assert fake.environments == {ENV}


def test_a_fetch_resumes_mid_window_from_the_next_url(
    upstream: NcmecUpstream, make: Callable[..., NcmecSource], fake: NcmecFake
) -> None:
    upstream.publish(20)
    bank = MemoryBank()
    first = make().fetch(None)
    bank.apply(next(first))  # the process dies after one page
    first.close()
    assert bank.checkpoint is not None
    assert bank.checkpoint["next"]
    fake.requests.clear()
    bank.sync(make())
    assert bank.entries == upstream.live()
    assert "start=8" in fake.requests[0][1]  # the page after the one applied, not page one


def test_a_next_url_older_than_12_hours_is_dropped_and_its_window_fetched_again(
    upstream: NcmecUpstream, make: Callable[..., NcmecSource], fake: NcmecFake, clock: Clock
) -> None:
    upstream.publish(20)
    bank = MemoryBank()
    first = make().fetch(None)
    bank.apply(next(first))
    first.close()
    checkpoint = dict(bank.checkpoint or {})
    source = make()
    clock.tick(13 * 3600)
    assert source.is_stale(checkpoint, clock.now)  # and the fetcher may start over; if not:
    fake.requests.clear()
    bank.sync(source)
    assert bank.entries == upstream.live()
    assert "start=" not in fake.requests[0][1]  # the window again, from its start
    assert f"from={checkpoint['from']}" not in fake.requests[0][1]


def test_a_window_with_too_many_entries_is_halved_before_use(
    upstream: NcmecUpstream, base_url: str, http: httpx.Client, clock: Clock, fake: NcmecFake
) -> None:
    upstream.publish(30)
    source = _maker(base_url, http, clock, max_window_entries=10)()
    bank = MemoryBank()
    bank.sync(source)
    assert bank.entries == upstream.live()
    firsts = [path for _, path in fake.requests if "start=" not in path]
    assert len(firsts) > 2  # probed, halved, then walked the smaller windows


@pytest.mark.parametrize("fault", ["truncated", "malformed", "5xx", "drop"])
def test_transient_faults_raise_unavailable_and_apply_nothing(
    upstream: NcmecUpstream, make: Callable[..., NcmecSource], fake: NcmecFake, fault: str
) -> None:
    upstream.publish(10)
    bank = MemoryBank()
    fake.fail(fault)
    with pytest.raises(SourceUnavailable):
        bank.sync(make())
    assert bank.entries == {}
    assert bank.checkpoint is None
    bank.sync(make())
    assert bank.entries == upstream.live()


def test_a_slow_server_is_unavailable_not_a_hang(
    upstream: NcmecUpstream, base_url: str, clock: Clock, fake: NcmecFake
) -> None:
    upstream.publish(3)
    fake.slow_seconds = 1.0
    fake.fail("slow")
    with httpx.Client(timeout=0.2) as quick, pytest.raises(SourceUnavailable):
        MemoryBank().sync(_maker(base_url, quick, clock)())


def test_bad_credentials_are_rejected(
    upstream: NcmecUpstream, make: Callable[..., NcmecSource], fake: NcmecFake
) -> None:
    upstream.publish(3)
    with pytest.raises(SourceRejected):
        MemoryBank().sync(make(password="wrong"))
    fake.fail("401")
    with pytest.raises(SourceRejected):
        MemoryBank().sync(make())


def test_deleted_entries_and_dropped_fingerprints_are_removed(
    upstream: NcmecUpstream, make: Callable[..., NcmecSource], fake: NcmecFake, clock: Clock
) -> None:
    upstream.publish(6)
    bank = MemoryBank()
    bank.sync(make())
    assert "42/e3/pdq" in bank.entries
    fake.put("e3", {"md5": "0" * 31 + "1"}, timestamp=clock.now)  # e3 loses its PDQ
    fake.delete("e1", timestamp=clock.now)
    clock.tick(60)
    bank.sync(make())
    assert "42/e3/pdq" not in bank.entries
    assert "42/e1/md5" not in bank.entries
    assert bank.entries == upstream.live()


def test_only_member_ids_filters_entries(
    upstream: NcmecUpstream, base_url: str, http: httpx.Client, clock: Clock, fake: NcmecFake
) -> None:
    upstream.publish(3)
    fake.put("other", {"md5": "f" * 32}, timestamp=clock.now, member_id=99)
    clock.tick(60)
    bank = MemoryBank()
    bank.sync(_maker(base_url, http, clock, only_member_ids=[99])())
    assert list(bank.entries) == ["99/other/md5"]


def test_votes_carry_a_reason_and_reach_ncmec(
    upstream: NcmecUpstream, make: Callable[..., NcmecSource], fake: NcmecFake
) -> None:
    upstream.publish(3)
    bank = MemoryBank()
    bank.sync(make())
    value = bank.entries["42/e3/pdq"][1]
    now = datetime.now(UTC)
    make().send_opinion(Opinion("42/e3/pdq", "pdq", value, Verdict.CONFIRMED, None, now))
    make().send_opinion(
        Opinion("42/e3/pdq", "pdq", value, Verdict.FALSE_POSITIVE, "Hash collision", now)
    )
    up, down = fake.feedback[-2:]
    assert (up.vote, up.fingerprint_type, up.reason_guids) == ("affirmative", "PDQ", ())
    assert down.vote == "negative"
    assert down.reason_guids == ("b0b0b0b0-0000-4000-8000-000000000002",)  # named by reason
    fake.fail("5xx")
    with pytest.raises(SourceUnavailable):
        make().send_opinion(Opinion("42/e3/pdq", "pdq", value, Verdict.CONFIRMED, None, now))
    with pytest.raises(SourceRejected):  # an entry NCMEC does not have
        make().send_opinion(Opinion("42/nope/pdq", "pdq", value, Verdict.CONFIRMED, None, now))
