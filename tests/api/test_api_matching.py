"""``/v1/hash`` and ``/v1/match``: uploads, JSON hashes, grouping, allow banks, events, limits."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from api_helpers import Api, MakeApi, problem

from safespace.access import list_events
from safespace.signals import hash_bytes


@pytest.fixture
def known(api: Api, bridge_jpeg: bytes) -> dict[str, object]:
    """A bank holding the bridge photo's hashes, with metadata."""
    assert api.post("/v1/banks", json={"name": "known", "description": "test list"}).is_success
    signals = hash_bytes(bridge_jpeg)
    entries = [
        {"signal_type": "pdq", "value": signals.pdq, "source": "unit", "category": "A"},
        {"signal_type": "md5", "value": signals.md5, "note": "bridge", "extra": {"k": "v"}},
    ]
    response = api.post("/v1/banks/known/entries", json={"entries": entries})
    assert response.status_code == 201, response.text
    return {"signals": signals, "ids": [e["id"] for e in response.json()["entries"]]}


def test_hash_an_upload(api: Api, bridge_jpeg: bytes) -> None:
    response = api.upload("/v1/hash", bridge_jpeg, "match")
    assert response.status_code == 200, response.text
    body = response.json()
    expected = hash_bytes(bridge_jpeg)
    assert body["pdq"] == expected.pdq
    assert body["md5"] == expected.md5
    assert body["sha256"] == expected.sha256
    assert body["media_kind"] == "image"
    assert body["pdq_quality"] >= 50
    assert body["pdq_matchable"] is True
    assert "pdq_dihedral" not in body
    dihedral = api.upload("/v1/hash", bridge_jpeg, "match", dihedral="true").json()
    assert len(dihedral["pdq_dihedral"]) == 8
    assert dihedral["pdq_dihedral"][0] == expected.pdq


def test_hash_a_video_upload_gives_its_vpdq_frames(api: Api) -> None:
    from datafiles import PATTERN_SD_VIDEO
    from safespace.signals import hash_video

    data = PATTERN_SD_VIDEO.read_bytes()
    body = api.upload("/v1/hash", data, "match").json()
    assert body["media_kind"] == "video"
    expected = hash_video(data)
    assert [(f["frame"], f["quality"], f["pdq"]) for f in body["vpdq"]] == [
        (f.frame_number, f.quality, f.pdq) for f in expected
    ]
    every = api.upload("/v1/hash", data, "match", seconds_per_hash="0").json()
    assert [f["frame"] for f in every["vpdq"]] == list(range(len(every["vpdq"])))
    for bad in ("-1", "soon", "nan", "inf"):
        problem(api.upload("/v1/hash", data, seconds_per_hash=bad), 422, "invalid-request")
    problem(api.upload("/v1/hash", data[: len(data) // 3]), 422, "invalid-video")


def test_hash_bad_uploads(api: Api, bridge_jpeg: bytes) -> None:
    problem(api.upload("/v1/hash", b"just some text, not an image\n"), 415, "unsupported-media")
    problem(api.upload("/v1/hash", bridge_jpeg[:2000]), 422, "corrupt-media")
    problem(api.upload("/v1/hash", b""), 400, "empty-media")
    problem(api.post("/v1/hash", json={"file": "x"}), 415, "unsupported-media")
    problem(api.post("/v1/hash", data={"dihedral": "true"}), 415, "unsupported-media")
    files = {"other": ("a.jpg", bridge_jpeg, "image/jpeg")}
    problem(api.post("/v1/hash", files=files), 422, "invalid-request")
    problem(api.upload("/v1/hash", bridge_jpeg, dihedral="maybe"), 422, "invalid-request")
    problem(api.upload("/v1/hash", bridge_jpeg, colour="red"), 422, "invalid-request")
    broken = {"content-type": "multipart/form-data; boundary=zzz", **api.as_("match")}
    response = api.client.post("/v1/hash", content=b"--zzz\r\ngarbage", headers=broken)
    assert 400 <= response.status_code < 500
    assert response.headers["content-type"].startswith("application/problem+json")


def test_oversized_uploads_are_413_while_streaming(make_api: MakeApi, bridge_jpeg: bytes) -> None:
    api = make_api(max_media_bytes=100_000)
    assert len(bridge_jpeg) > 100_000 + 64 * 1024
    # Declared length over the limit: refused before reading.
    body = problem(api.upload("/v1/hash", bridge_jpeg), 413, "media-too-large")
    assert "max_media_bytes" in body["detail"]
    # A little over the file limit, within the multipart slack: refused by the hasher.
    problem(api.upload("/v1/hash", bridge_jpeg[:110_000]), 413, "media-too-large")

    # No declared length (chunked): cut off once the limit is passed.
    def chunks() -> Iterator[bytes]:
        yield b"--b\r\nContent-Disposition: form-data; name=file; filename=x\r\n\r\n"
        for _ in range(100):
            yield b"\0" * 10_000

    headers = {"content-type": "multipart/form-data; boundary=b", **api.as_("match")}
    response = api.client.post("/v1/hash", content=chunks(), headers=headers)
    problem(response, 413, "media-too-large")
    # JSON bodies have their own limit, declared or streamed, read by hand or by FastAPI.
    small = make_api(max_json_bytes=2048)
    response = small.post("/v1/match", json={"signals": {"md5": "0" * 32}, "x": "y" * 5000})
    problem(response, 413, "request-too-large")

    def json_chunks() -> Iterator[bytes]:
        yield b'{"name": "b", "description": "'
        for _ in range(10):
            yield b"d" * 1000
        yield b'"}'

    json_headers = {"content-type": "application/json"}
    for url in ("/v1/banks", "/v1/match"):
        response = small.post(url, content=json_chunks(), headers=json_headers)
        problem(response, 413, "request-too-large")
    assert small.get("/v1/banks").json()["banks"] == []


def test_match_an_upload(api: Api, known: dict[str, object], bridge_jpeg: bytes) -> None:
    response = api.upload("/v1/match", bridge_jpeg, "match")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["matched"] is True
    assert body["low_quality"] is False
    assert body["signals"]["media_kind"] == "image"
    [group] = body["matches"]
    assert group["bank"]["name"] == "known"
    assert group["bank"]["description"] == "test list"
    assert group["bank"]["pdq_distance"] == 31
    by_type = {e["signal_type"]: e for e in group["entries"]}
    assert set(by_type) == {"pdq", "md5"}
    assert by_type["pdq"]["distance"] == 0
    assert by_type["pdq"]["metadata"]["source"] == "unit"
    assert by_type["md5"]["metadata"]["extra"] == {"k": "v"}
    assert sorted(e["entry_id"] for e in group["entries"]) == sorted(known["ids"])  # type: ignore[arg-type]
    assert body["allowed"] == []
    assert body["suppressed"] == []


def test_match_json_hashes(api: Api, known: dict[str, object]) -> None:
    signals = known["signals"]
    near = list(signals.pdq)  # type: ignore[attr-defined]
    near[0] = "0" if near[0] != "0" else "1"  # a few bits away
    body = api.post("/v1/match", "match", json={"signals": {"pdq": "".join(near)}}).json()
    assert body["matched"]
    assert 0 < body["matches"][0]["entries"][0]["distance"] <= 4
    by_md5 = {"signals": {"MD5": signals.md5.upper()}}  # type: ignore[attr-defined]
    body = api.post("/v1/match", "match", json=by_md5).json()
    assert body["matched"]
    assert body["signals"]["md5"] == signals.md5
    miss = api.post("/v1/match", "match", json={"signals": {"sha256": "a" * 64}}).json()
    assert miss["matched"] is False
    assert miss["matches"] == []
    # A low-quality PDQ is reported, not matched.
    low = {"signals": {"pdq": signals.pdq, "pdq_quality": 10}}  # type: ignore[attr-defined]
    body = api.post("/v1/match", "match", json=low).json()
    assert body["low_quality"] is True
    assert body["matched"] is False


def test_low_quality_upload_is_reported(api: Api, flat_png: bytes) -> None:
    body = api.upload("/v1/match", flat_png, "match").json()
    assert body["low_quality"] is True
    assert body["pdq_quality"] < 50


def test_dihedral_matches_rotations(
    api: Api, known: dict[str, object], rotated_bridge: bytes
) -> None:
    plain = api.upload("/v1/match", rotated_bridge, "match").json()
    assert plain["matched"] is False
    turned = api.upload("/v1/match", rotated_bridge, "match", dihedral="true").json()
    assert turned["matched"] is True
    assert turned["matches"][0]["entries"][0]["signal_type"] == "pdq"


def test_allow_banks_suppress_and_say_so(
    api: Api, known: dict[str, object], bridge_jpeg: bytes
) -> None:
    md5 = known["signals"].md5  # type: ignore[attr-defined]
    assert api.post("/v1/banks", json={"name": "benign", "kind": "allow"}).is_success
    entry = {"entries": [{"signal_type": "md5", "value": md5}]}
    assert api.post("/v1/banks/benign/entries", json=entry).status_code == 201
    body = api.upload("/v1/match", bridge_jpeg, "match").json()
    assert body["matched"] is False
    assert body["matches"] == []
    assert body["allowed"][0]["bank"]["name"] == "benign"
    assert body["allowed"][0]["bank"]["kind"] == "allow"
    [group] = body["suppressed"]
    assert group["bank"]["name"] == "known"
    for e in group["entries"]:
        assert e["suppressed_by"]["bank"] == "benign"


def test_bank_filter(api: Api, known: dict[str, object], bridge_jpeg: bytes) -> None:
    assert api.post("/v1/banks", json={"name": "other"}).is_success
    md5 = known["signals"].md5  # type: ignore[attr-defined]
    only_other = {"signals": {"md5": md5}, "banks": ["other"]}
    assert api.post("/v1/match", "match", json=only_other).json()["matched"] is False
    only_known = api.upload("/v1/match", bridge_jpeg, "match", banks="other,known").json()
    assert [g["bank"]["name"] for g in only_known["matches"]] == ["known"]
    unknown = {"signals": {"md5": md5}, "banks": ["nope"]}
    problem(api.post("/v1/match", "match", json=unknown), 404, "bank-not-found")


def test_content_ids_are_recorded_as_match_events(
    api: Api, known: dict[str, object], bridge_jpeg: bytes
) -> None:
    body = api.upload("/v1/match", bridge_jpeg, "match", content_id="post/123").json()
    assert body["content_id"] == "post/123"
    assert body["events_recorded"] == 2
    events = list_events(api.state.db, content_id="post/123")
    assert {e.entry_id for e in events} == set(known["ids"])  # type: ignore[call-overload]
    key_id = api.state.keys.lookup(api.keys["match"]).id  # type: ignore[union-attr]
    assert {e.api_key_id for e in events} == {key_id}
    assert {e.bank for e in events} == {"known"}
    md5 = known["signals"].md5  # type: ignore[attr-defined]
    api.post("/v1/match", "match", json={"signals": {"md5": md5}, "content_id": "c2"})
    assert [e.signal_type for e in list_events(api.state.db, content_id="c2")] == ["md5"]
    nothing = {"signals": {"md5": "1" * 32}, "content_id": "c3"}
    assert api.post("/v1/match", "match", json=nothing).json()["events_recorded"] == 0
    assert list_events(api.state.db, content_id="c3") == []


BAD_QUERIES: list[tuple[object, int, str]] = [
    ({"signals": {"md5": "xyz"}}, 400, "invalid-signal"),
    ({"signals": {"pdq": "f" * 63}}, 400, "invalid-signal"),
    ({"signals": {"sha1": "a" * 40}}, 400, "invalid-signal"),
    ({"signals": {}}, 400, "invalid-signal"),
    ({"signals": {"pdq_quality": 90}}, 400, "invalid-signal"),
    ({"signals": {"md5": 5}}, 400, "invalid-signal"),
    ({"signals": {"md5": "0" * 32, "video_md5": "1" * 32}}, 400, "invalid-signal"),
    ({"signals": {"md5": "0" * 32, "pdq_quality": 101}}, 400, "invalid-input"),
    ({"signals": {"md5": "0" * 32}, "content_id": ""}, 400, "invalid-input"),
    ({"signals": {"md5": "0" * 32}, "content_id": "a\nb"}, 400, "invalid-input"),
    ({"signals": {"md5": "0" * 32}, "content_id": "x" * 257}, 400, "invalid-input"),
    ({"signals": {"md5": "0" * 32}, "dihedral": "yes"}, 422, "invalid-request"),
    ({"signals": {"md5": "0" * 32}, "banks": "known"}, 422, "invalid-request"),
    ({"signals": {"md5": ["0" * 32]}}, 422, "invalid-request"),
    ({"signals": "d41d8cd98f00b204e9800998ecf8427e"}, 422, "invalid-request"),
    ({"signal": {"md5": "0" * 32}}, 422, "invalid-request"),
    ([], 422, "invalid-request"),
]


@pytest.mark.parametrize(("payload", "status", "code"), BAD_QUERIES)
def test_bad_match_queries(api: Api, payload: object, status: int, code: str) -> None:
    problem(api.post("/v1/match", "match", json=payload), status, code)


def test_bad_match_uploads_write_nothing(
    api: Api, known: dict[str, object], bridge_jpeg: bytes, noise_png: Callable[[int], bytes]
) -> None:
    problem(api.upload("/v1/match", b"%PDF-1.4 not media"), 415, "unsupported-media")
    problem(api.upload("/v1/match", bridge_jpeg, content_id="\x00"), 400, "invalid-input")
    problem(
        api.upload("/v1/match", bridge_jpeg, banks="nope", content_id="z"), 404, "bank-not-found"
    )
    assert list_events(api.state.db) == []
    problem(
        api.post("/v1/match", content=b"md5=0", headers={"content-type": "text/plain"}),
        415,
        "unsupported-media",
    )
    assert api.upload("/v1/match", noise_png(7), "match").json()["matched"] is False
