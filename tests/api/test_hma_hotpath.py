"""HMA's ``GET /m/lookup`` and ``GET /m/raw_lookup`` on the hot path answer byte for byte as
their FastAPI routes do: every signal type the routes accept (by SafeSpace's names, aliases
and HMA's names; hits, misses and bad values), keyless clients on listed and other networks,
the rate limit, and the metrics label. ``tests/api/test_hma_surface.py`` covers the rest
(banks filter, long signals, scopes, ``include_distance``, ``url``)."""

from __future__ import annotations

import hashlib
from typing import Any

from api_helpers import Api, MakeApi
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from safespace.api._hotpath import HMA_HOT_PATHS, HotPathMiddleware
from safespace.signals import SIGNAL_TYPES, URL, HexSignalType

HMA = "threatexchange"  # SignalType.exchange_names key of HMA's (python-threatexchange's) names
LISTED = "https://example.org/listed/page.html"  # placeholder data only
Case = tuple[str, dict[str, str], dict[str, str]]  # path, headers, query


def _without_hot_path(client: TestClient) -> TestClient:
    """The same app and state, answered by the routes (the reference)."""
    app: Any = client.app
    stack = [m for m in app.user_middleware if m.cls is not HotPathMiddleware]
    assert len(stack) == len(app.user_middleware) - 1
    app.user_middleware = stack
    app.middleware_stack = app.build_middleware_stack()
    return client


def _answer(client: TestClient, case: Case) -> tuple[Any, ...]:
    path, headers, params = case
    r = client.get(path, headers=headers, params=params)
    keep = ("content-type", "www-authenticate", "retry-after")
    return r.status_code, {k: r.headers.get(k) for k in keep}, r.content


def _same_both_ways(client: TestClient, cases: list[Case]) -> list[tuple[Any, ...]]:
    fast = [_answer(client, c) for c in cases]
    routed = _without_hot_path(client)
    slow = [_answer(routed, c) for c in cases]
    for case, a, b in zip(cases, fast, slow, strict=True):
        assert a == b, case
    return fast


def _hex(kind: HexSignalType, seed: str) -> str:
    digest = hashlib.sha512(seed.encode()).hexdigest() * 4
    return digest[: kind.hex_length]


def _names(kind: Any) -> list[str]:
    """Every name a client may give the type: SafeSpace's, its aliases and HMA's."""
    names = [kind.name, *kind.aliases, kind.exchange_name(HMA)]
    return list(dict.fromkeys(n for n in names if n))


def test_every_signal_type_answers_the_same_both_ways(make_api: MakeApi) -> None:
    # Hundreds of lookups in a row: with the default limit a slow machine's refill decides
    # which of them get a 429, so limiting is off here (the next tests compare the 429s).
    api = make_api(rate_limit_per_second=0)
    assert api.post("/c/banks", json={"name": "HOT"}).status_code == 201
    banked = []
    for kind in SIGNAL_TYPES.values():
        if isinstance(kind, HexSignalType):
            entry = {"signal_type": kind.name, "value": _hex(kind, kind.name)}
            r = api.post("/v1/banks/HOT/entries", json={"entries": [entry]})
            if r.status_code in (200, 201):
                banked.append(kind.name)
    hma_url = URL.exchange_name(HMA)
    assert hma_url is not None
    assert api.post("/c/bank/HOT/signal", "curate", json={hma_url: LISTED}).status_code == 200
    api.state.matcher.refresh_now()
    assert banked  # at least the hash types are bankable

    match = api.as_("match")
    cases: list[Case] = []
    for kind in SIGNAL_TYPES.values():
        values = [LISTED, "not a hash", ""]
        if isinstance(kind, HexSignalType):
            values += [_hex(kind, kind.name), _hex(kind, kind.name).upper(), _hex(kind, "miss")]
            values.append(_hex(kind, kind.name)[:-1])  # one digit short
        for name in _names(kind):
            for value in values:
                for path in HMA_HOT_PATHS:
                    cases.append((path, match, {"signal_type": name, "signal": value}))
    cases.append(("/m/lookup", match, {"signal_type": "no-such-type", "signal": "ab"}))
    answers = _same_both_ways(api.client, cases)
    statuses = {status for status, _, _ in answers}
    assert {200, 400} <= statuses, statuses
    hits = [body for status, _, body in answers if status == 200 and b"HOT" in body]
    assert len(hits) >= 2 * len(banked)  # each banked type is found by each path


def test_keyless_clients_on_listed_and_other_networks_answer_the_same_both_ways(
    make_api: MakeApi,
) -> None:
    api = make_api(hma_keyless_networks="10.20.0.0/16")
    assert api.post("/c/banks", json={"name": "NET"}).status_code == 201
    pdq = next(
        k for k in SIGNAL_TYPES.values() if isinstance(k, HexSignalType) and k.exchange_name(HMA)
    )
    value = _hex(pdq, "net")
    added = api.post("/v1/banks/NET/entries", json={"entries": [
        {"signal_type": pdq.name, "value": value}
    ]})  # fmt: skip
    assert added.status_code in (200, 201), added.text
    api.state.matcher.refresh_now()
    query = {"signal_type": pdq.name, "signal": value}
    wrong = {"Authorization": "Bearer nope"}
    callers: list[tuple[str, dict[str, str]]] = [
        ("10.20.3.4", {}),  # listed: no key needed
        ("10.20.3.4", wrong),  # listed, but a wrong key is still wrong
        ("10.21.0.1", {}),  # not listed
        ("192.168.1.1", {}),  # private, not listed
        ("::ffff:10.20.9.9", {}),  # listed, as IPv4-mapped IPv6
    ]

    def answers() -> list[tuple[Any, ...]]:
        out = []
        for host, headers in callers:
            client = TestClient(api.client.app, client=(host, 40000))
            out += [_answer(client, (path, headers, query)) for path in HMA_HOT_PATHS]
        return out

    fast = answers()
    _without_hot_path(api.client)  # the same app, answered by the routes from now on
    slow = answers()
    assert fast == slow
    assert [status for status, _, _ in fast] == [200, 200, 401, 401, 401, 401, 401, 401, 200, 200]
    assert b"NET" in fast[0][2]


def test_the_rate_limit_answers_the_same_both_ways(make_api: MakeApi) -> None:
    api = make_api(rate_limit_per_second=0.01, rate_limit_burst=2)
    api.state.matcher.refresh_now()
    other = api.state.keys.create("match", name="test-match-routed")[1]
    pdq = next(k for k in SIGNAL_TYPES.values() if isinstance(k, HexSignalType))
    query = {"signal_type": pdq.name, "signal": _hex(pdq, "limit")}

    def three(client: TestClient, key: str) -> list[tuple[Any, ...]]:
        out = []
        for _ in range(3):  # a burst of two, then refused
            status, headers, body = _answer(
                client, ("/m/lookup", {"Authorization": f"Bearer {key}"}, query)
            )
            out.append((status, headers["content-type"], headers["retry-after"] is not None, body))
        return out

    fast = three(api.client, api.keys["match"])
    slow = three(_without_hot_path(api.client), other)
    assert [a[0] for a in fast] == [200, 200, 429]
    assert fast == slow


def test_hot_path_lookups_are_counted_under_their_routes(api: Api) -> None:
    pdq = next(k for k in SIGNAL_TYPES.values() if isinstance(k, HexSignalType))
    query = {"signal_type": pdq.name, "signal": _hex(pdq, "count")}
    for _ in range(3):
        assert api.get("/m/lookup", "match", params=query).status_code == 200
    assert api.get("/m/raw_lookup", "match", params=query).status_code == 200
    api.client.get("/m/lookup", params=query)  # 401
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(api.get("/metrics").text)
        for s in family.samples
    }
    total = "safespace_http_requests_total"
    assert found[(total, (("method", "GET"), ("route", "/m/lookup"), ("status", "200")))] == 3
    assert found[(total, (("method", "GET"), ("route", "/m/raw_lookup"), ("status", "200")))] == 1
    assert found[(total, (("method", "GET"), ("route", "/m/lookup"), ("status", "401")))] == 1
