"""ROOST Coop's HMA client, unchanged, against SafeSpace.

Coop (github.com/roostorg/coop, ``server/services/hmaService/index.ts``, class
``HmaService``) talks to HMA at ``HMA_SERVICE_URL`` with no credentials. This test sends
the HTTP requests it sends, as it builds them (methods, paths, query strings, headers and
bodies, ``enabled_ratio`` as the string ``"1"`` included), from a network the operator
listed in ``SAFESPACE_HMA_KEYLESS_NETWORKS``, and reads the answers as Coop reads them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from api_helpers import Api, MakeApi
from fastapi.testclient import TestClient

from local_site import SiteHandler, serving
from safespace.signals import hash_bytes

ORG = "e7c89ce7729"
JSON = {"Content-Type": "application/json"}


def _hma_name(org: str, name: str) -> str:
    """Coop's ``getHmaName``: COOP_<ORG>_<NAME>, upper case, other characters to '_'."""
    normalized = re.sub(r"[^A-Z0-9_]", "_", name.upper())
    normalized = re.sub(r"_+", "_", normalized).strip("_")
    return f"COOP_{org.upper()}_{normalized}"


def _body(value: Any) -> bytes:
    """Coop's ``jsonStringify``: compact JSON."""
    return json.dumps(value, separators=(",", ":")).encode()


@pytest.fixture
def site(bridge_jpeg: bytes) -> Iterator[str]:
    class Handler(SiteHandler):
        def do_GET(self) -> None:
            if self.path == "/uploads/bridge.jpg":
                self.send(200, bridge_jpeg, "image/jpeg")
            else:
                self.send(404, b"no", "text/plain")

    with serving(Handler) as url:
        yield url


@pytest.fixture
def coop(make_api: MakeApi, site: str) -> TestClient:
    """Coop's HTTP client: a container on the platform's private network, no key."""
    api: Api = make_api(hma_keyless_networks="172.18.0.0/16", hma_url_allowlist=f"{site}/uploads/")
    return TestClient(api.client.app, base_url="http://safespace:9876", client=("172.18.0.5", 1))


def test_coop_hma_service_calls_succeed_unchanged(
    coop: TestClient, site: str, bridge_jpeg: bytes
) -> None:
    bank = _hma_name(ORG, "Test Bank")
    assert bank == f"COOP_{ORG.upper()}_TEST_BANK"

    # createBank(orgId, "Test Bank", description, 1.0): POST /c/banks, enabled_ratio a string
    created = coop.post(
        "/c/banks", headers=JSON, content=_body({"name": bank, "enabled_ratio": "1"})
    )
    assert created.is_success, created.text

    # listBanks / getBank: GET /c/bank/NAME (listBanks also sends a JSON Content-Type)
    listed = coop.get(f"/c/bank/{bank}", headers=JSON)
    assert listed.is_success, listed.text
    assert coop.get(f"/c/bank/{bank}").status_code == 200

    # updateBank(enabled_ratio): PUT /c/bank/NAME with the number
    for ratio in (0, 1):
        put = coop.put(f"/c/bank/{bank}", headers=JSON, content=_body({"enabled_ratio": ratio}))
        assert put.is_success, put.text

    # hashContentFromUrl: GET /h/hash?url=...
    url = f"{site}/uploads/bridge.jpg"
    hashed = coop.get(f"/h/hash?{urlencode({'url': url})}")
    assert hashed.is_success, hashed.text
    pdq = hash_bytes(bridge_jpeg).pdq
    assert hashed.json() == {"pdq": pdq}

    # addContentToBank with a file: multipart, the file under its content type's name, and
    # metadata as separate fields (metadata: the JSON text of its free-form object)
    files = {"photo": ("blob", bridge_jpeg, "application/octet-stream")}
    form = {
        "content_id": "item-42",
        "content_uri": "https://platform.example/items/42",
        "metadata": _body({"reporter": "user-7", "queue": "ncii"}).decode(),
    }
    added = coop.post(f"/c/bank/{bank}/content", files=files, data=form)
    assert added.is_success, added.text
    content = added.json()  # BankContentResponse: {id, signals}
    assert isinstance(content["id"], int)
    assert content["signals"] == {"pdq": pdq}
    kept = coop.get(f"/c/bank/{bank}/content/{content['id']}").json()
    assert kept["metadata"] == {
        "content_id": "item-42",
        "content_uri": "https://platform.example/items/42",
        "json": {"reporter": "user-7", "queue": "ncii"},
    }

    # addContentToBank with a URL: POST with everything in the query string, no body
    other = coop.post(
        "/c/banks", headers=JSON, content=_body({"name": f"{bank}_2", "enabled_ratio": "1"})
    )
    assert other.is_success, other.text
    params = {"url": url, "content_id": "item-43", "metadata": _body({"a": 1}).decode()}
    by_url = coop.post(f"/c/bank/{bank}_2/content?{urlencode(params)}")
    assert by_url.is_success, by_url.text
    assert coop.get(f"/c/bank/{bank}_2/content/{by_url.json()['id']}").json()["metadata"] == {
        "content_id": "item-43",
        "json": {"a": 1},
    }

    # checkImageMatchWithDetails -> lookupContent({signal, signalType}): GET /m/lookup
    looked = coop.get(f"/m/lookup?{urlencode({'signal_type': 'pdq', 'signal': pdq})}")
    assert looked.is_success, looked.text
    matches = looked.json()
    matched_banks = [b for b in (bank, "COOP_OTHER_BANK") if matches.get(b)]
    assert matched_banks == [bank]
    assert matches[bank] == [{"bank_content_id": content["id"], "distance": "0"}]

    # lookupContent({url, contentType}): GET /m/lookup?url=...&content_type=photo
    by_media = coop.get(f"/m/lookup?{urlencode({'url': url, 'content_type': 'photo'})}")
    assert by_media.is_success, by_media.text
    assert by_media.json()["pdq"][bank] == [{"bank_content_id": content["id"], "distance": "0"}]

    # updateBank with a new name: create the new bank, delete the old one
    renamed = _hma_name(ORG, "Renamed Bank")
    moved = coop.post(
        "/c/banks", headers=JSON, content=_body({"name": renamed, "enabled_ratio": "1"})
    )
    assert moved.is_success, moved.text
    assert coop.delete(f"/c/bank/{bank}").is_success

    # deleteBank: DELETE /c/bank/NAME; then getBank sees the 404 and forgets its copy
    assert coop.delete(f"/c/bank/{renamed}").is_success
    assert coop.delete(f"/c/bank/{bank}_2").is_success
    assert coop.get(f"/c/bank/{renamed}").status_code == 404
    assert coop.get(f"/m/lookup?{urlencode({'signal_type': 'pdq', 'signal': pdq})}").json() == {}
