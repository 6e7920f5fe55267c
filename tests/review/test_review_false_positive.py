"""A false positive on a near match allows the content's own hash, so it stops matching.

Match events keep the caller's hash (``query_value``); the queue puts it in the item's
hashes, and a reviewer's "false positive" adds it to the allow bank. End to end through
``/v1/match``, the console and ``/v1/match`` again, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from review_helpers import csrf

from datafiles import PDQ_DIR
from safespace.access import list_events, record_matches
from safespace.banks import BankService
from safespace.banks._match_results import Match
from safespace.reports._queue import FALSE_POSITIVE_BANK
from safespace.signals import dihedral_variants, hash_bytes
from safespace.store import Database

BRIDGES = PDQ_DIR / "bridge-mods"
TURNED = PDQ_DIR / "reg-test-input" / "dih"
MD5 = "0cc175b9c0f1b6a831c399e269772661"


def _pdq(path: Path) -> str:
    found = hash_bytes(path.read_bytes()).pdq
    assert found is not None
    return found


def _bits(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def _pdq_match(entry_value: str, distance: int) -> Match:
    return Match("known", "normal", 1, "pdq", entry_value, distance, {})


# --- record_matches keeps the caller's hash ---------------------------------------------------


def test_events_keep_the_query_hash_not_the_entry_hash(database: Database) -> None:
    entry, query = _pdq(BRIDGES / "aaa-orig.jpg"), _pdq(BRIDGES / "sharpen-a-lot.jpg")
    distance = _bits(entry, query)
    assert 1 <= distance <= 31
    matches = [_pdq_match(entry, distance), Match("known", "normal", 2, "md5", MD5, 0, {})]
    signals = {"pdq": query.upper(), "md5": MD5, "pdq_quality": 100, "media_kind": "image"}
    assert record_matches(database, "post-1", matches, None, signals) == 2
    by_type = {e.signal_type: e for e in list_events(database, content_id="post-1")}
    assert by_type["pdq"].query_value == query  # normalised, the caller's own hash
    assert by_type["md5"].query_value == MD5
    assert by_type["pdq"].to_dict()["query_value"] == query


def test_events_without_the_query_hash_keep_none(database: Database) -> None:
    entry = _pdq(BRIDGES / "aaa-orig.jpg")
    record_matches(database, "no-query", [_pdq_match(entry, 3)], None)
    record_matches(database, "md5-only", [_pdq_match(entry, 3)], None, {"md5": MD5})
    record_matches(database, "bad", [_pdq_match(entry, 3)], None, {"pdq": "not hex"})
    for content_id in ("no-query", "md5-only", "bad"):
        [event] = list_events(database, content_id=content_id)
        assert event.query_value is None


def test_dihedral_events_keep_the_variant_that_matched(database: Database) -> None:
    query = _pdq(TURNED / "bridge-1-original.jpg")
    entry = _pdq(TURNED / "bridge-2-rotate-90.jpg")  # the list holds a rotated copy
    variants = dihedral_variants(query)
    distance = min(_bits(v, entry) for v in variants)
    assert _bits(query, entry) > 31 >= distance
    record_matches(database, "turned", [_pdq_match(entry, distance)], None, {"pdq": query},
                   dihedral=True)  # fmt: skip
    [event] = list_events(database, content_id="turned")
    assert event.query_value in variants
    assert event.query_value != query
    assert _bits(event.query_value, entry) == distance
    # a near match of the unturned hash keeps the original: it wins ties
    record_matches(database, "straight", [_pdq_match(query, 0)], None, {"pdq": query},
                   dihedral=True)  # fmt: skip
    assert list_events(database, content_id="straight")[0].query_value == query


# --- end to end: /v1/match, the queue, the console, /v1/match ----------------------------------


class _Flow:
    def __init__(self, make_app: Any) -> None:
        self.app = make_app()
        self.api = TestClient(self.app.app)
        self.headers = self.app.api_key("match,curate")
        self.state = self.app.app.state.safespace
        self.queue = self.app.app.state.review.queue

    def bank(self, pdq: str) -> None:
        assert self.api.post("/v1/banks", headers=self.headers, json={"name": "known"}).is_success
        entry = {"signal_type": "pdq", "value": pdq, "category": "A"}
        response = self.api.post(
            "/v1/banks/known/entries", headers=self.headers, json={"entries": [entry]}
        )
        assert response.status_code == 201, response.text

    def match(self, path: Path, **fields: str) -> dict[str, Any]:
        files = {"file": (path.name, path.read_bytes(), "image/jpeg")}
        response = self.api.post("/v1/match", headers=self.headers, files=files, data=fields)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def false_positive(self, content_id: str) -> Any:
        assert self.queue.sync() == 1
        [item] = [i for i in self.queue.list_items() if i.content_id == content_id]
        ann = self.app.signed_in("ann")
        url = f"/console/items/{item.id}"
        assert ann.post(f"{url}/claim", data={"csrf_token": csrf(ann)}).status_code == 303
        form = {"csrf_token": csrf(ann), "decision": "false-positive", "reason": "a bridge"}
        assert ann.post(f"{url}/decide", data=form).status_code == 303
        self.state.matcher.refresh_now()  # this worker sees the allow bank at once
        return item

    def allowed(self) -> list[tuple[str, str]]:
        entries = BankService(self.state.db).list_entries(FALSE_POSITIVE_BANK)
        return [(e.signal_type, e.value) for e in entries]


def test_a_false_positive_on_a_near_match_stops_it_matching(make_app: Any) -> None:
    flow = _Flow(make_app)
    original, edited = BRIDGES / "aaa-orig.jpg", BRIDGES / "sharpen-a-lot.jpg"
    flow.bank(_pdq(original))
    query = _pdq(edited)
    first = flow.match(edited, content_id="post-77")
    assert first["matched"] is True
    [entry] = first["matches"][0]["entries"]
    assert 1 <= entry["distance"] <= 31
    assert entry["value"] != query
    assert first["events_recorded"] == 1
    item = flow.false_positive("post-77")
    assert item.hashes == {"pdq": query}
    assert item.distance == entry["distance"]
    assert flow.queue.get(item.id).status == "false-positive"
    assert flow.allowed() == [("pdq", query)]
    again = flow.match(edited, content_id="post-77")
    assert again["matched"] is False
    assert again["events_recorded"] == 0  # nothing new for reviewers
    [group] = again["suppressed"]
    assert group["bank"]["name"] == "known"
    [suppressed] = group["entries"]
    assert suppressed["suppressed_by"]["bank"] == FALSE_POSITIVE_BANK
    assert suppressed["suppressed_by"]["value"] == query
    assert suppressed["suppressed_by"]["distance"] == 0


def test_a_false_positive_on_a_dihedral_match_allows_the_turned_hash(make_app: Any) -> None:
    flow = _Flow(make_app)
    listed, photo = TURNED / "bridge-2-rotate-90.jpg", TURNED / "bridge-1-original.jpg"
    flow.bank(_pdq(listed))
    assert flow.match(photo)["matched"] is False
    assert flow.match(photo, dihedral="true", content_id="post-8")["matched"] is True
    item = flow.false_positive("post-8")
    [(kind, value)] = flow.allowed()
    assert kind == "pdq"
    assert value in dihedral_variants(_pdq(photo))
    assert item.hashes == {"pdq": value}
    again = flow.match(photo, dihedral="true")
    assert (again["matched"], again["suppressed"][0]["bank"]["name"]) == (False, "known")
    # the allowed hash is the photo turned: the turned copy itself is allowed too
    turned = flow.match(listed)
    assert turned["matched"] is False
    assert turned["suppressed"][0]["entries"][0]["suppressed_by"]["bank"] == FALSE_POSITIVE_BANK


def test_json_signals_are_recorded_normalised(make_app: Any) -> None:
    flow = _Flow(make_app)
    assert flow.api.post("/v1/banks", headers=flow.headers, json={"name": "known"}).is_success
    entry = {"signal_type": "md5", "value": MD5}
    flow.api.post("/v1/banks/known/entries", headers=flow.headers, json={"entries": [entry]})
    body = {"signals": {"md5": MD5.upper()}, "content_id": "c-1"}
    assert flow.api.post("/v1/match", headers=flow.headers, json=body).json()["matched"]
    [event] = list_events(flow.state.db, content_id="c-1")
    assert event.query_value == MD5
