"""The HMA-compatible routes: HMA's paths and shapes, SafeSpace's keys and problem errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from api_helpers import Api, MakeApi, problem

from local_site import SiteHandler, serving
from safespace.banks import url_allowed
from safespace.signals import hash_bytes

MD5 = "0123456789abcdef" * 2


def _flip(pdq: str, bits: int) -> str:
    value = int(pdq, 16) ^ ((1 << bits) - 1)
    return f"{value:064x}"


def _put(api: Api, url: str, json: dict[str, Any]) -> Any:
    return api.client.put(url, headers=api.as_("curate"), json=json)


def _photo(data: bytes, name: str = "photo") -> dict[str, Any]:
    return {name: ("upload.jpg", data, "image/jpeg")}


@pytest.fixture
def site(bridge_jpeg: bytes) -> Iterator[str]:
    """A local web server: an image, redirects, a 404 and a large file."""

    class Handler(SiteHandler):
        def do_GET(self) -> None:
            base = self.base
            if self.path == "/media/bridge.jpg":
                self.send(200, bridge_jpeg, "image/jpeg")
            elif self.path == "/media/hop":
                self.redirect("/media/bridge.jpg")
            elif self.path == "/media/away":
                self.redirect(f"{base}/private/bridge.jpg")
            elif self.path == "/media/big.jpg":
                self.send(200, b"\xff" * (len(bridge_jpeg) + 5000), "image/jpeg")
            elif self.path == "/media/page":
                self.send(200, b"<html></html>", "text/html")
            else:
                self.send(404, b"no", "text/plain")

    with serving(Handler) as url:
        yield url


def test_curate_then_lookup_like_hma(api: Api, bridge_jpeg: bytes) -> None:
    pdq = hash_bytes(bridge_jpeg).pdq
    assert pdq is not None
    created = api.post("/c/banks", "curate", json={"name": "HMA_BANK"})
    assert created.status_code == 201, created.text
    assert created.json() == {"name": "HMA_BANK", "matching_enabled_ratio": 1.0}
    assert api.get("/c/banks", "curate").json() == [created.json()]
    added = api.post("/c/bank/HMA_BANK/signal", "curate", json={"pdq": pdq.upper()})
    assert added.status_code == 200, added.text
    body = added.json()
    assert body["signals"] == {"pdq": pdq}
    content_id = body["id"]
    md5_id = api.post("/c/bank/HMA_BANK/signal", json={"video_md5": MD5}).json()["id"]

    near = api.get("/m/lookup", "match", params={"signal_type": "pdq", "signal": _flip(pdq, 5)})
    assert near.status_code == 200, near.text
    assert near.json() == {"HMA_BANK": [{"bank_content_id": content_id, "distance": "5"}]}
    exact = api.get("/m/lookup", "match", params={"signal_type": "video_md5", "signal": MD5})
    assert exact.json() == {"HMA_BANK": [{"bank_content_id": md5_id, "distance": "0"}]}
    far = api.get("/m/lookup", "match", params={"signal_type": "pdq", "signal": _flip(pdq, 64)})
    assert far.json() == {}
    raw = api.get("/m/raw_lookup", "match", params={"signal_type": "pdq", "signal": pdq})
    assert raw.json() == {"matches": [content_id]}
    raw = api.get(
        "/m/raw_lookup",
        "match",
        params={"signal_type": "pdq", "signal": pdq, "include_distance": "true"},
    )
    assert raw.json() == {"matches": [{"bank_content_id": content_id, "distance": "0"}]}

    uploaded = api.post("/m/lookup", "match", files=_photo(bridge_jpeg)).json()
    assert uploaded == {"pdq": {"HMA_BANK": [{"bank_content_id": content_id, "distance": "0"}]}}

    off = _put(api, "/c/bank/HMA_BANK", json={"enabled": False})
    assert off.json() == {"name": "HMA_BANK", "matching_enabled_ratio": 0.0}
    assert api.get("/m/lookup", "match", params={"signal_type": "pdq", "signal": pdq}).json() == {}
    _put(api, "/c/bank/HMA_BANK", json={"enabled_ratio": 1})
    assert api.get("/c/bank/HMA_BANK").json()["matching_enabled_ratio"] == 1.0

    gone = api.delete(f"/c/bank/HMA_BANK/content/{content_id}", "curate")
    assert gone.json() == {"deleted": 1}
    assert api.delete(f"/c/bank/HMA_BANK/content/{content_id}").json() == {"deleted": 0}
    assert api.get("/m/lookup", "match", params={"signal_type": "pdq", "signal": pdq}).json() == {}
    assert api.delete("/c/bank/HMA_BANK", "curate").json() == {"message": "Done"}
    assert api.delete("/c/bank/HMA_BANK").json() == {"message": "Done"}
    assert api.get("/c/banks").json() == []


def test_hash_and_bank_content_from_upload(api: Api, bridge_jpeg: bytes) -> None:
    signals = hash_bytes(bridge_jpeg)
    hashed = api.post("/h/hash", "match", files=_photo(bridge_jpeg))
    assert hashed.status_code == 200, hashed.text
    assert hashed.json() == {"pdq": signals.pdq}
    every = api.post("/h/hash", "match", files=_photo(bridge_jpeg), params={"types": "pdq,sha256"})
    assert every.json() == {"pdq": signals.pdq, "sha256": signals.sha256}
    api.post("/c/banks", json={"name": "B"})
    banked = api.post("/c/bank/B/content", "curate", files=_photo(bridge_jpeg)).json()
    assert banked["signals"] == {"pdq": signals.pdq}
    found = api.get("/m/lookup", "match", params={"signal_type": "pdq", "signal": signals.pdq})
    assert found.json() == {"B": [{"bank_content_id": banked["id"], "distance": "0"}]}


def test_allow_banks_suppress_hma_lookups(api: Api) -> None:
    api.post("/c/banks", json={"name": "B"})
    api.post("/v1/banks", json={"name": "ok", "kind": "allow"})
    api.post("/c/bank/B/signal", json={"video_md5": MD5})
    query = {"signal_type": "video_md5", "signal": MD5}
    assert api.get("/m/lookup", params=query).json() != {}
    api.post("/c/bank/ok/signal", json={"video_md5": MD5})
    assert api.get("/m/lookup", params=query).json() == {}


def test_bad_inputs_are_problems(api: Api, flat_png: bytes) -> None:
    api.post("/c/banks", json={"name": "B"})
    lookup = "/m/lookup"
    problem(api.get(lookup, params={"signal_type": "pdq", "signal": "abc"}), 400, "invalid-signal")
    problem(api.get(lookup, params={"signal_type": "tmk", "signal": MD5}), 400, "invalid-signal")
    problem(api.get(lookup, params={"signal": MD5}), 400, "invalid-signal")
    problem(
        api.get(lookup, params={"signal_type": "video_md5", "signal": MD5, "banks": "nope"}),
        404,
        "bank-not-found",
    )
    problem(api.get(lookup, params={"url": "http://example.com/a.jpg"}), 400, "url-not-allowed")
    problem(api.post("/c/bank/nope/signal", json={"pdq": "f" * 64}), 404, "bank-not-found")
    problem(api.post("/c/bank/B/signal", json={}), 400, "invalid-signal")
    problem(api.post("/c/bank/B/signal", json={"pdq": "xyz"}), 400, "invalid-signal")
    problem(api.post("/c/bank/B/signal", json={"pdq": 5}), 400, "invalid-signal")
    problem(api.post("/c/bank/B/signal", json={"tmk": MD5}), 400, "invalid-signal")
    problem(api.get("/c/bank/nope"), 404, "bank-not-found")
    problem(api.post("/c/banks", json={"name": "B"}), 409, "bank-exists")
    problem(api.post("/c/banks", json={"name": "C", "enabled_ratio": 0.5}), 400, "invalid-input")
    problem(api.post("/c/banks", json={"name": "bad name"}), 400, "invalid-input")
    problem(_put(api, "/c/bank/B", json={"name": "D"}), 400, "invalid-input")
    problem(api.post("/h/hash", files=_photo(flat_png, "file")), 400, "invalid-input")
    problem(api.post("/h/hash", json={"x": 1}), 400, "unsupported-media")
    problem(api.post("/c/bank/B/content", files=_photo(flat_png)), 400, "invalid-signal")
    problem(api.get("/c/banks", "match"), 403, "forbidden")
    problem(
        api.get(lookup, "curate", params={"signal_type": "pdq", "signal": "f" * 64}),
        403,
        "forbidden",
    )
    problem(api.client.get("/m/lookup"), 401, "unauthenticated")


def test_url_allowlist_rules() -> None:
    prefixes = ["https://cdn.example.com/media/"]
    assert url_allowed("https://cdn.example.com/media/a.jpg", prefixes)
    assert not url_allowed("http://cdn.example.com/media/a.jpg", prefixes)
    assert not url_allowed("https://cdn.example.com.evil.net/media/a.jpg", prefixes)
    assert not url_allowed("https://cdn.example.com:8443/media/a.jpg", prefixes)
    assert not url_allowed("https://cdn.example.com/other/a.jpg", prefixes)
    assert not url_allowed("https://user:pw@cdn.example.com/media/a.jpg", prefixes)
    assert not url_allowed("file:///etc/passwd", ["file:///"])
    assert not url_allowed("not a url", prefixes)


def test_fetch_by_url(make_api: MakeApi, site: str, bridge_jpeg: bytes) -> None:
    api = make_api(hma_url_allowlist=f"{site}/media/", max_media_bytes=len(bridge_jpeg) + 1000)
    pdq = hash_bytes(bridge_jpeg).pdq
    hashed = api.get("/h/hash", "match", params={"url": f"{site}/media/bridge.jpg"})
    assert hashed.status_code == 200, hashed.text
    assert hashed.json() == {"pdq": pdq}
    assert api.get("/h/hash", params={"url": f"{site}/media/hop"}).json() == {"pdq": pdq}
    api.post("/c/banks", json={"name": "B"})
    entry = api.post("/c/bank/B/signal", json={"pdq": pdq}).json()["id"]
    looked = api.get("/m/lookup", "match", params={"url": f"{site}/media/bridge.jpg"})
    assert looked.json() == {"pdq": {"B": [{"bank_content_id": entry, "distance": "0"}]}}
    only = api.get("/m/lookup", params={"url": f"{site}/media/hop", "signal_type": "pdq"})
    assert only.json() == {"B": [{"bank_content_id": entry, "distance": "0"}]}

    problem(api.get("/h/hash", params={"url": f"{site}/private/x.jpg"}), 400, "url-not-allowed")
    problem(api.get("/h/hash", params={"url": f"{site}/media/away"}), 400, "url-not-allowed")
    problem(api.get("/h/hash", params={"url": f"{site}/media/none"}), 400, "url-fetch-failed")
    problem(api.get("/h/hash", params={"url": f"{site}/media/big.jpg"}), 413, "media-too-large")
    problem(api.get("/h/hash", params={"url": f"{site}/media/page"}), 400, "unsupported-media")
    problem(
        api.get("/h/hash", params={"url": f"{site}/media/bridge.jpg", "content_type": "audio"}),
        400,
        "invalid-input",
    )
