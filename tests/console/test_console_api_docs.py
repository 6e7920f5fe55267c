"""/docs and /redoc come from SafeSpace itself (issue 11): no CDN, no favicon from FastAPI's
site, so they work on a server without internet and tell no third party when opened; their
files are the ones the fastapi-offline package ships, under the console's kind of headers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from console_helpers import LiveServer

from browser_helpers import record_requests
from safespace.api._docs import ASSETS

_REF = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_docs_pages_reference_no_other_host(console: Any, path: str) -> None:
    client = console.client()
    response = client.get(path)
    assert response.status_code == 200
    html = response.text
    refs = _REF.findall(html)
    assert refs, "the page loads its scripts"
    for ref in refs:
        assert ref.startswith("/"), ref
        assert not ref.startswith("//"), ref
    assert "http://" not in html
    assert "https://" not in html
    assert "<script>" not in html  # no inline script: the CSP allows only this origin's
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    for ref in refs:
        asset = client.get(ref)
        assert asset.status_code == 200, ref
        assert asset.content


def test_every_asset_is_served_with_its_type(console: Any) -> None:
    client = console.client()
    for name, media_type in ASSETS.items():
        response = client.get(f"/docs/assets/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith(media_type)
    assert client.get("/docs/assets/..%2Fcore.py").status_code == 404
    assert client.get("/docs/assets/nothing.js").status_code == 404


@pytest.mark.parametrize(
    ("path", "shown"), [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")]
)
def test_the_api_docs_render_offline_in_chromium(
    page: Any, live_server: LiveServer, path: str, shown: str
) -> None:
    seen = record_requests(page.context)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(live_server.url + path)
    title = page.locator(shown).first
    title.wait_for(timeout=30_000)
    assert "SafeSpace" in title.inner_text()
    local = (live_server.url + "/", "data:", "blob:")
    outside = [r["url"] for r in seen if not r["url"].startswith(local)]
    assert outside == [], outside
    assert [e for e in errors if "Content Security Policy" in e] == []
    assert "cdn." not in page.content()
