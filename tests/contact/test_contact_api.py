"""``/v1/contact``: decisions, signal events, prompts and outcomes over HTTP, with a key."""

from __future__ import annotations

from typing import Any

import pytest
from contact_helpers import ContactApi

ADULT = {"id": "u-adult", "age_band": "18-plus", "age_assured": True}
TEEN = {"id": "u-teen", "age_band": "13-15"}
NOT_CONNECTED = {"connected": False, "follows": False, "mutual_contacts": 0}


def check(api: ContactApi, action: str, **extra: Any) -> Any:
    body = {"actor": ADULT, "target": TEEN, "relation": NOT_CONNECTED, "action": action}
    return api.post("/v1/contact/check", {**body, **extra})


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{code}"
    return body


def test_a_dm_from_an_unconnected_adult_to_a_teen_is_denied(contact_api: ContactApi) -> None:
    got = check(contact_api, "direct_message")
    assert got.status_code == 200, got.text
    assert got.json() == {
        "decision": "deny",
        "rule": "child-dm-connections-only",
        "prompts": {"actor": None, "target": None},
    }
    connected = check(contact_api, "direct_message", relation={"connected": True})
    assert connected.json()["decision"] == "allow"


def test_a_prompt_decision_carries_the_childs_prompt_with_help(contact_api: ContactApi) -> None:
    got = check(contact_api, "friend_request", country="GB").json()
    assert (got["decision"], got["rule"]) == ("prompt", "adult-request-to-child-no-mutuals")
    prompt = got["prompts"]["target"]
    assert got["prompts"]["actor"] is None
    assert prompt["moment"] == "request-from-stranger"
    assert prompt["variant"] == "plain"
    assert "You don't have to accept" in prompt["text"]
    assert prompt["help"]
    assert all(h["url"].startswith("https://") for h in prompt["help"])
    assert len(prompt["event_id"]) == 36
    recorded = contact_api.post(
        f"/v1/contact/prompts/{prompt['event_id']}/outcomes", {"outcome": "blocked"}
    )
    assert recorded.json()["recorded"] is True
    again = contact_api.post(
        f"/v1/contact/prompts/{prompt['event_id']}/outcomes", {"outcome": "blocked"}
    )
    assert again.json()["recorded"] is False


def test_events_flag_an_adult_who_is_then_denied(contact_api: ContactApi) -> None:
    for n in (1, 2):
        child = {"id": f"child-{n}", "age_band": "13-15"}
        got = contact_api.post(
            "/v1/contact/events", {"type": "block", "actor": child, "target": ADULT}
        )
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["stored"] is True
        assert body["prompt"]["moment"] == "after-block"
        assert body["prompt"]["title"] == "You blocked this account"
    denied = check(contact_api, "direct_message", relation={"connected": True}).json()
    assert (denied["decision"], denied["rule"]) == ("deny", "flagged-adult-to-child")
    assert check(contact_api, "suggest", relation={"connected": True}).json()["decision"] == "deny"


def test_events_between_adults_are_not_kept(contact_api: ContactApi) -> None:
    other = {"id": "u-other", "age_band": "18-plus"}
    got = contact_api.post(
        "/v1/contact/events", {"type": "report", "actor": other, "target": ADULT}
    )
    assert got.json() == {"stored": False, "prompt": None}


def test_a_moment_prompt_for_a_default_turned_off(contact_api: ContactApi) -> None:
    got = contact_api.post(
        "/v1/contact/prompts", {"moment": "default-turned-off", "account": TEEN, "locale": "en-GB"}
    )
    assert got.status_code == 200, got.text
    assert got.json()["title"] == "You changed who can contact you"
    problem(
        contact_api.post("/v1/contact/prompts", {"moment": "nope", "account": TEEN}),
        404,
        "not-found",
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"actor": ADULT, "target": TEEN, "action": "poke"}, 400, "invalid-input"),
        (
            {"actor": {**ADULT, "age_band": "adult"}, "target": TEEN, "action": "follow"},
            400,
            "invalid-input",
        ),
        ({"actor": ADULT, "target": TEEN}, 422, "invalid-request"),
        ({"actor": ADULT, "target": TEEN, "action": "follow", "extra": 1}, 422, "invalid-request"),
        (
            {"actor": ADULT, "target": TEEN, "action": "follow", "country": "GBR"},
            400,
            "invalid-input",
        ),
        (
            {
                "actor": ADULT,
                "target": TEEN,
                "action": "follow",
                "relation": {"mutual_contacts": -1},
            },
            422,
            "invalid-request",
        ),
        ({"actor": {"id": ""}, "target": TEEN, "action": "follow"}, 422, "invalid-request"),
    ],
)
def test_bad_input_is_a_problem(
    contact_api: ContactApi, body: dict[str, Any], status: int, code: str
) -> None:
    problem(contact_api.post("/v1/contact/check", body), status, code)


def test_bad_events_and_outcomes_are_problems(contact_api: ContactApi) -> None:
    problem(
        contact_api.post("/v1/contact/events", {"type": "wave", "actor": TEEN, "target": ADULT}),
        400,
        "invalid-input",
    )
    problem(
        contact_api.post("/v1/contact/prompts/not-a-uuid/outcomes", {"outcome": "blocked"}),
        400,
        "invalid-input",
    )
    problem(
        contact_api.post(
            "/v1/contact/prompts/00000000-0000-0000-0000-000000000000/outcomes",
            {"outcome": "blocked"},
        ),
        404,
        "not-found",
    )


def test_a_key_with_the_contact_scope_is_needed(contact_api: ContactApi) -> None:
    body = {"actor": ADULT, "target": TEEN, "action": "follow"}
    assert contact_api.post("/v1/contact/check", body, scope="").status_code == 401
    problem(contact_api.post("/v1/contact/check", body, scope="match"), 403, "forbidden")
    assert contact_api.post("/v1/contact/check", body, scope="admin").status_code == 200


def test_the_tick_is_driven_by_the_test_and_reloads_flags(contact_api: ContactApi) -> None:
    check(contact_api, "follow")
    service = contact_api.runtime().service()
    service.tick(monotonic=0.0)
    assert service.signals.flagged_count == 0


def test_without_a_secret_contact_is_not_configured(start_app: Any) -> None:
    started = start_app()
    key = started.state.keys.create("contact", name="k")[1]
    got = started.client.post(
        "/v1/contact/check",
        json={"actor": ADULT, "target": TEEN, "action": "follow"},
        headers={"Authorization": f"Bearer {key}"},
    )
    problem(got, 503, "not-configured")


def test_conversation_scoring_is_off_by_default(contact_api: ContactApi) -> None:
    body = {"messages": [{"sender": "adult", "text": "send me a pic"}]}
    problem(contact_api.post("/v1/contact/conversations/score", body), 503, "not-configured")
    bad = {"messages": [{"sender": "stranger", "text": "hi"}]}
    problem(contact_api.post("/v1/contact/conversations/score", bad), 400, "invalid-input")


def test_a_risky_conversation_goes_to_review_without_its_text(
    start_app: Any, tmp_path: Any
) -> None:
    """With scoring on and a conversation_id, a conversation where a rule fired becomes one
    review item (source conversation, priority 1) that names the rules and word spans only;
    scoring it again adds to that item; a quiet conversation makes none."""
    from contact_helpers import SECRET
    from sqlalchemy import select

    from safespace.reports import _audit as audit
    from safespace.store import ReviewItem

    deter = tmp_path / "deter"
    deter.mkdir()
    (deter / "contact_policy.yaml").write_text(
        "version: 1\nextends: default\nconversation_risk: {enabled: true}\n", encoding="utf-8"
    )
    started = start_app(deter_secret=SECRET, deter_dir=deter)
    key = started.state.keys.create("contact", name="k")[1]

    def score(body: dict[str, Any]) -> dict[str, Any]:
        got = started.client.post(
            "/v1/contact/conversations/score", json=body,
            headers={"Authorization": f"Bearer {key}"},
        )  # fmt: skip
        assert got.status_code == 200, got.text
        result: dict[str, Any] = got.json()
        return result

    risky = [
        {"sender": "adult", "text": "you can keep this between us"},
        {"sender": "child", "text": "ok"},
        {"sender": "adult", "text": "where do you live? we could meet up"},
    ]
    first = score({"messages": risky, "conversation_id": "c-17", "account_id": "u-adult"})
    assert first["review_item"]["new"] is True
    again = score({"messages": risky, "conversation_id": "c-17"})
    assert again["review_item"] == {"id": first["review_item"]["id"], "new": False}
    assert score({"messages": risky})["review_item"] is None  # no id: nothing to review
    quiet = [{"sender": "adult", "text": "what games do you like?"}]
    assert score({"messages": quiet, "conversation_id": "c-18"})["review_item"] is None

    with started.state.db.session() as s:
        (item,) = s.scalars(select(ReviewItem)).all()
        assert (item.source, item.priority, item.content_id, item.account_id) == (
            "conversation", 1, "conversation:c-17", "u-adult",
        )  # fmt: skip
        assert item.reports == 2
        assert "builtin-risk:sec-5 in message 1" in (item.reason or "")
        assert "meeting" in (item.reason or "")
        for words in ("between", "live", "meet up", "keep this"):
            assert words not in (item.reason or "")
        assert audit.verify(s).ok
