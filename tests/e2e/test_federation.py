"""Two real ``safespace serve`` processes (separate data folders) share a bank both ways
through their exchange-fetch tasks, across kill -9 of one of them, mid-fetch included:
nothing lost, nothing doubled."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_helpers import poll
from sqlalchemy import func, select

from app_factory import free_port, start_safespace, stop_group
from safespace.access import KeyService
from safespace.banks import BankService
from safespace.banks.formats import HashRecord
from safespace.exchanges import ExchangeService, Opinion, Verdict
from safespace.store import Database, open_database
from safespace.store._models_exchanges import ExchangeEntry

EVIDENCE_KEY = base64.b64encode(bytes(range(1, 33))).decode()
START_SECONDS = 120.0


class Side:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db: Database = open_database(f"sqlite:///{folder / 'safespace.db'}")
        self.banks = BankService(self.db)
        self.banks.create_bank("common")
        self.key = KeyService(self.db).create("exchange", name="peer")[1]
        self.exchanges = ExchangeService(self.db, master_key=base64.b64decode(EVIDENCE_KEY))
        self.proc: subprocess.Popen[Any] | None = None

    def start(self) -> None:
        self.proc = start_safespace(
            ["serve", "--port", str(self.port)], self.folder,
            {"SAFESPACE_EVIDENCE_KEY": EVIDENCE_KEY},
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

        def ready() -> bool:
            try:
                return httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        assert poll(ready, START_SECONDS), f"server on {self.url} did not start"

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)

    def values(self) -> list[str]:
        return sorted(e.value for e in self.banks.list_entries("common", limit=10_000))

    def mapped(self) -> int:
        with self.db.session() as s:
            count = s.scalar(select(func.count()).select_from(ExchangeEntry))
        return int(count or 0)


def records(start: int, count: int) -> list[HashRecord]:
    return [HashRecord("md5", f"{i:032x}") for i in range(start, start + count)]


@contextmanager
def two_sides(tmp_path: Path) -> Iterator[tuple[Side, Side]]:
    a, b = Side(tmp_path / "a"), Side(tmp_path / "b")
    a.exchanges.add("from-b", type="safespace", bank="common", interval_seconds=1,
                    config={"url": b.url, "remote_bank": "common", "page_size": 500},
                    credentials={"api_key": b.key})  # fmt: skip
    b.exchanges.add("from-a", type="safespace", bank="common", interval_seconds=1,
                    config={"url": a.url, "remote_bank": "common", "page_size": 500},
                    credentials={"api_key": a.key})  # fmt: skip
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        for side in (a, b):
            if side.proc is not None:
                stop_group(side.proc)
            side.db.close()


@pytest.mark.slow
def test_two_servers_federate_across_kill_9(tmp_path: Path) -> None:
    with two_sides(tmp_path) as (a, b):
        a.banks.add_entries("common", records(0, 50))
        b.banks.add_entries("common", records(1000, 20))

        def same(n: int) -> bool:
            return len(a.values()) == n and a.values() == b.values()

        assert poll(lambda: same(70), START_SECONDS), (len(a.values()), len(b.values()))

        b.kill()  # while nothing is fetching
        a.banks.add_entries("common", records(50, 30))
        doomed = [e.id for e in a.banks.list_entries("common", limit=5)]
        a.banks.remove_entries(doomed)
        b.start()
        assert poll(lambda: same(95), START_SECONDS), (len(a.values()), len(b.values()))

        a.banks.add_entries("common", records(10_000, 6000))  # several pages for b to fetch
        assert poll(lambda: len(b.values()) > 95, START_SECONDS)
        b.kill()  # mid-fetch: pages committed so far stay, the rest come after the restart
        b.start()
        assert poll(lambda: same(6095), START_SECONDS), (len(a.values()), len(b.values()))
        assert b.mapped() == 6095  # each of a's entries mapped once, none twice

        (copy,) = [e for e in b.banks.list_entries("common") if e.value == f"{5:032x}"]
        upstream = copy.extra["upstream_id"]
        opinion = Opinion(upstream, "md5", copy.value, Verdict.CONFIRMED, None, datetime.now(UTC))
        b.exchanges.send_opinion("from-a", opinion)
        b.exchanges.send_opinion("from-a", opinion)  # a resend counts once
        assert a.banks.get_entry(int(upstream)).extra["peer_opinions"] == {"confirmed": 1}
