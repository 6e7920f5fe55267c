"""``POST /v1/banks/{name}/import`` and ``/imports`` without ``format``: the upload's file
name ``*.urls-sha256`` makes a hashed URL list, not an HMA PDQ list. Placeholder data only."""

from __future__ import annotations

import hashlib
from typing import Any

from api_helpers import Api, poll, problem

from safespace.signals import URL_SHA256

DIGEST = hashlib.sha256(b"example.org/listed/page.html").hexdigest()


def test_import_detects_a_hashed_url_list_by_its_file_name(api: Api) -> None:
    api.post("/v1/banks", json={"name": "hashed"})
    files = {"file": ("hotline.urls-sha256", f"{DIGEST}\n".encode(), "text/plain")}
    response = api.post("/v1/banks/hashed/import", "curate", files=files)
    assert response.status_code == 200, response.text
    assert response.json()["added"] == 1
    assert api.get("/v1/banks/hashed").json()["entry_counts"] == {URL_SHA256.name: 1}


def test_a_queued_import_detects_it_too(api: Api) -> None:
    api.post("/v1/banks", json={"name": "hashed"})
    files = {"file": ("hotline.urls-sha256", f"{DIGEST}\n".encode(), "text/plain")}
    queued = api.post("/v1/banks/hashed/imports", "curate", files=files)
    assert queued.status_code == 202, queued.text
    url = f"/v1/import-jobs/{queued.json()['id']}"
    seen: dict[str, Any] = {}

    def done() -> bool:
        seen.update(api.get(url, "curate").json())
        return seen["status"] in ("succeeded", "failed")

    assert poll(done, 30), seen
    assert seen["status"] == "succeeded", seen
    assert seen["format"] == "urls-sha256"
    assert api.get("/v1/banks/hashed").json()["entry_counts"] == {URL_SHA256.name: 1}


def test_an_undetectable_upload_is_refused(api: Api) -> None:
    api.post("/v1/banks", json={"name": "b"})
    files = {"file": ("list.bin", b"not a list at all\n", "text/plain")}
    problem(api.post("/v1/banks/b/import", files=files), 422, "import-rejected")
