"""The ``safespace`` source (federation): another SafeSpace's feed of a bank, served by a
real app under uvicorn; the contract, both ways sharing, opinions counted once."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import httpx
import pytest
from source_contract import SourceContract

from app_factory import serve_in_thread
from safespace.access import KeyService
from safespace.api import create_app
from safespace.banks import BankService
from safespace.banks.formats import HashRecord
from safespace.config import Settings
from safespace.exchanges import BankSource, ExchangeService, get_source_type
from safespace.exchanges._feed import Feed
from safespace.store import Database, open_database

_names = itertools.count(1)


class Peer:
    """A SafeSpace app served in a thread, with its database and an ``exchange`` key."""

    def __init__(self, folder: Path) -> None:
        self.url_db = f"sqlite:///{folder / 'safespace.db'}"
        self.app = create_app(Settings(data_dir=folder, database_url=self.url_db))
        self.db: Database = open_database(self.url_db)
        self.key = KeyService(self.db).create("exchange", name="peer")[1]
        self.banks = BankService(self.db)


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Peer, str]]:
    p = Peer(tmp_path_factory.mktemp("peer-a"))
    with serve_in_thread(p.app, "peer-a") as base:
        yield p, base


class Transport(httpx.HTTPTransport):
    """The real transport, able to cut its next feed answer short and noting opinions sent."""

    def __init__(self) -> None:
        super().__init__()
        self.cut = False
        self.sent: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path.endswith("/feed") and self.cut:
            self.cut = False
            body = response.read()
            return httpx.Response(200, content=body[: len(body) // 2], request=request)
        if request.url.path.endswith("/opinions") and response.status_code == 200:
            import json

            sent = json.loads(request.content)
            self.sent.append((sent["upstream_id"], sent["verdict"]))
        return response


class BankUpstream:
    """One bank of the peer as the contract's upstream."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.bank = f"t{next(_names)}"
        peer.banks.create_bank(self.bank)
        self.transport = Transport()
        self._n = 0

    def publish(self, count: int) -> None:
        records = []
        for _ in range(count):
            self._n += 1
            records.append(HashRecord("md5", f"{self._n:032x}"))
        self.peer.banks.add_entries(self.bank, records)

    def withdraw(self, count: int) -> None:
        entries = self.peer.banks.list_entries(self.bank, limit=1000)[:count]
        self.peer.banks.remove_entries([e.id for e in entries])

    def live(self) -> dict[str, tuple[str, str]]:
        entries = self.peer.banks.list_entries(self.bank, limit=1000)
        return {str(e.id): (e.signal_type, e.value) for e in entries}

    def break_next_page(self) -> None:
        self.transport.cut = True

    def opinions(self) -> list[tuple[str, str]]:
        return self.transport.sent


def make(base: str, key: str, bank: str, transport: httpx.BaseTransport | None = None,
         page_size: int = 10) -> BankSource:  # fmt: skip
    cls = get_source_type("safespace")
    config = cls.parse_config({"url": base, "remote_bank": bank, "page_size": page_size})
    return cls(config, {"api_key": key}, httpx.Client(transport=transport, timeout=10))


class TestPeerSource(SourceContract):
    @pytest.fixture
    def upstream(self, peer: tuple[Peer, str]) -> BankUpstream:
        return BankUpstream(peer[0])

    @pytest.fixture
    def make_source(
        self, peer: tuple[Peer, str], upstream: BankUpstream
    ) -> Callable[[], BankSource]:
        p, base = peer
        return lambda: make(base, p.key, upstream.bank, upstream.transport)


def test_a_peer_opinion_counts_once_and_shows_in_the_feed(peer: tuple[Peer, str]) -> None:
    p = peer[0]
    up = BankUpstream(p)
    up.publish(1)
    (entry,) = p.banks.list_entries(up.bank)
    for _ in range(2):  # a resend after a lost answer
        counts = Feed(p.db).opinion(
            up.bank, str(entry.id), "md5", entry.value, "confirmed", opinion_id="k:1"
        )
    assert counts == {"confirmed": 1}
    Feed(p.db).opinion(
        up.bank, str(entry.id), "md5", entry.value, "false_positive", opinion_id="k:2"
    )
    page = Feed(p.db).page(up.bank, 0, None)
    assert page.entries[0]["opinions"] == {"confirmed": 1, "disputed": 1}


def test_a_wrong_key_is_a_permanent_fault(peer: tuple[Peer, str]) -> None:
    from safespace.errors import SourceRejected

    p, base = peer
    up = BankUpstream(p)
    with pytest.raises(SourceRejected):
        list(make(base, "not-a-key", up.bank).fetch(None))


class BothWays(NamedTuple):
    """Two servers, A (the module's peer) and B, each following the other's bank ``bank``
    with a source named ``from-b`` on A and ``from-a`` on B (after a prefix, as A is shared
    by the module's tests)."""

    a: Peer
    b: Peer
    on_a: ExchangeService
    on_b: ExchangeService
    bank: str

    def values(self, side: Peer) -> set[str]:
        return {e.value for e in side.banks.list_entries(self.bank, limit=1000)}


@contextmanager
def both_ways(peer: tuple[Peer, str], folder: Path, prefix: str = "") -> Iterator[BothWays]:
    a, a_url = peer
    bank = f"t{next(_names)}"
    a.banks.create_bank(bank)
    b = Peer(folder / "b")
    b.banks.create_bank(bank)
    try:
        with serve_in_thread(b.app, "peer-b") as b_url:
            on_a = ExchangeService(a.db, master_key=os.urandom(32))
            on_b = ExchangeService(b.db, master_key=os.urandom(32))
            for service, name, url, key in ((on_a, "from-b", b_url, b.key),
                                            (on_b, "from-a", a_url, a.key)):  # fmt: skip
                service.add(prefix + name, type="safespace", bank=bank,
                            config={"url": url, "remote_bank": bank},
                            credentials={"api_key": key})  # fmt: skip
            yield BothWays(a, b, on_a, on_b, bank)
    finally:
        b.db.close()


def test_two_servers_share_a_bank_both_ways(peer: tuple[Peer, str], tmp_path: Path) -> None:
    with both_ways(peer, tmp_path) as sides:
        a, b, on_a, on_b, bank = sides
        values = sides.values

        def sync() -> None:
            for _ in range(2):  # what one side took in goes back, and is already there
                assert on_b.fetch_once("from-a").ok
                assert on_a.fetch_once("from-b").ok

        a.banks.add_entries(bank, [HashRecord("md5", "a" * 32), HashRecord("md5", "b" * 32)])
        b.banks.add_entries(bank, [HashRecord("md5", "c" * 32)])
        sync()
        assert values(a) == values(b) == {"a" * 32, "b" * 32, "c" * 32}
        (gone,) = [e for e in b.banks.list_entries(bank) if e.value == "a" * 32]
        b.banks.remove_entries([gone.id])  # removed over there, on the side that got it
        sync()
        assert values(a) == values(b) == {"b" * 32, "c" * 32}
        source, _, _ = on_b.open_source("from-a")
        (mine,) = [e for e in a.banks.list_entries(bank) if e.value == "b" * 32]
        from datetime import UTC, datetime

        from safespace.exchanges import Opinion, Verdict

        with source.http:
            source.send_opinion(
                Opinion(str(mine.id), "md5", "b" * 32, Verdict.CONFIRMED, None, datetime.now(UTC))
            )
        sync()
        (copy,) = [e for e in b.banks.list_entries(bank) if e.value == "b" * 32]
        assert a.banks.get_entry(mine.id).extra["peer_opinions"] == {"confirmed": 1}
        assert b.banks.get_entry(copy.id).extra["exchange"] == "from-a"


def test_an_echo_of_a_removed_entry_does_not_bring_it_back(
    peer: tuple[Peer, str], tmp_path: Path
) -> None:
    """A removes its own entry after B copied it but before A read B's copy back: the late
    echo must not re-create the entry (which then went round the two servers for ever)."""
    with both_ways(peer, tmp_path, prefix="echo-") as sides:
        a, b, on_a, on_b, bank = sides
        values = sides.values

        a.banks.add_entries(bank, [HashRecord("md5", f"{i:032x}") for i in range(4)])
        assert on_b.fetch_once("echo-from-a").ok  # B has copies; A has not read them back yet
        doomed = [e.id for e in a.banks.list_entries(bank) if e.value == f"{1:032x}"]
        a.banks.remove_entries(doomed)
        assert on_a.fetch_once("echo-from-b").ok  # the echo of the removed entry arrives late
        assert f"{1:032x}" not in values(a)
        for _ in range(3):
            assert on_b.fetch_once("echo-from-a").ok
            assert on_a.fetch_once("echo-from-b").ok
        want = {f"{i:032x}" for i in (0, 2, 3)}
        assert values(a) == values(b) == want
        before = {side: side.banks.list_entries(bank, limit=1000) for side in (a, b)}
        assert on_b.fetch_once("echo-from-a").added == 0
        assert on_a.fetch_once("echo-from-b").added == 0
        assert {s: s.banks.list_entries(bank, limit=1000) for s in (a, b)} == before  # settled
