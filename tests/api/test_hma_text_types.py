"""HMA's ``url`` signal type (python-threatexchange's URLSignal) on the HMA surface: added to a
bank by ``/c/bank/{name}/signal``, looked up by ``/m/lookup`` and ``/m/raw_lookup`` as a link in
a post is (canonicalised, host-suffix and path-prefix expressions, plain and hashed lists).
Placeholder data only (example.org)."""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from api_helpers import Api

from safespace.signals import URL, URL_SHA256

LISTED = "https://example.org/listed/page.html"
HMA_URL = URL.exchange_name("threatexchange")


def _lookup(api: Api, path: str, signal: str, **more: str) -> dict[str, object]:
    query = urlencode({"signal_type": HMA_URL, "signal": signal, **more})
    response = api.get(f"{path}?{query}", "match")
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_hma_url_signals_are_added_and_looked_up_as_links(api: Api) -> None:
    assert HMA_URL is not None
    assert api.post("/c/banks", json={"name": "URL_LIST"}).status_code == 201
    added = api.post("/c/bank/URL_LIST/signal", "curate", json={HMA_URL: LISTED})
    assert added.status_code == 200, added.text
    entry = added.json()["id"]
    expression = URL.normalize(LISTED)
    digest = hashlib.sha256(expression.encode()).hexdigest()
    assert api.post("/v1/banks", json={"name": "HASHED"}).is_success
    hashed = [{"signal_type": URL_SHA256.name, "value": digest}]
    assert api.post("/v1/banks/HASHED/entries", json={"entries": hashed}).status_code == 201
    api.state.matcher.refresh_now()

    for seen in (
        LISTED,
        "https://www.example.org/listed/page.html?ref=2#top",
        "http://EXAMPLE.org:80/listed/./page.html",
    ):
        found = _lookup(api, "/m/lookup", seen)
        assert set(found) == {"URL_LIST", "HASHED"}, (seen, found)
        assert found["URL_LIST"] == [{"bank_content_id": entry, "distance": "0"}]
    assert _lookup(api, "/m/lookup", "https://example.org/other/page.html") == {}
    assert _lookup(api, "/m/lookup", LISTED, banks="HASHED").keys() == {"HASHED"}
    raw = _lookup(api, "/m/raw_lookup", "https://www.example.org/listed/page.html?x=1")
    assert entry in raw["matches"]  # type: ignore[operator]
    assert len(raw["matches"]) == 2  # type: ignore[arg-type]


def test_a_url_signal_that_is_not_a_url_is_refused(api: Api) -> None:
    api.state.matcher.refresh_now()
    query = urlencode({"signal_type": HMA_URL, "signal": "no host here"})
    assert api.get(f"/m/lookup?{query}", "match").status_code == 400
