"""The rest of HMA's surface: its health routes, banked content with metadata, its lax
numbers, its 400s and ``message``, lookups on the hot path, and keyless clients on listed
networks."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import pytest
from api_helpers import Api, MakeApi, problem
from fastapi.testclient import TestClient

from safespace.api._hotpath import HotPathMiddleware
from safespace.config import Settings
from safespace.errors import ConfigError
from safespace.signals import hash_bytes

MD5 = "0123456789abcdef" * 2
PDQ = hashlib.sha256(b"hma surface entry").hexdigest()
NEAR = format(int(PDQ, 16) ^ 0b111, "064x")  # 3 bits off


def _photo(data: bytes, name: str = "photo") -> dict[str, Any]:
    return {name: ("upload.jpg", data, "image/jpeg")}


def test_status_routes_and_site_map(api: Api) -> None:
    api.state.matcher.refresh_now()
    for path in ("/status", "/status/live"):
        r = api.client.get(path)  # public, as HMA's are
        assert (r.status_code, r.text) == (200, "I-AM-ALIVE")
        assert r.headers["content-type"].startswith("text/plain")
    routes = api.client.get("/site-map").json()
    assert routes == sorted(routes)
    assert {"/m/lookup", "/c/bank/{bank_name}/content/{content_id}", "/status"} <= set(routes)


def test_status_is_503_until_the_banks_are_loaded(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api.state.matcher, "status", lambda: {"ready": False, "detail": "loading"})
    r = api.client.get("/status")
    assert (r.status_code, r.text) == (503, "INDEX-NOT-LOADED")
    assert api.client.get("/status/live").status_code == 200


def test_content_keeps_metadata_and_note(api: Api, bridge_jpeg: bytes) -> None:
    api.post("/c/banks", json={"name": "B"})
    # HMA's own shape: metadata is a JSON object in a form field, note a field of its own.
    meta = {"content_id": "post-1", "content_uri": "https://forum.example/p/1", "json": {"k": 1}}
    form = {"metadata": json.dumps(meta), "note": "seen twice"}
    added = api.post("/c/bank/B/content", "curate", files=_photo(bridge_jpeg), data=form)
    assert added.status_code == 200, added.text
    content_id = added.json()["id"]
    got = api.get(f"/c/bank/B/content/{content_id}", "curate")
    assert got.status_code == 200, got.text
    assert got.json() == {
        "id": content_id,
        "disable_until_ts": 1,
        "original_media_uri": None,
        "bank": {"name": "B", "matching_enabled_ratio": 1.0},
        "metadata": meta,
        "note": "seen twice",
    }
    pdq = hash_bytes(bridge_jpeg).pdq
    with_signals = api.get(f"/c/bank/B/content/{content_id}", params={"include_signals": "true"})
    assert with_signals.json()["signals"] == {"pdq": pdq}
    without = api.get(f"/c/bank/B/content/{content_id}", params={"include_metadata": "false"})
    assert "metadata" not in without.json()

    # Hashes with a note (HMA's /signal), and a plain entry: no metadata, no note.
    noted = api.post("/c/bank/B/signal", json={"video_md5": MD5, "note": "from a tip"}).json()
    assert api.get(f"/c/bank/B/content/{noted['id']}").json()["note"] == "from a tip"
    plain = api.post("/c/bank/B/signal", json={"pdq": PDQ}).json()
    assert set(api.get(f"/c/bank/B/content/{plain['id']}").json()) == {
        "id",
        "disable_until_ts",
        "original_media_uri",
        "bank",
    }

    api.post("/c/banks", json={"name": "OTHER"})
    problem(api.get(f"/c/bank/OTHER/content/{content_id}"), 404, "not-found")
    problem(api.get("/c/bank/B/content/999999"), 404, "not-found")
    problem(api.get("/c/bank/NOPE/content/1"), 404, "bank-not-found")
    problem(
        api.post("/c/bank/B/signal", json={"pdq": PDQ, "note": "x" * 256}), 400, "invalid-input"
    )
    bad = {"metadata": "{not json"}
    problem(
        api.post("/c/bank/B/content", files=_photo(bridge_jpeg), data=bad), 400, "invalid-input"
    )
    bad = {"metadata": json.dumps({"content_id": "x", "json": "not an object"})}
    problem(
        api.post("/c/bank/B/content", files=_photo(bridge_jpeg), data=bad), 400, "invalid-input"
    )


def test_numbers_as_strings_as_hmas_models_take_them(api: Api) -> None:
    created = api.post("/c/banks", json={"name": "S", "enabled_ratio": "1"})
    assert created.status_code == 201, created.text
    assert created.json() == {"name": "S", "matching_enabled_ratio": 1.0}
    off = api.client.put("/c/bank/S", headers=api.as_("curate"), json={"enabled_ratio": "0.0"})
    assert off.json()["matching_enabled_ratio"] == 0.0
    on = api.client.put("/c/bank/S", headers=api.as_("curate"), json={"enabled": "true"})
    assert on.json()["matching_enabled_ratio"] == 1.0
    problem(
        api.post("/c/banks", json={"name": "T", "enabled_ratio": "lots"}), 422, "invalid-request"
    )


def test_errors_carry_hmas_message_on_its_routes_only(api: Api) -> None:
    bad = api.get("/m/lookup", "match", params={"signal_type": "pdq", "signal": "abc"})
    body = problem(bad, 400, "invalid-signal")
    assert body["message"] == body["detail"]
    missing = problem(api.client.get("/c/banks"), 401, "unauthenticated")
    assert missing["message"] == missing["detail"]
    no_route = api.get("/c/nothing-here")
    assert no_route.json()["message"] == no_route.json()["detail"]
    malformed = api.client.post(
        "/c/banks", headers={**api.as_("curate"), "Content-Type": "application/json"}, content=b"{"
    )
    problem(malformed, 400, "invalid-input")
    v1 = problem(api.get("/v1/banks/nope"), 404, "bank-not-found")
    assert "message" not in v1


def _without_hot_path(api: Api) -> TestClient:
    app = api.client.app
    stack = [m for m in app.user_middleware if m.cls is not HotPathMiddleware]  # type: ignore[attr-defined]
    app.user_middleware = stack  # type: ignore[attr-defined]
    app.middleware_stack = app.build_middleware_stack()  # type: ignore[attr-defined]
    return api.client


def test_lookups_on_the_hot_path_answer_as_the_routes_do(api: Api) -> None:
    api.post("/c/banks", json={"name": "HOT"})
    api.post("/c/banks", json={"name": "COLD"})
    api.post("/c/bank/HOT/signal", json={"pdq": PDQ, "video_md5": MD5})
    api.state.matcher.refresh_now()
    match, curate = api.as_("match"), api.as_("curate")
    cases: list[tuple[str, dict[str, str], dict[str, str]]] = [
        ("/m/lookup", match, {"signal_type": "pdq", "signal": NEAR}),
        ("/m/lookup", match, {"signal_type": "video_md5", "signal": MD5.upper()}),
        ("/m/lookup", match, {"signal_type": "pdq", "signal": NEAR, "banks": "COLD"}),
        ("/m/lookup", match, {"signal_type": "pdq", "signal": NEAR, "banks": "NOPE"}),
        ("/m/lookup", match, {"signal_type": "pdq", "signal": "xyz"}),
        ("/m/lookup", match, {"signal_type": "tmk", "signal": MD5}),
        ("/m/lookup", match, {"signal": MD5}),
        ("/m/lookup", match, {"signal_type": "pdq", "signal": "a" * 300}),
        ("/m/lookup", match, {"url": "http://example.com/a.jpg"}),
        ("/m/lookup", {}, {"signal_type": "pdq", "signal": PDQ}),
        ("/m/lookup", curate, {"signal_type": "pdq", "signal": PDQ}),
        ("/m/raw_lookup", match, {"signal_type": "pdq", "signal": NEAR}),
        ("/m/raw_lookup", match, {"signal_type": "pdq", "signal": NEAR, "include_distance": "1"}),
        ("/m/raw_lookup", match, {"signal_type": "pdq", "signal": NEAR, "include_distance": "x"}),
        ("/m/raw_lookup", match, {"signal_type": "pdq"}),
    ]

    def answers(client: TestClient) -> list[tuple[Any, ...]]:
        out = []
        for path, headers, params in cases:
            r = client.get(path, headers=headers, params=params)
            body = r.json()
            if isinstance(body, dict) and "detail" in body:  # same problem, same words
                body = {k: v for k, v in body.items() if k not in ("errors",)}
            out.append((r.status_code, r.headers["content-type"], body))
        return out

    fast = answers(api.client)
    assert fast[0][2] == {
        "HOT": [{"bank_content_id": fast[0][2]["HOT"][0]["bank_content_id"], "distance": "3"}]
    }
    assert {status for status, _, _ in fast} == {200, 400, 401, 403, 404, 422}
    slow = answers(_without_hot_path(api))
    for case, a, b in zip(cases, fast, slow, strict=True):
        assert a == b, case


# --- keyless HMA clients on listed networks ----------------------------------------------


def _from(api: Api, host: str) -> TestClient:
    return TestClient(api.client.app, client=(host, 40000))


def test_keyless_access_is_off_by_default(api: Api) -> None:
    problem(_from(api, "127.0.0.1").get("/c/banks"), 401, "unauthenticated")


def test_keyless_clients_reach_the_hma_routes_from_listed_networks(
    make_api: MakeApi, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="safespace.api"):
        api = make_api(hma_keyless_networks="10.20.0.0/16, 127.0.0.1/32")
    assert "KEYLESS HMA ACCESS IS ON" in caplog.text
    assert "10.20.0.0/16" in caplog.text
    inside = _from(api, "10.20.3.4")
    created = inside.post("/c/banks", json={"name": "NET"})
    assert created.status_code == 201, created.text
    added = inside.post("/c/bank/NET/signal", json={"pdq": PDQ})
    assert added.status_code == 200, added.text
    api.state.matcher.refresh_now()
    found = inside.get("/m/lookup", params={"signal_type": "pdq", "signal": PDQ})  # hot path
    assert found.json() == {"NET": [{"bank_content_id": added.json()["id"], "distance": "0"}]}
    assert _from(api, "127.0.0.1").get("/c/bank/NET").status_code == 200
    assert _from(api, "::ffff:10.20.9.9").get("/c/bank/NET").status_code == 200
    # Only HMA's routes, only from the listed networks, and a wrong key is still wrong.
    problem(inside.get("/v1/banks"), 401, "unauthenticated")
    problem(_from(api, "10.21.0.1").get("/c/banks"), 401, "unauthenticated")
    problem(
        _from(api, "192.168.1.1").get("/m/lookup", params={"signal": PDQ}), 401, "unauthenticated"
    )
    denied = inside.get("/c/banks", headers={"Authorization": "Bearer nope"})
    problem(denied, 401, "unauthenticated")
    # Audited as the network, not as some key.
    events = api.get("/v1/audit", params={"action": "bank.create"})
    if events.status_code == 200:
        assert "hma-network" in events.text


@pytest.mark.parametrize(
    "networks", ["0.0.0.0/0", "8.8.8.0/24", "10.0.0.0/7", "2001:db8::/32", "not-a-network"]
)
def test_keyless_networks_must_be_loopback_or_private(networks: str) -> None:
    with pytest.raises(ConfigError):
        Settings(hma_keyless_networks=networks).hma_keyless_network_list()


def test_keyless_networks_accepted() -> None:
    settings = Settings(hma_keyless_networks="127.0.0.0/8 10.1.0.0/16,172.16.5.0/24 fd00::/8 ::1")
    assert len(settings.hma_keyless_network_list()) == 5


def test_an_upload_over_the_limit_is_a_413_with_message(make_api: MakeApi) -> None:
    api = make_api(max_media_bytes=2000)
    api.post("/c/banks", json={"name": "B"})
    big = api.post("/c/bank/B/content", "curate", files=_photo(b"\xff" * 5000))
    body = problem(big, 413, big.json()["type"].removeprefix("/problems/"))
    assert body["message"] == body["detail"]


def test_hma_lookups_are_answered_by_the_hot_path(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered: list[str] = []
    real = HotPathMiddleware._hma

    async def spy(self: HotPathMiddleware, scope: Any, receive: Any, send: Any) -> None:
        answered.append(scope["path"])
        await real(self, scope, receive, send)

    monkeypatch.setattr(HotPathMiddleware, "_hma", spy)
    params = {"signal_type": "pdq", "signal": PDQ}
    assert api.get("/m/lookup", "match", params=params).status_code == 200
    assert api.get("/m/raw_lookup", "match", params=params).status_code == 200
    api.client.get("/m/lookup", params=params)  # no key: refused there too, not by routing
    assert answered == ["/m/lookup", "/m/raw_lookup", "/m/lookup"]
