"""``/v1/deter``: decisions, recorded events, outcomes, widget tokens, chat, settings."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest
from deter_service_helpers import BENIGN, QUERY, TERM, MakeSvc, Svc, problem, pseudonym_for
from sqlalchemy import func, select

from safespace.banks.formats._base import HashRecord
from safespace.deter._events import WidgetTokens, check_secret
from safespace.errors import ConfigError
from safespace.store import DeterEventRow, DeterOutcomeRow

ORIGIN = "https://forum.example"
# From tests/data/pdq/reference-hashes.csv (bridge-mods/aaa-orig.jpg, a benign photo).
BRIDGE_PDQ = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22"
BRIDGE_PDQ_FULLRES = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def _rows(svc: Svc) -> list[SimpleNamespace]:
    """The stored events, as plain objects (sessions expire ORM rows when they end)."""
    with svc.state.db.session() as s:
        rows = s.scalars(select(DeterEventRow).order_by(DeterEventRow.id))
        cols = DeterEventRow.__table__.columns.keys()
        return [SimpleNamespace(**{c: getattr(r, c) for c in cols}) for r in rows]


def test_check_intervenes_records_the_event_without_the_text(svc: Svc) -> None:
    session = pseudonym_for(svc, "harm")
    r = svc.check(text=QUERY, session=session, locale="en-GB", country="GB")
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["intervene"] is True
    assert d["reason"] == "operator-term"
    assert d["rule_id"] == "ops:1"
    assert (d["experiment"], d["arm"]) == ("trial", "harm")
    assert d["intervention"]["kind"] == "warning"
    assert d["intervention"]["title"]
    assert d["intervention"]["help"]
    assert d["token"]
    assert d["event_id"]
    assert TERM not in r.text
    assert session not in r.text
    [row] = _rows(svc)
    assert row.event_id == d["event_id"]
    assert (row.pseudonym, row.rule_id, row.arm, row.experiment) == (
        session,
        "ops:1",
        "harm",
        "trial",
    )
    assert row.epoch == d["epoch"]
    assert row.context == "search"
    assert row.intervention == "warning"
    assert row.query_text is None
    assert row.created_at is not None


def test_query_text_is_stored_only_when_the_operator_turns_it_on(make_svc: MakeSvc) -> None:
    svc = make_svc(deter_store_query_text=True)
    r = svc.check(text=QUERY, session="p1")
    assert r.status_code == 200
    [row] = _rows(svc)
    assert row.query_text == QUERY


def test_benign_text_is_not_recorded(svc: Svc) -> None:
    d = svc.check(text=BENIGN, session="p1").json()
    assert d["intervene"] is False
    assert d["intervention"] is None
    assert d["event_id"] is None
    assert d["token"] is None
    assert _rows(svc) == []


def test_chatbot_arm_returns_the_first_turn(svc: Svc) -> None:
    d = svc.check(context="message", text=QUERY, session=pseudonym_for(svc, "chatbot")).json()
    assert d["intervention"]["kind"] == "chatbot"
    turn = d["intervention"]["chatbot"]
    assert turn["messages"]
    assert {b["id"] for b in turn["buttons"]} >= {"help", "why"}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"context": "shopping", "text": "x"}, 400, "invalid-input"),
        ({"context": "search"}, 400, "invalid-input"),
        ({"context": "search", "text": "   "}, 400, "invalid-input"),
        ({"context": "search", "text": "x", "locale": "!!"}, 400, "invalid-input"),
        ({"context": "search", "text": "x", "locale": "en GB"}, 400, "invalid-input"),
        ({"context": "search", "text": "x", "country": "GBR"}, 400, "invalid-input"),
        ({"context": "search", "text": "x", "signals": {"md5": "0" * 32}}, 400, "invalid-input"),
        ({"context": "upload"}, 400, "invalid-input"),
        ({"context": "upload", "signals": {"md5": "12"}}, 400, "invalid-signal"),
        ({"context": "upload", "signals": {"shoe": "12"}}, 400, "invalid-signal"),
        ({"context": "search", "text": 5}, 422, "invalid-request"),
        ({"context": "search", "text": "x", "extra": 1}, 422, "invalid-request"),
        ({"context": "search", "text": "x" * 10_001}, 422, "invalid-request"),
        ({"context": "search", "text": "x", "session": "s" * 257}, 422, "invalid-request"),
    ],
)
def test_bad_check_requests_are_problems(
    svc: Svc, body: dict[str, Any], status: int, code: str
) -> None:
    r = svc.client.post("/v1/deter/check", json=body, headers=svc.as_("match"))
    problem(r, status, code)


def test_check_needs_the_match_scope_and_json(svc: Svc) -> None:
    problem(svc.client.post("/v1/deter/check", json={}), 401, "unauthenticated")
    problem(svc.check("curate", text=QUERY), 403, "forbidden")
    r = svc.client.post("/v1/deter/check", content=b"text", headers=svc.as_("match"))
    problem(r, 415, "unsupported-media")
    bad = svc.client.post(
        "/v1/deter/check",
        content=b"{not json",
        headers={**svc.as_("match"), "Content-Type": "application/json"},
    )
    problem(bad, 422, "invalid-request")


def test_upload_matching_a_bank_is_blocked(svc: Svc) -> None:
    banks = svc.state.banks
    banks.create_bank("hotline-a")
    md5 = "0123456789abcdef0123456789abcdef"
    banks.add_entries("hotline-a", [HashRecord.of("md5", md5), HashRecord.of("pdq", BRIDGE_PDQ)])
    svc.state.matcher.refresh_now()
    d = svc.check(context="upload", signals={"md5": md5.upper()}, session="p9").json()
    assert d["intervene"] is True
    assert d["intervention"]["kind"] == "block_and_warn"
    assert (d["reason"], d["rule_id"]) == ("bank-match", "bank:hotline-a")
    # a near-duplicate PDQ (the bridge photo's full-resolution hash, a few bits away)
    near = svc.check(context="upload", signals={"pdq": BRIDGE_PDQ_FULLRES}).json()
    assert near["intervention"]["kind"] == "block_and_warn"
    other = svc.check(context="upload", signals={"md5": "f" * 32}, session="p9").json()
    assert other["intervene"] is False
    assert [r.intervention for r in _rows(svc)] == ["block_and_warn", "block_and_warn"]


# --- outcomes -----------------------------------------------------------------------------------


def test_outcomes_with_an_api_key_count_once(svc: Svc) -> None:
    d = svc.check(text=QUERY, session="p1").json()
    url = f"/v1/deter/events/{d['event_id']}/outcomes"
    first = svc.post(url, {"outcome": "clicked_help"})
    assert first.status_code == 200
    assert first.json()["recorded"] is True
    assert svc.post(url, {"outcome": "clicked_help"}).json()["recorded"] is False
    assert svc.post(url, {"outcome": "left"}).json()["recorded"] is True
    event = svc.runtime.events.get(d["event_id"])
    assert event is not None
    assert event.outcomes == ("clicked_help", "left")


def test_bad_outcomes_are_problems(svc: Svc) -> None:
    d = svc.check(text=QUERY, session="p1").json()
    url = f"/v1/deter/events/{d['event_id']}/outcomes"
    problem(svc.post(url, {"outcome": "shown"}), 400, "invalid-input")
    problem(svc.post(url, {"outcome": "bought"}), 400, "invalid-input")
    problem(svc.post(url, {}), 422, "invalid-request")
    unknown = "/v1/deter/events/00000000-0000-4000-8000-000000000000/outcomes"
    problem(svc.post(unknown, {"outcome": "left"}), 404, "not-found")
    problem(svc.post("/v1/deter/events/nope/outcomes", {"outcome": "left"}), 400, "invalid-input")
    problem(svc.post(url, {"outcome": "left"}, scope=None), 401, "unauthenticated")


def test_widget_outcome_needs_the_events_own_live_token(make_svc: MakeSvc) -> None:
    svc = make_svc(deter_allowed_origins=f"{ORIGIN}, https://other.example")
    a = svc.check(text=QUERY, session="p1").json()
    b = svc.check(text=QUERY, session="p2").json()
    url = "/v1/deter/widget/outcomes"
    hdr = {"Origin": ORIGIN}
    ok = svc.post(url, {**_w(a), "outcome": "left"}, scope=None, headers=hdr)
    assert ok.status_code == 200
    assert ok.json()["recorded"] is True
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    # another event's token, a forged one, an expired one, a malformed one
    stolen = {"event_id": a["event_id"], "token": b["token"], "outcome": "proceeded"}
    problem(svc.post(url, stolen, scope=None, headers=hdr), 403, "forbidden")
    forged = {**_w(a), "token": a["token"][:-4] + "AAAA", "outcome": "proceeded"}
    problem(svc.post(url, forged, scope=None, headers=hdr), 403, "forbidden")
    tokens = svc.runtime.tokens()
    old = tokens.issue(a["event_id"], now=time.time() - tokens.ttl - 5)
    expired = {"event_id": a["event_id"], "token": old, "outcome": "proceeded"}
    body = problem(svc.post(url, expired, scope=None, headers=hdr), 403, "forbidden")
    assert "expired" in body["detail"]
    junk = {"event_id": a["event_id"], "token": "x.y", "outcome": "proceeded"}
    problem(svc.post(url, junk, scope=None, headers=hdr), 403, "forbidden")
    event = svc.runtime.events.get(a["event_id"])
    assert event is not None
    assert event.outcomes == ("left",)
    # a bad outcome with a good token, and an origin the operator did not allow
    problem(svc.post(url, {**_w(a), "outcome": "x"}, scope=None, headers=hdr), 400, "invalid-input")
    evil = {"Origin": "https://evil.example"}
    problem(svc.post(url, {**_w(a), "outcome": "left"}, scope=None, headers=evil), 403, "forbidden")


def _w(decision: dict[str, Any]) -> dict[str, Any]:
    return {"event_id": decision["event_id"], "token": decision["token"]}


def test_preflight_allows_only_the_configured_origins(make_svc: MakeSvc) -> None:
    svc = make_svc(deter_allowed_origins=ORIGIN)
    for path in ("/v1/deter/widget/outcomes", "/v1/deter/chat"):
        pre = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
        r = svc.client.options(path, headers=pre)
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == ORIGIN
        assert "content-type" in r.headers["access-control-allow-headers"].lower()
        bad = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        r = svc.client.options(path, headers=bad)
        assert r.status_code == 403
        assert "access-control-allow-origin" not in r.headers


def test_tokens_unit() -> None:
    tokens = WidgetTokens(b"k" * 32, 60)
    t = tokens.issue("e1", now=1000.0)
    tokens.verify("e1", t, now=1050.0)
    for event, token, now in (("e2", t, 1000.0), ("e1", t, 1061.0), ("e1", "1060.", 1000.0)):
        with pytest.raises(Exception, match="token"):
            tokens.verify(event, token, now=now)


# --- chat ---------------------------------------------------------------------------------------


def test_chat_with_the_widget_token_reaches_help(svc: Svc) -> None:
    d = svc.check(context="message", text=QUERY, session=pseudonym_for(svc, "chatbot")).json()
    state = d["intervention"]["chatbot"]["state"]
    turn = svc.post("/v1/deter/chat", {"state": state, "button": "help", **_w(d)}, scope=None)
    assert turn.status_code == 200, turn.text
    body = turn.json()
    assert body["node"] == "offer_help"
    assert not body["ended"]
    last = svc.post("/v1/deter/chat", {"state": body["state"], "button": "go", **_w(d)}, scope=None)
    end = last.json()
    assert end["ended"] is True
    assert end["help"]
    assert end["buttons"] == []


def test_chat_with_an_api_key_and_free_text(svc: Svc) -> None:
    start = svc.runtime.loader().current.chatbot.start("en", "GB").state.to_dict()
    r = svc.post("/v1/deter/chat", {"state": start, "text": "is it anonymous?"})
    assert r.status_code == 200
    assert r.json()["node"] == "anonymous"


def test_bad_chat_requests_are_problems(svc: Svc) -> None:
    d = svc.check(context="message", text=QUERY, session=pseudonym_for(svc, "chatbot")).json()
    state = d["intervention"]["chatbot"]["state"]
    chat = "/v1/deter/chat"
    problem(svc.post(chat, {"state": state, "button": "help"}, scope=None), 403, "forbidden")
    forged = {"state": state, "button": "help", "event_id": d["event_id"], "token": "1.abc"}
    problem(svc.post(chat, forged, scope=None), 403, "forbidden")
    problem(svc.post(chat, {"state": state, "button": "nope"}), 400, "invalid-input")
    problem(svc.post(chat, {"state": state}), 400, "invalid-input")
    problem(svc.post(chat, {"state": state, "button": "help", "text": "x"}), 400, "invalid-input")
    problem(svc.post(chat, {"state": {"node": "x"}, "button": "help"}), 400, "invalid-input")
    problem(svc.post(chat, {"state": "x", "button": "help"}), 422, "invalid-request")
    problem(svc.post(chat, {"state": state, "button": "help"}, scope="curate"), 403, "forbidden")


# --- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "secret",
    [None, "short-but-random-9x", "changeme-changeme-changeme-changeme", "a" * 40],
)
def test_missing_or_placeholder_secret_refuses_deter(make_svc: MakeSvc, secret: str | None) -> None:
    svc = make_svc(deter_secret=secret)
    body = problem(svc.check(text=QUERY), 503, "not-configured")
    assert "SAFESPACE_DETER_SECRET" in body["detail"]
    assert secret is None or secret not in body["detail"]


def test_check_secret_raises_config_error() -> None:
    for bad in (None, "", "x" * 10, "your-secret-here-your-secret-here-0123"):
        with pytest.raises(ConfigError):
            check_secret(bad)
    assert check_secret("Vq7rT2mXp9LkZc4NwB8sHd3FyJ6gA1eQ") == b"Vq7rT2mXp9LkZc4NwB8sHd3FyJ6gA1eQ"


def test_widget_script_and_styles_are_served(svc: Svc) -> None:
    js = svc.client.get("/v1/deter/widget.js")
    assert js.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript")
    assert "SafeSpaceDeter" in js.text
    css = svc.client.get("/v1/deter/widget.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")


def test_a_second_trigger_marks_the_first_event(svc: Svc) -> None:
    first = svc.check(text=QUERY, session="same").json()
    svc.check(text=QUERY, session="same")
    svc.check(text=QUERY, session="other")
    event = svc.runtime.events.get(first["event_id"])
    assert event is not None
    assert event.outcomes == ("triggered_again",)
    with svc.state.db.session() as s:
        assert s.scalar(select(func.count()).select_from(DeterOutcomeRow)) == 1
