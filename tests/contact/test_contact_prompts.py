"""Supportive prompts: wording, help by country, random variants through Deter's experiment
machinery, outcomes recorded, and the experiment analysed as Deter's are."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select

from safespace.contact import Account, ContactRequest, load_policy
from safespace.contact._prompts import help_for
from safespace.contact._service import ContactService
from safespace.deter._report import render_html
from safespace.errors import ConfigError
from safespace.store import Database
from safespace.store._models_contact import ContactPromptRow

SECRET = b"prompt-tests-0f9e8d7c6b5a4f3e2d1c0b9a"
ADULT = Account("grown-up", "18-plus", True)
EXPERIMENT = """
version: 1
extends: default
prompts:
  experiments:
    - id: stranger-requests
      moments: [request-from-stranger]
      control: plain
      arms:
        - {id: plain, variant: plain}
        - {id: check-in, variant: check-in}
      plan: {baseline: 0.05, target: 0.10}
"""


def request_from_stranger(n: int) -> ContactRequest:
    return ContactRequest(ADULT, Account(f"child-{n}", "13-15"), "friend_request", country="GB")


def test_every_prompt_is_plain_and_never_blames_the_child() -> None:
    blaming = re.compile(
        r"\byou should(n't| not)? have\b|\bwhy did you\b|\byour (own )?fault\b|\bcareless\b", re.I
    )
    for moment in load_policy().moments.values():
        for title, text in moment.variants.values():
            for words in (title, text):
                cleaned = re.sub(r"\bit is not your fault\b", "", words, flags=re.I)
                assert not blaming.search(cleaned), (moment.id, words)
                assert len(words) < 300


def test_help_services_come_from_the_self_report_directory_country_first() -> None:
    uk = help_for("en", "GB", "13-15")
    assert uk
    assert uk[0]["name"] in {"Childline Report Remove", "Childline"}
    us = help_for("en-US", None, "13-15")
    assert us
    assert us[0]["url"].startswith("https://")
    assert help_for("en", None, "unknown")  # the international services at least


def test_a_prompt_without_an_experiment_shows_the_default_and_is_recorded(
    database: Database,
) -> None:
    service = ContactService(database, SECRET)
    decision = service.check(request_from_stranger(1))
    prompt = decision.target_prompt
    assert prompt is not None
    assert (prompt.variant, prompt.experiment, prompt.arm) == ("plain", None, None)
    with database.session() as s:
        rows = s.execute(select(ContactPromptRow.pseudonym, ContactPromptRow.moment)).all()
    assert rows == [(service.signals.key_for("child-1"), "request-from-stranger")]


def test_variants_are_assigned_at_random_and_outcomes_analysed(
    database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(textwrap.dedent(EXPERIMENT), encoding="utf-8")
    service = ContactService(database, SECRET, policy_path=path)
    arms: dict[str, str] = {}
    for n in range(60):
        prompt = service.check(request_from_stranger(n)).target_prompt
        assert prompt is not None
        assert prompt.experiment == "stranger-requests"
        assert prompt.arm is not None
        arms[f"child-{n}"] = prompt.arm
        assert prompt.event_id is not None
        if n % 3 == 0:
            assert service.prompts.add_outcome(prompt.event_id, "blocked")
    assert set(arms.values()) == {"plain", "check-in"}
    again = service.check(request_from_stranger(7)).target_prompt
    assert again is not None
    assert again.arm == arms["child-7"]  # stable for one child within a rotation period
    counts = service.prompts.counts("stranger-requests")
    assert sum(row["shown"] for row in counts.values()) == 61
    assert sum(row["blocked"] for row in counts.values()) == 20
    report = service.prompts.report(service.experiment("stranger-requests"), outcome="blocked")
    assert report.control == "plain"
    assert report.outcomes[0].outcome == "blocked"
    assert report.outcomes[0].analysis is not None
    assert "stranger-requests" in render_html(report, plots=False)


def test_a_block_by_a_child_gets_a_prompt_an_adults_block_does_not(database: Database) -> None:
    service = ContactService(database, SECRET)
    stored, prompt = service.event("block", Account("kid", "under-13"), ADULT, country="GB")
    assert stored
    assert prompt is not None
    assert prompt.moment == "after-block"
    assert prompt.help
    _, none = service.event("block", ADULT, Account("other-adult", "18-plus"))
    assert none is None


def test_an_experiment_control_must_be_neutral(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        textwrap.dedent(EXPERIMENT).replace("control: plain", "control: check-in"),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="neutral"):
        load_policy(path)
