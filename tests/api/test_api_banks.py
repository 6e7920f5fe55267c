"""``/v1/banks`` and ``/v1/entries``: curation, paging, imports, and freshness across handles."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from api_helpers import Api, MakeApi, poll, problem

from safespace.banks import BankService
from safespace.banks.formats import HashRecord
from safespace.signals import hash_bytes
from safespace.store import open_database

PDQ_A = "f" * 64
MD5_A = "0123456789abcdef" * 2


def _md5(i: int) -> str:
    return f"{i:032x}"


def test_bank_lifecycle(api: Api) -> None:
    created = api.post(
        "/v1/banks", "curate", json={"name": "hotline-a", "pdq_distance": 20, "description": "d"}
    )
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/v1/banks/hotline-a"
    bank = created.json()
    assert (bank["name"], bank["kind"], bank["pdq_distance"], bank["enabled"]) == (
        "hotline-a",
        "normal",
        20,
        True,
    )
    assert [b["name"] for b in api.get("/v1/banks", "curate").json()["banks"]] == ["hotline-a"]
    assert api.get("/v1/banks/hotline-a", "curate").json()["description"] == "d"
    changed = api.patch(
        "/v1/banks/hotline-a", "curate", json={"enabled": False, "kind": "allow", "pdq_distance": 8}
    ).json()
    assert (changed["enabled"], changed["kind"], changed["pdq_distance"]) == (False, "allow", 8)
    assert api.delete("/v1/banks/hotline-a", "curate").status_code == 204
    problem(api.get("/v1/banks/hotline-a", "curate"), 404, "bank-not-found")
    assert api.get("/v1/banks", "curate").json()["banks"] == []


def test_bad_bank_requests(api: Api) -> None:
    assert api.post("/v1/banks", json={"name": "b"}).status_code == 201
    problem(api.post("/v1/banks", json={"name": "b"}), 409, "bank-exists")
    problem(api.post("/v1/banks", json={"name": "no spaces"}), 400, "invalid-input")
    problem(api.post("/v1/banks", json={"name": "c", "kind": "block"}), 400, "invalid-input")
    problem(api.post("/v1/banks", json={"name": "c", "pdq_distance": 129}), 400, "invalid-input")
    problem(api.post("/v1/banks", json={"name": "c", "pdq_distance": "3"}), 422, "invalid-request")
    problem(api.post("/v1/banks", json={"name": "c", "colour": 1}), 422, "invalid-request")
    problem(api.post("/v1/banks", json={}), 422, "invalid-request")
    problem(api.patch("/v1/banks/b", json={"enabled": 1}), 422, "invalid-request")
    problem(api.patch("/v1/banks/nope", json={"enabled": False}), 404, "bank-not-found")
    problem(api.delete("/v1/banks/nope"), 404, "bank-not-found")
    assert [b["name"] for b in api.get("/v1/banks").json()["banks"]] == ["b"]


def test_entries_json_paging_and_changes(api: Api) -> None:
    api.post("/v1/banks", json={"name": "b"})
    entries = [{"signal_type": "md5", "value": _md5(i), "note": f"n{i}"} for i in range(25)]
    entries.append({"signal_type": "photo_pdq", "value": PDQ_A.upper(), "source": "s"})
    added = api.post("/v1/banks/b/entries", "curate", json={"entries": entries})
    assert added.status_code == 201, added.text
    body = added.json()
    assert (body["added"], body["duplicates"], len(body["entries"])) == (26, 0, 26)
    again = api.post("/v1/banks/b/entries", json={"entries": entries[:3]}).json()
    assert (again["added"], again["duplicates"]) == (0, 3)

    page = api.get("/v1/banks/b/entries", params={"offset": 20, "limit": 10}).json()
    assert page["total"] == 26
    assert len(page["entries"]) == 6
    only = api.get("/v1/banks/b/entries", params={"signal_type": "pdq"}).json()
    assert only["total"] == 1
    assert only["entries"][0]["value"] == PDQ_A
    problem(api.get("/v1/banks/b/entries", params={"signal_type": "sha1"}), 400, "invalid-signal")
    problem(api.get("/v1/banks/b/entries", params={"limit": 0}), 422, "invalid-request")
    problem(api.get("/v1/banks/b/entries", params={"offset": -1}), 422, "invalid-request")
    problem(api.get("/v1/banks/nope/entries"), 404, "bank-not-found")

    entry_id = only["entries"][0]["id"]
    assert api.get(f"/v1/entries/{entry_id}").json()["source"] == "s"
    assert api.patch(f"/v1/entries/{entry_id}", json={"enabled": False}).json()["enabled"] is False
    pdq_query = {"signals": {"pdq": PDQ_A}}
    assert api.post("/v1/match", json=pdq_query).json()["matched"] is False
    assert api.patch(f"/v1/entries/{entry_id}", json={"enabled": True}).json()["enabled"] is True
    assert api.post("/v1/match", json=pdq_query).json()["matched"] is True
    problem(api.patch(f"/v1/entries/{entry_id}", json={"enabled": "no"}), 422, "invalid-request")
    assert api.delete(f"/v1/entries/{entry_id}").status_code == 204
    assert api.post("/v1/match", json=pdq_query).json()["matched"] is False
    problem(api.delete(f"/v1/entries/{entry_id}"), 404, "not-found")
    problem(api.get(f"/v1/entries/{entry_id}"), 404, "not-found")
    problem(api.patch("/v1/entries/999999", json={"enabled": True}), 404, "not-found")


def test_a_bad_hash_refuses_the_whole_batch(api: Api) -> None:
    api.post("/v1/banks", json={"name": "b"})
    entries = [
        {"signal_type": "md5", "value": _md5(1)},
        {"signal_type": "md5", "value": "not-hex"},
    ]
    problem(api.post("/v1/banks/b/entries", json={"entries": entries}), 400, "invalid-signal")
    wrong_type = [{"signal_type": "sha1", "value": "a" * 40}]
    problem(api.post("/v1/banks/b/entries", json={"entries": wrong_type}), 400, "invalid-signal")
    problem(api.post("/v1/banks/b/entries", json={"entries": []}), 422, "invalid-request")
    long_source = [{"signal_type": "md5", "value": _md5(2), "source": "s" * 300}]
    problem(api.post("/v1/banks/b/entries", json={"entries": long_source}), 400, "invalid-signal")
    unknown = [{"signal_type": "md5", "value": _md5(1)}]
    problem(api.post("/v1/banks/nope/entries", json={"entries": unknown}), 404, "bank-not-found")
    assert api.get("/v1/banks/b/entries").json()["total"] == 0


def test_add_a_file_to_a_bank(api: Api, bridge_jpeg: bytes, flat_png: bytes) -> None:
    api.post("/v1/banks", json={"name": "b"})
    response = api.upload("/v1/banks/b/entries", bridge_jpeg, "curate", note="from upload")
    assert response.status_code == 201, response.text
    body = response.json()
    signals = hash_bytes(bridge_jpeg)
    stored = {(e["signal_type"], e["value"], e["note"]) for e in body["entries"]}
    assert stored == {
        ("pdq", signals.pdq, "from upload"),
        ("md5", signals.md5, "from upload"),
        ("sha256", signals.sha256, "from upload"),
    }
    assert api.upload("/v1/match", bridge_jpeg).json()["matched"] is True
    flat = api.upload("/v1/banks/b/entries", flat_png).json()
    assert [s["signal_type"] for s in flat["skipped"]] == ["pdq"]
    assert {e["signal_type"] for e in flat["entries"]} == {"md5", "sha256"}
    problem(api.upload("/v1/banks/b/entries", b"text, not media"), 415, "unsupported-media")
    problem(api.upload("/v1/banks/nope/entries", bridge_jpeg), 404, "bank-not-found")
    problem(api.upload("/v1/banks/b/entries", bridge_jpeg, colour="x"), 422, "invalid-request")
    assert api.get("/v1/banks/b").json()["entry_count"] == 5


HMA_GOOD = f"pdq {PDQ_A}\nmd5 {MD5_A}\n".encode()
HMA_BAD = f"pdq {PDQ_A}\nmd5 nothex\nmd5 {_md5(9)}\n".encode()


def test_import_lists(api: Api) -> None:
    api.post("/v1/banks", json={"name": "b"})
    files = {"file": ("list.txt", HMA_GOOD, "text/plain")}
    response = api.post("/v1/banks/b/import", "curate", files=files, data={"format": "hma"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["added"], body["duplicates"], body["rejected"]) == (2, 0, 0)
    assert api.post("/v1/match", json={"signals": {"md5": MD5_A}}).json()["matched"] is True
    again = api.post("/v1/banks/b/import", files=files).json()  # format detected
    assert (again["added"], again["duplicates"]) == (0, 2)

    refused = api.post("/v1/banks/b/import", files={"file": ("l.txt", HMA_BAD, "text/plain")})
    body = problem(refused, 422, "import-rejected")
    assert [r["line"] for r in body["rejects"]] == [2]
    assert body["rejects_total"] == 1
    assert api.get("/v1/banks/b").json()["entry_count"] == 2  # nothing written

    skipped = api.post(
        "/v1/banks/b/import",
        files={"file": ("l.txt", HMA_BAD, "text/plain")},
        data={"skip_invalid": "true"},
    ).json()
    assert (skipped["added"], skipped["duplicates"], skipped["rejected"]) == (1, 1, 1)
    assert skipped["rejects"][0]["line"] == 2


def test_bad_imports(make_api: MakeApi) -> None:
    api = make_api(max_import_bytes=4096)
    api.post("/v1/banks", json={"name": "b"})

    def send(data: bytes, **fields: str) -> object:
        return api.post(
            "/v1/banks/b/import", files={"file": ("x", data, "text/plain")}, data=fields
        )

    problem(send(b"\xff\xfe\x00garbage\x00" * 10), 422, "import-rejected")
    problem(send(HMA_GOOD, format="xlsx"), 400, "invalid-input")
    problem(send(HMA_GOOD, skip_invalid="perhaps"), 422, "invalid-request")
    problem(send(b"<root><unclosed>", format="ncmec"), 422, "import-rejected")
    body = problem(send(b"md5 " + b"0" * 32 + b"\n" * 5000), 413, "request-too-large")
    assert "max_import_bytes" in body["detail"]
    problem(api.post("/v1/banks/b/import", json={"x": 1}), 415, "unsupported-media")
    problem(
        api.post("/v1/banks/nope/import", files={"file": ("x", HMA_GOOD, "text/plain")}),
        404,
        "bank-not-found",
    )
    problem(
        api.post("/v1/banks/b/import", "match", files={"file": ("x", HMA_GOOD)}), 403, "forbidden"
    )
    assert api.get("/v1/banks/b").json()["entry_count"] == 0


@pytest.mark.parametrize("through", ["database", "other-worker"])
def test_changes_elsewhere_match_within_a_second(
    make_api: MakeApi, db_url: str, through: str, noise_png: Callable[[int], bytes]
) -> None:
    """A hash added by the CLI or another worker is matched here without a restart."""
    api = make_api()
    image = noise_png(3)
    signals = hash_bytes(image)
    api.post("/v1/banks", json={"name": "b"})
    assert api.upload("/v1/match", image).json()["matched"] is False
    if through == "database":
        other = open_database(db_url)
        try:
            BankService(other).add_entries("b", [HashRecord("pdq", signals.pdq or "")])
        finally:
            other.close()
    else:
        worker = make_api()
        entry = {"entries": [{"signal_type": "pdq", "value": signals.pdq}]}
        assert worker.post("/v1/banks/b/entries", json=entry).status_code == 201

    def matched() -> bool:
        return bool(api.upload("/v1/match", image).json()["matched"])

    assert poll(matched)
    assert api.client.get("/readyz").json()["entries"] == 1
