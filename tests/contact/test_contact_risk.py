"""The conversation-risk scorer: rules from term lists, spans not text, off by default."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from safespace.contact._risk import LABELS, Message, RuleScorer, risk_summary
from safespace.contact._service import ContactService
from safespace.errors import ConfigError, InvalidInput, NotConfigured
from safespace.store import Database

SECRET = b"risk-tests-0123456789abcdef0123456789"
CONVERSATION = [
    Message("adult", "hey, what games do you like?"),
    Message("child", "minecraft! don't tell anyone but I'm bad at it"),
    Message("adult", "cool. dont tell your parents ok? s3nd me a pic"),
    Message("adult", "we could meet up at the park"),
]


def test_each_label_fires_on_the_adults_messages_only_with_word_spans() -> None:
    got = RuleScorer.from_files().score(CONVERSATION)
    fired = {(h.label, h.message, h.start_word, h.end_word) for h in got.hits}
    assert fired == {
        ("secrecy", 2, 1, 5),  # "dont tell your parents"
        ("image_request", 2, 6, 10),  # "s3nd me a pic", as normalised
        ("meeting", 3, 2, 4),  # "meet up"
    }
    assert got.scores == {
        "image_request": 0.5, "secrecy": 0.5, "platform_move": 0.0, "meeting": 0.5,
    }  # fmt: skip
    assert all(h.rule.startswith("builtin-risk:") for h in got.hits)
    text = repr(got.to_dict())
    assert "parents" not in text
    assert "pic" not in text


def test_more_distinct_rules_raise_a_score() -> None:
    got = RuleScorer.from_files().score(
        [Message("adult", "add me on the other app"), Message("adult", "what's your number?")]
    )
    assert got.scores["platform_move"] == 0.75


def test_operator_lists_add_rules_and_must_use_the_labels(tmp_path: Path) -> None:
    good = tmp_path / "ours.yaml"
    good.write_text(
        "version: 1\nterms:\n  - {id: webcam, term: open your webcam, category: image_request}\n",
        encoding="utf-8",
    )
    got = RuleScorer.from_files([good]).score([Message("adult", "Open your w3bcam now")])
    assert [h.rule for h in got.hits] == ["ours:webcam"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nterms: [{term: hello, category: chat}]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="category must be one of"):
        RuleScorer.from_files([bad])


def test_scoring_is_off_unless_the_policy_turns_it_on(database: Database, tmp_path: Path) -> None:
    with pytest.raises(NotConfigured):
        ContactService(database, SECRET).assess_conversation(CONVERSATION)
    (tmp_path / "ours.yaml").write_text(
        "version: 1\nterms: [{term: video call me, category: image_request}]\n", encoding="utf-8"
    )
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        textwrap.dedent(
            """
            version: 1
            extends: default
            conversation_risk: {enabled: true, terms: [ours.yaml]}
            """
        ),
        encoding="utf-8",
    )
    service = ContactService(database, SECRET, policy_path=policy)
    assert service.assess_conversation(CONVERSATION).scores["meeting"] == 0.5
    later = service.assess_conversation([Message("adult", "video call me tonight")])
    assert [h.rule for h in later.hits] == ["ours:1"]


def test_messages_are_checked() -> None:
    with pytest.raises(InvalidInput, match="sender"):
        Message("stranger", "hi")
    with pytest.raises(InvalidInput, match="at most"):
        Message("adult", "x" * 10_001)
    assert set(LABELS) == {"image_request", "secrecy", "platform_move", "meeting"}


def test_the_review_score_is_a_share_between_0_and_1(database: Database, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    for value, ok in (("0.75", True), ("1.5", False), ("-0.1", False), ("high", False)):
        policy.write_text(
            "version: 1\nextends: default\n"
            f"conversation_risk: {{enabled: true, review_score: {value}}}\n",
            encoding="utf-8",
        )
        if ok:
            service = ContactService(database, SECRET, policy_path=policy)
            assert service.loader.policy.risk_review_score == 0.75
        else:
            with pytest.raises(ConfigError, match="review_score"):
                ContactService(database, SECRET, policy_path=policy)


def test_the_summary_names_rules_and_spans_never_words() -> None:
    got = RuleScorer.from_files().score(CONVERSATION)
    summary = risk_summary(got)
    assert "builtin-risk:" in summary
    assert "message 3, words 2-5" in summary  # "dont tell your parents"
    for words in ("parents", "pic", "park", "meet up"):
        assert words not in summary
