"""Browser fixtures: Debian's Chromium driven by Playwright, and a local static server.

The browser is launched once per session from ``/usr/bin/chromium`` (never a downloaded
build). Without it the browser tests skip, except under ``CI=true``, where they fail: CI
installs Chromium. Pages come from an ``http.server`` on 127.0.0.1 in a thread, serving the
library's ``static/js``, the test data (tests/data) and pages the tests write; every other request
is aborted, so nothing leaves the machine.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from datafiles import TESTDATA

STATIC_JS = Path(__file__).resolve().parents[2] / "src" / "safespace" / "web" / "static" / "js"

HARNESS_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>SafeSpace hashing harness</title>
<link rel="icon" href="data:,">
<script src="/js/pdq.js"></script><script src="/js/md5.js"></script>
<script src="/js/png.js"></script><script src="/js/hashing.js"></script></head>
<body><p>harness</p></body></html>
"""

DEMO_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hash a photo on this device</title>
<link rel="icon" href="data:,">
<script src="/js/pdq.js"></script><script src="/js/md5.js"></script>
<script src="/js/png.js"></script><script src="/js/hashing.js"></script></head>
<body>
<h1>Hash a photo or video on this device</h1>
<p>Your file stays on this device. Only its fingerprints (hashes) are shown below.</p>
<input id="file" type="file" accept="image/*,video/*" multiple>
<table id="out"><thead><tr><th>File</th><th>PDQ</th><th>Quality</th><th>MD5</th></tr></thead>
<tbody></tbody></table>
<p id="status"></p>
<script>
const input = document.getElementById("file");
const body = document.querySelector("#out tbody");
window.demoResults = [];
input.addEventListener("change", async () => {
  document.getElementById("status").textContent = "hashing";
  for (const file of input.files) {
    const r = await SafeSpaceHashing.hashFile(file);
    r.name = file.name;
    window.demoResults.push(r);
    const row = body.insertRow();
    for (const v of [file.name, r.pdq || r.error || "(video: no PDQ)", r.pdq_quality, r.md5]) {
      row.insertCell().textContent = v === null ? "" : String(v);
    }
  }
  document.getElementById("status").textContent = "done";
});
</script>
</body></html>
"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves /js/ from the library, /testdata/ from tests/data, the rest from pages."""

    extensions_map = {  # noqa: RUF012 - the base class declares it as a plain dict
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
    }

    def __init__(self, *args: Any, pages: Path, **kwargs: Any) -> None:
        self.pages = pages
        super().__init__(*args, directory=str(pages), **kwargs)

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0].split("#", 1)[0]
        for prefix, folder in (("/js/", STATIC_JS), ("/testdata/", TESTDATA)):
            if clean.startswith(prefix):
                target = (folder / clean[len(prefix) :]).resolve()
                if folder.resolve() in target.parents:
                    return str(target)
                return str(self.pages / "missing")
        return super().translate_path(path)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass(frozen=True)
class Site:
    """The local server: its base URL and the folder whose files it serves as pages."""

    url: str
    pages: Path


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    pages = tmp_path_factory.mktemp("pages")
    (pages / "harness.html").write_text(HARNESS_HTML, encoding="utf-8")
    (pages / "demo.html").write_text(DEMO_HTML, encoding="utf-8")
    handler = functools.partial(_Handler, pages=pages)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_address[1]}", pages)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser(chromium_browser: Any) -> Any:
    """The session's one browser (tests/conftest.py)."""
    return chromium_browser


def _local_only(site: Site) -> Any:
    def route(r: Any) -> None:
        if r.request.url.startswith(site.url + "/"):
            r.continue_()
        else:
            r.abort()

    return route


@pytest.fixture(scope="module")
def harness(browser: Any, site: Site) -> Iterator[Any]:
    """A page with the hashing library loaded, shared by the tests of one module."""
    context = browser.new_context()
    context.route("**/*", _local_only(site))
    page = context.new_page()
    page.goto(f"{site.url}/harness.html")
    page.wait_for_function("() => !!(window.SafeSpacePDQ && window.SafeSpaceHashing)")
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def fresh_page(browser: Any, site: Site) -> Iterator[Any]:
    """A page in a new browser context with no route set (tests record its requests)."""
    context = browser.new_context()
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
