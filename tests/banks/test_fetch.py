"""``safespace.banks.fetch_url``: media from an allowed URL, within its limits.

Served by a local web server in a thread; the API's use of it is in
tests/api/test_hma_compat.py.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from local_site import SiteHandler, serving
from safespace.banks import fetch_url, url_allowed
from safespace.banks._fetch import MAX_REDIRECTS
from safespace.errors import MediaTooLarge, UrlFetchFailed, UrlNotAllowed

BODY = b"\x89PNG not really, but bytes"
LIMIT = 1000


@pytest.fixture
def site() -> Iterator[str]:
    """Media, redirects (in, out, a loop), a 404, large bodies, and one that never answers."""
    release = threading.Event()

    class Handler(SiteHandler):
        def do_GET(self) -> None:
            base = self.base
            if self.path == "/media/a.png":
                self.send(200, BODY, "image/png")
            elif self.path == "/media/hop":
                self.redirect("a.png")  # relative, resolved against the URL
            elif self.path.startswith("/media/loop"):
                n = int(self.path.removeprefix("/media/loop") or 0)
                self.redirect(f"/media/loop{n + 1}")
            elif self.path == "/media/away":
                self.redirect(f"{base}/private/a.png")
            elif self.path == "/media/declared-big":
                self.send(200, b"x" * (LIMIT + 1), "image/png")
            elif self.path == "/media/streamed-big":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()  # no Content-Length: read until the connection closes
                self.wfile.write(b"x" * (LIMIT + 1))
                self.close_connection = True
            elif self.path == "/media/hang":
                release.wait(30)
            else:
                self.send(404, b"no", "text/plain")

    with serving(Handler) as url:
        yield url
        release.set()


def _fetch(site: str, path: str, **kw: Any) -> tuple[bytes, str]:
    options: dict[str, Any] = {"max_bytes": LIMIT, "timeout": 10.0, **kw}
    return fetch_url(f"{site}{path}", [f"{site}/media/"], **options)


def test_fetches_the_body_and_its_type(site: str) -> None:
    assert _fetch(site, "/media/a.png") == (BODY, "image/png")


def test_follows_redirects_only_to_allowed_urls_and_only_so_many(site: str) -> None:
    assert _fetch(site, "/media/hop") == (BODY, "image/png")
    with pytest.raises(UrlNotAllowed):
        _fetch(site, "/media/away")
    with pytest.raises(UrlFetchFailed, match=f"more than {MAX_REDIRECTS} times"):
        _fetch(site, "/media/loop")


def test_refuses_what_is_not_allowed_before_any_request(site: str) -> None:
    with pytest.raises(UrlNotAllowed, match="off on this server"):
        fetch_url(f"{site}/media/a.png", [], max_bytes=LIMIT, timeout=10.0)
    with pytest.raises(UrlNotAllowed):
        _fetch(site, "/private/a.png")
    with pytest.raises(UrlNotAllowed):
        fetch_url("file:///etc/passwd", ["file:///"], max_bytes=LIMIT, timeout=10.0)


def test_a_body_over_the_limit_is_refused_declared_or_streamed(site: str) -> None:
    with pytest.raises(MediaTooLarge):
        _fetch(site, "/media/declared-big")
    with pytest.raises(MediaTooLarge):
        _fetch(site, "/media/streamed-big")
    assert _fetch(site, "/media/declared-big", max_bytes=LIMIT + 1)[0] == b"x" * (LIMIT + 1)


def test_http_errors_and_unreachable_hosts_are_fetch_failures(site: str) -> None:
    with pytest.raises(UrlFetchFailed, match="HTTP 404"):
        _fetch(site, "/media/none")
    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    closed = f"http://127.0.0.1:{port}"
    with pytest.raises(UrlFetchFailed, match="cannot fetch"):
        fetch_url(f"{closed}/media/a.png", [f"{closed}/media/"], max_bytes=LIMIT, timeout=10.0)


def test_a_server_that_never_answers_is_cut_off_by_the_timeout(site: str) -> None:
    with pytest.raises(UrlFetchFailed, match=r"took over 0\.2 s"):
        _fetch(site, "/media/hang", timeout=0.2)


def test_allowed_urls_share_scheme_host_port_and_path_prefix() -> None:
    prefixes = ["https://cdn.example.com/media/"]
    assert url_allowed("https://cdn.example.com/media/sub/a.jpg", prefixes)
    assert not url_allowed("https://cdn.example.com/mediaX/a.jpg", prefixes)
    assert not url_allowed("ftp://cdn.example.com/media/a.jpg", ["ftp://cdn.example.com/"])
    assert not url_allowed("https://cdn.example.com/media/a.jpg", ["not a url ::"])
