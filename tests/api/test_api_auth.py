"""API keys, scopes, revocation, the key cache and rate limits."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from api_helpers import Api, CliResult, MakeApi, poll, problem
from sqlalchemy import select

from safespace.access import KeyCache, KeyInfo, KeyService, RateLimiter, parse_scopes
from safespace.errors import InvalidInput, KeyNotFound, RateLimited
from safespace.store import ApiKey, open_database

MD5_QUERY = {"signals": {"md5": "0" * 32}}


def test_missing_malformed_and_unknown_keys_are_401(api: Api) -> None:
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Bearer ssk_00000000_" + "A" * 43},
    ):
        response = api.client.get("/v1/banks", headers=headers)
        problem(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"].startswith("Bearer")
    response = api.client.get("/v1/banks", headers={"Authorization": "Bearer not-a-key"})
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_every_v1_endpoint_needs_a_key(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    for path, methods in spec["paths"].items():
        if not path.startswith("/v1"):
            continue
        url = path.replace("{name}", "x").replace("{entry_id}", "1")
        for method, operation in methods.items():
            if operation.get("security") == []:
                continue  # public by design (the self-report page's endpoints)
            response = api.client.request(method.upper(), url)
            assert response.status_code == 401, (method, url, response.text)
            problem(response, 401, "unauthenticated")


@pytest.mark.parametrize(
    ("scope", "method", "url", "allowed"),
    [
        ("match", "GET", "/v1/banks", False),
        ("match", "POST", "/v1/match", True),
        ("curate", "POST", "/v1/match", False),
        ("curate", "GET", "/v1/banks", True),
        ("admin", "GET", "/v1/banks", True),
        ("admin", "POST", "/v1/match", True),
    ],
)
def test_scopes(api: Api, scope: str, method: str, url: str, allowed: bool) -> None:
    kwargs = {"json": MD5_QUERY} if method == "POST" else {}
    response = api.client.request(method, url, headers=api.as_(scope), **kwargs)
    if allowed:
        assert response.status_code == 200, response.text
    else:
        body = problem(response, 403, "forbidden")
        assert "scope" in body["detail"]
        assert "insufficient_scope" in response.headers["www-authenticate"]


def test_revocation_takes_effect_quickly_everywhere(api: Api, db_url: str) -> None:
    assert api.get("/v1/banks", "curate").status_code == 200
    other = open_database(db_url)  # as the CLI in another process would
    try:
        service = KeyService(other)
        key_id = next(k.id for k in service.list_keys() if k.name == "test-curate")
        service.revoke(key_id)
    finally:
        other.close()

    def refused() -> bool:
        return int(api.get("/v1/banks", "curate").status_code) == 401

    assert poll(refused)
    assert api.get("/v1/banks", "admin").status_code == 200


def test_rate_limit_answers_429_with_retry_after(make_api: MakeApi) -> None:
    api = make_api(rate_limit_per_second=0.01, rate_limit_burst=3)
    for _ in range(3):
        assert api.post("/v1/match", "match", json=MD5_QUERY).status_code == 200
    response = api.post("/v1/match", "match", json=MD5_QUERY)
    body = problem(response, 429, "rate-limited")
    assert int(response.headers["retry-after"]) >= 1
    assert "rate limit" in body["detail"]
    # Buckets are per key: another key is unaffected.
    assert api.post("/v1/match", "admin", json=MD5_QUERY).status_code == 200


def test_only_a_hash_of_each_key_is_stored(api: Api) -> None:
    with api.state.db.session() as s:
        rows = [(r.prefix, r.key_hash, r.name, r.scopes) for r in s.scalars(select(ApiKey))]
    stored = " ".join(" ".join(r) for r in rows)
    for key in api.keys.values():
        assert key not in stored
        assert key.startswith(tuple(r[0] + "_" for r in rows))


# --- domain pieces ---------------------------------------------------------------------------


def test_parse_scopes() -> None:
    assert parse_scopes("curate, match,match") == ("match", "curate")
    assert parse_scopes(["ADMIN"]) == ("admin",)
    with pytest.raises(InvalidInput, match="unknown scope"):
        parse_scopes("match,root")
    with pytest.raises(InvalidInput, match="at least one"):
        parse_scopes(" , ")


def test_key_service_lifecycle(api: Api) -> None:
    service = api.state.keys
    info, key = service.create("match,curate", name="pipeline")
    assert info.scopes == ("match", "curate")
    assert info.active
    assert info.allows("curate")
    assert not info.allows("admin")
    assert service.lookup(key) == info
    assert service.lookup(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert service.revoke(info.id).revoked_at is not None
    assert service.revoke(info.id).revoked_at is not None  # idempotent
    assert service.lookup(key) is None
    with pytest.raises(KeyNotFound):
        service.revoke(10**9)
    with pytest.raises(InvalidInput):
        service.create("match", name="bad\nname")


def test_key_cache_expires_entries() -> None:
    now = [0.0]
    calls: list[str] = []
    info = KeyInfo(1, "k", "ssk_00000000", ("match",), created_at=None)  # type: ignore[arg-type]
    answer: list[KeyInfo | None] = [info]

    def lookup(key: str) -> KeyInfo | None:
        calls.append(key)
        return answer[0]

    cache = KeyCache(lookup, ttl=0.5, clock=lambda: now[0])
    assert cache.get("k1") is info
    assert cache.get("k1") is info
    assert len(calls) == 1
    answer[0] = None  # revoked in the database
    now[0] = 0.49
    assert cache.get("k1") is info
    now[0] = 0.6
    assert cache.get("k1") is None
    assert len(calls) == 2


def test_rate_limiter_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(2.0, 2, clock=lambda: now[0])
    assert limiter.wait_time("a") == 0
    assert limiter.wait_time("a") == 0
    assert limiter.wait_time("a") == pytest.approx(0.5)
    assert limiter.wait_time("b") == 0
    now[0] = 0.5
    limiter.check("a")
    with pytest.raises(RateLimited) as caught:
        limiter.check("a")
    assert caught.value.retry_after == 1
    assert RateLimiter(0, 1).wait_time("x") == 0  # 0 turns limiting off


# --- the command line -------------------------------------------------------------------------


def test_cli_keys(cli: Callable[..., CliResult], api: Api) -> None:
    created = cli("keys", "create", "--scopes", "match,curate", "--name", "ci")
    assert created.exit_code == 0, created.stderr
    lines = created.stdout.strip().splitlines()
    key = lines[-1]
    info = created.rows[0]
    assert info["scopes"] == ["match", "curate"]
    assert info["name"] == "ci"
    assert key.startswith(info["prefix"] + "_")
    assert (
        api.client.get("/v1/banks", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    )

    listed = cli("keys", "list")
    assert listed.exit_code == 0
    assert key not in listed.stdout
    assert info["id"] in [r["id"] for r in listed.rows]

    revoked = cli("keys", "revoke", str(info["id"]))
    assert revoked.exit_code == 0
    assert revoked.rows[0]["active"] is False
    assert poll(
        lambda: (
            api.client.get("/v1/banks", headers={"Authorization": f"Bearer {key}"}).status_code
            == 401
        ),
    )
    missing = cli("keys", "revoke", "999999")
    assert missing.exit_code == 3
    assert "error:" in missing.stderr
    bad = cli("keys", "create", "--scopes", "root")
    assert bad.exit_code == 2
    assert "unknown scope" in bad.stderr
