"""``decide``: contexts, uploads, input limits, and the shape of a decision."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safespace.deter import KINDS, REASONS, DecisionRequest, Deterrer
from safespace.errors import InvalidInput


def test_upload_bank_match_blocks_and_warns(deterrer: Deterrer) -> None:
    decision = deterrer.decide(
        DecisionRequest("upload", session="p", upload_matched=True, match_info="demo", country="GB")
    )
    assert decision.intervene
    assert decision.reason == "bank-match"
    assert decision.rule_id == "bank:demo"
    assert decision.intervention.kind == "block_and_warn"
    assert decision.intervention.title == "This file was not uploaded"
    assert "Sexual images of children are illegal" in decision.intervention.body
    assert decision.intervention.help[0].id == "stop-it-now-uk"


def test_bank_match_is_not_overridden_by_help_words(deterrer: Deterrer) -> None:
    decision = deterrer.decide(
        DecisionRequest("upload", "stop it now", session="p", upload_matched=True)
    )
    assert decision.reason == "bank-match"


def test_upload_without_match_checks_its_caption(deterrer: Deterrer) -> None:
    assert deterrer.decide(DecisionRequest("upload", "holiday photo")).reason == "none"
    decision = deterrer.decide(DecisionRequest("upload", "teen nude"))
    assert (decision.reason, decision.intervention.kind) == ("builtin-minor-sexual", "warning")


@pytest.mark.parametrize("context", ["search", "message", "url"])
def test_text_contexts(deterrer: Deterrer, context: str) -> None:
    assert deterrer.decide(DecisionRequest(context, "teen sex")).intervene


def test_urls_are_split_into_words(deterrer: Deterrer) -> None:
    url = "https://example.com/videos/teen-sex_12.html?q=1"
    assert deterrer.decide(DecisionRequest("url", url)).reason == "builtin-minor-sexual"
    assert deterrer.decide(DecisionRequest("url", "https://essex.example/kids")).reason == "none"


def test_country_from_locale_region(deterrer: Deterrer) -> None:
    us = deterrer.decide(DecisionRequest("search", "teen sex", locale="en-US"))
    assert us.intervention.help[0].id == "stop-it-now-us"
    assert "Stop It Now (US)" in us.intervention.body
    au = deterrer.decide(DecisionRequest("search", "teen sex", locale="en", country="au"))
    assert au.intervention.help[0].id == "stop-it-now-au"


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (DecisionRequest("shopping", "x"), "unknown context 'shopping'"),
        (DecisionRequest("search", "x" * 10_001), "text longer than"),
        (DecisionRequest("search", "x", session="s" * 300), "pseudonym longer than"),
        (DecisionRequest("search", "x", country="Britain"), "two-letter code"),
    ],
)
def test_bad_requests(deterrer: Deterrer, request_: DecisionRequest, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        deterrer.decide(request_)


def test_decision_serialises(deterrer: Deterrer) -> None:
    decision = deterrer.decide(DecisionRequest("search", "teen sex", session="p"))
    data = json.loads(json.dumps(decision.to_dict()))
    assert data["reason"] in REASONS
    assert data["intervention"]["kind"] in KINDS
    assert set(data) >= {
        "intervene", "intervention", "reason", "rule_id", "experiment", "arm", "event_id",
    }  # fmt: skip
    assert "session" not in data  # the pseudonym goes into events, not into responses


def test_no_intervention_decision(deterrer: Deterrer) -> None:
    decision = deterrer.decide(DecisionRequest("search", "weather tomorrow"))
    assert not decision.intervene
    assert decision.intervention is None
    assert (decision.reason, decision.rule_id, decision.arm) == ("none", None, None)


def test_hostile_unicode_does_not_crash(deterrer: Any) -> None:
    for text in ("\udcff", "\x00" * 50, "🅣" * 3000, "\u202e" + "xes neet", "ǅ" * 10):
        deterrer.decide(DecisionRequest("search", text))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60) | st.text(alphabet="0123456789yo ᧚①²٣ teenudsx", max_size=30))
def test_any_text_gets_a_decision(data: Any, text: str) -> None:
    decision = Deterrer(data, b"fuzz-secret-0123456789").decide(DecisionRequest("search", text))
    assert decision.reason in REASONS


def test_unusual_digits(deterrer: Deterrer) -> None:
    assert deterrer.decide(DecisionRequest("search", "\u19da\u19da yo nude")).reason == "none"
    assert deterrer.decide(DecisionRequest("search", "١٢ yo nude")).reason == (
        "builtin-minor-sexual"  # Arabic-Indic digits are digits
    )
