"""The hot path answers JSON ``/v1/match`` exactly as the FastAPI route does, errors included."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from api_helpers import Api, MakeApi
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from safespace.api._hotpath import HotPathMiddleware

MD5 = "0123456789abcdef" * 2
PDQ = hashlib.sha256(b"hot path entry").hexdigest()
NEAR = format(int(PDQ, 16) ^ 0b1011, "064x")  # 3 bits off


def _without_hot_path(api: Api) -> TestClient:
    """A second client on the same app state, answered by the route (the reference)."""
    app = api.client.app
    stack = [m for m in app.user_middleware if m.cls is not HotPathMiddleware]  # type: ignore[attr-defined]
    assert len(stack) == len(app.user_middleware) - 1  # type: ignore[attr-defined]
    app.user_middleware = stack  # type: ignore[attr-defined]
    app.middleware_stack = app.build_middleware_stack()  # type: ignore[attr-defined]
    return api.client


def _answer(client: TestClient, headers: dict[str, str], body: Any) -> tuple[Any, ...]:
    kw: dict[str, Any] = {"content": body} if isinstance(body, bytes) else {"json": body}
    if isinstance(body, bytes):
        headers = {"Content-Type": "application/json", **headers}
    r = client.post("/v1/match", headers=headers, **kw)
    keep = ("content-type", "www-authenticate", "retry-after")
    return r.status_code, {k: r.headers.get(k) for k in keep}, r.content


@pytest.fixture
def api(make_api: MakeApi) -> Api:
    api = make_api(max_json_bytes=4096)
    assert api.post("/v1/banks", json={"name": "hot"}).status_code == 201
    entries = [
        {"signal_type": "md5", "value": MD5, "source": "unit", "category": "A"},
        {"signal_type": "pdq", "value": PDQ},
    ]
    r = api.post("/v1/banks/hot/entries", json={"entries": entries})
    assert r.status_code in (200, 201), r.text
    api.post("/v1/banks", json={"name": "allowed", "kind": "allow"})
    api.state.matcher.refresh_now()
    return api


def test_both_paths_give_the_same_answers(api: Api) -> None:
    match, curate = api.as_("match"), api.as_("curate")
    revoked_info, revoked = api.state.keys.create("match", name="gone")
    api.state.keys.revoke(revoked_info.id)
    cases: list[tuple[dict[str, str], Any]] = [
        (match, {"signals": {"md5": MD5}}),
        (match, {"signals": {"pdq": NEAR}, "dihedral": True}),
        (match, {"signals": {"pdq": NEAR, "md5": MD5}, "banks": ["hot"]}),
        (match, {"signals": {"md5": "f" * 32}}),
        (match, {"signals": {"md5": "not hex"}}),
        (match, {"signals": {"pdq": PDQ, "pdq_quality": 5}}),
        (match, {"signals": {}}),
        (match, {"signals": {"md5": MD5}, "surprise": 1}),
        (match, {"signals": {"md5": MD5}, "banks": ["b"] * 101}),
        (match, {"signals": {"md5": MD5}, "content_id": "x" * 300}),
        (match, b"{not json"),
        (match, b"[]"),
        (match, b'{"signals": {"md5": "' + b"a" * 5000 + b'"}}'),
        ({}, {"signals": {"md5": MD5}}),
        ({"Authorization": "Bearer nope"}, {"signals": {"md5": MD5}}),
        ({"Authorization": "Basic abc"}, {"signals": {"md5": MD5}}),
        ({"Authorization": f"Bearer {revoked}"}, {"signals": {"md5": MD5}}),
        (curate, {"signals": {"md5": MD5}}),
    ]
    fast = [_answer(api.client, h, b) for h, b in cases]
    assert fast[0][0] == 200
    assert b'"matched":true' in fast[1][2]
    assert {status for status, _, _ in fast} == {200, 400, 401, 403, 413, 422}
    reference = _without_hot_path(api)
    slow = [_answer(reference, h, b) for h, b in cases]
    for case, a, b in zip(cases, fast, slow, strict=True):
        assert a == b, case


def test_other_requests_to_the_path_still_reach_the_route(api: Api) -> None:
    files = {"file": ("x.bin", b"plain text is not an image", "text/plain")}
    upload = api.post("/v1/match", "match", files=files)
    assert upload.status_code == 415, upload.text  # the route read the multipart form
    wrong_type = api.client.post(
        "/v1/match", headers={**api.as_("match"), "Content-Type": "text/plain"}, content=b"x"
    )
    assert wrong_type.status_code == 415
    assert api.get("/v1/match", "match").status_code == 405


def test_hot_path_answers_are_counted_under_the_route(api: Api) -> None:
    for _ in range(3):
        assert api.post("/v1/match", "match", json={"signals": {"md5": MD5}}).status_code == 200
    api.client.post("/v1/match", json={"signals": {"md5": MD5}})  # 401
    text = api.get("/metrics").text
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    ok = ("method", "POST"), ("route", "/v1/match"), ("status", "200")
    denied = ("method", "POST"), ("route", "/v1/match"), ("status", "401")
    assert found[("safespace_http_requests_total", ok)] == 3
    assert found[("safespace_http_requests_total", denied)] == 1
    assert found[("safespace_matches_total", (("bank", "hot"), ("signal_type", "md5")))] == 3


def test_a_bug_on_the_hot_path_is_a_logged_500_problem(
    api: Api, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setattr(api.state.matcher.matcher, "match_cached", broken)
    client = TestClient(api.client.app, raise_server_exceptions=False)
    r = client.post("/v1/match", headers=api.as_("match"), json={"signals": {"md5": MD5}})
    assert r.status_code == 500
    assert r.json()["type"] == "/problems/internal-error"
    assert "boom" in caplog.text
