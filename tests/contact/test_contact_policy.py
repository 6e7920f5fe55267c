"""The default contact policy, rule by rule, and the checks a policy file must pass."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from safespace.contact import (
    ACTIONS,
    Account,
    ContactLoader,
    ContactRequest,
    Engine,
    Relation,
    load_policy,
)
from safespace.errors import ConfigError, InvalidInput

CHILD_BANDS = ("under-13", "13-15", "16-17")
NOT_CONNECTED = Relation(connected=False, follows=False, mutual_contacts=0)
CONNECTED = Relation(connected=True, follows=True, mutual_contacts=3)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_policy())


def ask(
    engine: Engine,
    action: str,
    *,
    actor: str = "18-plus",
    target: str = "13-15",
    relation: Relation = NOT_CONNECTED,
    flagged: bool = False,
    country: str | None = None,
    actor_assured: bool = False,
) -> tuple[str, str]:
    req = ContactRequest(
        Account("a", actor, actor_assured), Account("t", target), action, relation, country
    )
    v = engine.decide(req, actor_flagged=flagged)
    return v.decision, v.rule


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- the default rules, one test each -----------------------------------------------------


@pytest.mark.parametrize("action", ACTIONS)
def test_flagged_adult_to_child_is_denied_every_action_even_when_connected(
    engine: Engine, action: str
) -> None:
    for relation in (NOT_CONNECTED, CONNECTED):
        assert ask(engine, action, relation=relation, flagged=True) == (
            "deny",
            "flagged-adult-to-child",
        )


def test_flagged_adult_to_adult_is_not_affected(engine: Engine) -> None:
    assert ask(engine, "direct_message", target="18-plus", flagged=True) == ("allow", "default")


@pytest.mark.parametrize("band", [*CHILD_BANDS, "unknown"])
def test_child_location_hidden_from_everyone(engine: Engine, band: str) -> None:
    for actor in ("18-plus", "13-15"):
        assert ask(engine, "see_location", actor=actor, target=band, relation=CONNECTED) == (
            "deny",
            "child-location-hidden",
        )
    assert ask(engine, "see_location", target="18-plus") == ("allow", "default")


def test_child_not_in_connection_lists_of_non_connections(engine: Engine) -> None:
    assert ask(engine, "connection_list") == ("deny", "child-not-in-connection-lists")
    assert ask(engine, "connection_list", actor="13-15") == (
        "deny",
        "child-not-in-connection-lists",
    )
    assert ask(engine, "connection_list", relation=CONNECTED) == ("allow", "default")


def test_child_not_suggested_to_non_connections(engine: Engine) -> None:
    many = Relation(connected=False, follows=True, mutual_contacts=50)
    assert ask(engine, "suggest") == ("deny", "child-not-suggested")
    assert ask(engine, "suggest", relation=many) == ("deny", "child-not-suggested")
    assert ask(engine, "suggest", actor="13-15") == ("deny", "child-not-suggested")
    assert ask(engine, "suggest", target="18-plus") == ("allow", "default")


def test_child_dm_only_from_connections_or_people_they_follow(engine: Engine) -> None:
    assert ask(engine, "direct_message") == ("deny", "child-dm-connections-only")
    assert ask(engine, "direct_message", actor="13-15") == ("deny", "child-dm-connections-only")
    assert ask(engine, "direct_message", relation=CONNECTED) == ("allow", "default")
    followed = Relation(connected=False, follows=True)
    assert ask(engine, "direct_message", relation=followed) == ("allow", "default")
    assert ask(engine, "direct_message", target="18-plus") == ("allow", "default")


def test_adult_message_request_to_child_is_denied(engine: Engine) -> None:
    assert ask(engine, "message_request") == ("deny", "adult-message-request-to-child")
    assert ask(engine, "message_request", actor="unknown") == (
        "deny",
        "adult-message-request-to-child",
    )


def test_message_request_from_a_child_stranger_is_prompted(engine: Engine) -> None:
    req = ContactRequest(Account("a", "13-15"), Account("t", "13-15"), "message_request")
    v = engine.decide(req, actor_flagged=False)
    assert (v.decision, v.rule) == ("prompt", "stranger-message-request-to-child")
    assert v.target_moment == "message-request-from-stranger"
    assert v.actor_moment is None


@pytest.mark.parametrize("action", ["tag", "add_to_group", "live_invite"])
def test_child_tag_group_live_only_from_connections(engine: Engine, action: str) -> None:
    assert ask(engine, action) == ("deny", "child-tag-group-live-connections-only")
    assert ask(engine, action, actor="16-17") == ("deny", "child-tag-group-live-connections-only")
    assert ask(engine, action, relation=CONNECTED) == ("allow", "default")


@pytest.mark.parametrize("action", ["friend_request", "follow"])
def test_adult_request_with_no_mutuals_is_prompted(engine: Engine, action: str) -> None:
    assert ask(engine, action) == ("prompt", "adult-request-to-child-no-mutuals")
    some = Relation(connected=False, mutual_contacts=2)
    assert ask(engine, action, relation=some) == ("allow", "default")
    assert ask(engine, action, actor="13-15") == ("allow", "default")


def test_adults_between_themselves_are_allowed_everything(engine: Engine) -> None:
    for action in ACTIONS:
        assert ask(engine, action, target="18-plus") == ("allow", "default")


def test_unknown_age_is_a_child_as_target_and_an_adult_as_actor(engine: Engine) -> None:
    assert ask(engine, "direct_message", target="unknown") == ("deny", "child-dm-connections-only")
    assert ask(engine, "message_request", actor="unknown", target="13-15")[0] == "deny"
    assert ask(engine, "direct_message", actor="unknown", target="unknown", flagged=True) == (
        "deny",
        "flagged-adult-to-child",
    )


# --- policy options ---------------------------------------------------------------------


def test_country_age_limit_changes_who_is_a_child(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        extends: default
        age_limits: {countries: {XX: 16, yy: 13}}
        """,
    )
    engine = Engine(load_policy(path))
    assert ask(engine, "suggest", target="16-17")[0] == "deny"
    assert ask(engine, "suggest", target="16-17", country="XX") == ("allow", "default")
    assert ask(engine, "suggest", target="13-15", country="XX")[0] == "deny"
    assert ask(engine, "suggest", target="13-15", country="YY") == ("allow", "default")
    assert ask(engine, "suggest", target="under-13", country="YY")[0] == "deny"


def test_unassured_child_actor_can_be_treated_as_an_adult(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nextends: default\nunassured_actor_as_adult: true\n")
    engine = Engine(load_policy(path))
    assert ask(engine, "message_request", actor="13-15")[1] == "adult-message-request-to-child"
    got = ask(engine, "message_request", actor="13-15", actor_assured=True)
    assert got[1] == "stranger-message-request-to-child"


def test_operator_rules_come_first_and_disable_drops_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        extends: default
        disable: [adult-request-to-child-no-mutuals]
        rules:
          - id: no-live-invites-at-all
            when: {actions: [live_invite]}
            decision: deny
        """,
    )
    engine = Engine(load_policy(path))
    assert ask(engine, "live_invite", target="18-plus") == ("deny", "no-live-invites-at-all")
    assert ask(engine, "follow") == ("allow", "default")
    assert ask(engine, "direct_message") == ("deny", "child-dm-connections-only")


def test_a_policy_leaving_children_reachable_by_unconnected_adults_is_refused(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        extends: default
        rules:
          - id: let-everyone-message
            when: {actions: [direct_message]}
            decision: allow
        """,
    )
    with pytest.raises(ConfigError, match=r"let-everyone-message.*allow_unconnected_adult_dm"):
        load_policy(path)


def test_dropping_the_dm_default_is_refused_too(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nextends: default\ndisable: [child-dm-connections-only]\n")
    with pytest.raises(ConfigError, match="'default' lets an adult with no connection"):
        load_policy(path)


def test_the_reachability_check_follows_the_age_limit_set(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        extends: none
        rules:
          - id: dm-only-under-13
            when: {actions: [direct_message], target: child, connected: false, follows: false}
            decision: deny
        age_limits: {default: 13}
        """,
    )
    policy = load_policy(path)  # 13-15 are adults here: the operator set the limit so
    assert policy.default_age_limit == 13


def test_saying_so_explicitly_allows_it(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        version: 1
        extends: default
        allow_unconnected_adult_dm_to_children: true
        disable: [child-dm-connections-only]
        """,
    )
    engine = Engine(load_policy(path))
    assert ask(engine, "direct_message") == ("allow", "default")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("version: 2\n", "unsupported version"),
        ("version: 1\nextends: default\nsurprise: 1\n", "unknown key 'surprise'"),
        ("version: 1\nextends: none\n", "needs 'rules'"),
        ("version: 1\nextends: default\nage_limits: {default: 15}\n", "age limit must be one"),
        ("version: 1\nextends: default\nage_limits: {countries: {GBR: 18}}\n", "two-letter"),
        ("version: 1\nextends: default\ndisable: [nope]\n", "no default rule 'nope'"),
        (
            "version: 1\nextends: default\n"
            "rules: [{id: x, when: {actions: [wave]}, decision: deny}]\n",
            "'wave' is not one of",
        ),
        (
            "version: 1\nextends: default\nrules: [{id: x, decision: maybe}]\n",
            "'maybe' is not one of",
        ),
        (
            "version: 1\nextends: default\n"
            "rules: [{id: x, decision: prompt, prompts: {target: nope}}]\n",
            "no prompt moment 'nope'",
        ),
        (
            "version: 1\nextends: default\n"
            "rules: [{id: x, decision: prompt,"
            " prompts: {actor: after-block, target: after-block}}]\n",
            "shown to the actor",
        ),
        (
            "version: 1\nextends: default\nrules: [{id: child-not-suggested, decision: deny}]\n",
            "duplicate rule id",
        ),
        (
            "version: 1\nextends: default\nsignals: {window_days: 100, retention_days: 30}\n",
            "must not be longer than retention_days",
        ),
        ("version: 1\nextends: default\nsignals: {ignored_share: 2}\n", "at most 1.0"),
        (
            "version: 1\nextends: default\nconversation_risk: {enabled: true, terms: [no.yaml]}\n",
            "no term list at",
        ),
    ],
)
def test_bad_policy_files_name_the_problem(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_policy(write(tmp_path, body))


def test_loader_reloads_a_changed_file_and_keeps_the_old_policy_when_bad(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "version: 1\nextends: default\n")
    loader = ContactLoader(path)
    assert not loader.reload_if_changed()
    path.write_text(
        "version: 1\nextends: default\n"
        "rules: [{id: no-follows, when: {actions: [follow]}, decision: deny}]\n",
        encoding="utf-8",
    )
    assert loader.reload_if_changed()
    assert loader.engine.policy.rules[0].id == "no-follows"
    path.write_text("version: 1\nextends: default\nrules: [{id: BAD}]\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        loader.reload_if_changed()
    assert loader.engine.policy.rules[0].id == "no-follows"
    assert not loader.reload_if_changed()  # a bad file is reported once


def test_requests_are_checked() -> None:
    with pytest.raises(InvalidInput, match="age band"):
        Account("a", "teen")
    with pytest.raises(InvalidInput, match="account id"):
        Account("", "13-15")
    with pytest.raises(InvalidInput, match="unknown action"):
        ContactRequest(Account("a"), Account("b"), "poke")
    with pytest.raises(InvalidInput, match="country"):
        ContactRequest(Account("a"), Account("b"), "follow", country="GBR")
    with pytest.raises(InvalidInput, match="negative"):
        Relation(mutual_contacts=-1)
