"""The ``list`` source: a hash list at a URL (or a path), refetched with ETag and
Last-Modified, each copy applied as a diff against the last one."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from source_contract import MemoryBank, SourceContract

from local_site import SiteHandler, serving
from safespace.errors import SourceUnavailable
from safespace.exchanges import BankSource, get_source_type


class ListSite:
    """An HMA-format list served over HTTP with an ETag; it can cut its next answer short."""

    def __init__(self) -> None:
        self.lines: dict[str, str] = {}
        self.broken = False
        self.lock = threading.Lock()
        self.requests: list[dict[str, str]] = []
        self._next = 0

    def publish(self, count: int) -> None:
        for _ in range(count):
            self._next += 1
            self.lines[f"e{self._next}"] = hashlib.md5(f"list {self._next}".encode()).hexdigest()

    def withdraw(self, count: int) -> None:
        for key in list(self.lines)[:count]:
            del self.lines[key]

    def live(self) -> dict[str, tuple[str, str]]:
        return {f"md5:{v}": ("md5", v) for v in self.lines.values()}

    def break_next_page(self) -> None:
        self.broken = True

    def opinions(self) -> list[tuple[str, str]]:
        return []

    def body(self) -> bytes:
        return "".join(f"video_md5 {v}\n" for v in self.lines.values()).encode()


@pytest.fixture
def site() -> Iterator[tuple[ListSite, str]]:
    state = ListSite()

    class Handler(SiteHandler):
        def do_GET(self) -> None:
            state.requests.append(dict(self.headers))
            body = state.body()
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if state.broken:
                state.broken = False
                self.send_response(200)
                self.send_header("Content-Length", str(len(body) + 40))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

    with serving(Handler) as base:
        yield state, f"{base}/list.txt"


def make(url: str, **config: object) -> BankSource:
    cls = get_source_type("list")
    return cls(cls.parse_config({"url": url, **config}), {}, httpx.Client(timeout=10))


class TestListSource(SourceContract):
    @pytest.fixture
    def upstream(self, site: tuple[ListSite, str]) -> ListSite:
        return site[0]

    @pytest.fixture
    def make_source(self, site: tuple[ListSite, str]) -> Callable[[], BankSource]:
        return lambda: make(site[1])


def test_an_unchanged_list_is_not_fetched_again(site: tuple[ListSite, str]) -> None:
    state, url = site
    state.publish(3)
    bank = MemoryBank()
    bank.sync(make(url))
    pages = bank.pages
    bank.sync(make(url))
    assert bank.pages == pages  # 304: nothing to apply
    assert state.requests[-1].get("If-None-Match", "").startswith('"')


def test_a_list_at_a_path(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text("video_md5 " + "a" * 32 + "\npdq " + "f" * 64 + "\n")
    bank = MemoryBank()
    bank.sync(make(str(path)))
    assert set(bank.entries) == {"md5:" + "a" * 32, "pdq:" + "f" * 64}
    path.write_text("video_md5 " + "a" * 32 + "\n")
    bank.sync(make(str(path)))
    assert set(bank.entries) == {"md5:" + "a" * 32}


def test_a_list_that_is_not_a_list_is_a_transient_fault(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_text("this is not a hash list\n")
    with pytest.raises(SourceUnavailable):
        MemoryBank().sync(make(str(path), format="hma"))
    with pytest.raises(SourceUnavailable):
        MemoryBank().sync(make(str(tmp_path / "missing.txt")))
