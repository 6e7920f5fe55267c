"""The built-in rule, help-seeking precedence and operator terms, through ``decide``.

The built-in rule is generic vocabulary only; operator terms here are placeholder tokens
(``zzterm1``, ``qqplaceholder``), never real search terms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from safespace.deter import DecisionRequest, Deterrer
from safespace.deter._detect import Detector, load_vocabulary
from safespace.deter._loading import DEFAULT_DATA_DIR
from safespace.deter._terms import TermMatcher, load_term_file


def _decide(d: Deterrer, text: str, context: str = "search", **kw: object) -> tuple[str, str]:
    decision = d.decide(DecisionRequest(context, text, session="s1", **kw))  # type: ignore[arg-type]
    kind = decision.intervention.kind if decision.intervention else "-"
    return decision.reason, kind


@pytest.mark.parametrize(
    "query",
    [
        "teen sex",
        "child porn",  # generic words only: "child" + a sexual term
        "nude kids",
        "naked toddler",
        "underage nudes",
        "12yo nude",
        "12 yo nude",
        "12 y/o naked",
        "nude 12 year old",
        "12-year-old sexy",
        "twelve year old nude",
        "age 13 nude",
        "aged 9 sexy",
        "under 16 sex",
        "14 girl naked",
        "sexy 11yrs",
        # obfuscated
        "t33n s3x",
        "T E E N  S E X",
        "ｔｅｅｎ ｓｅｘ",
        "teeeen seeeex",
        "tееn sеx",  # Cyrillic е
        "k1ds p0rn",
        "1 2 y o nude",
    ],
)
def test_builtin_rule_hits(deterrer: Deterrer, query: str) -> None:
    assert _decide(deterrer, query) == ("builtin-minor-sexual", "warning")


@pytest.mark.parametrize(
    "query",
    [
        "kids shoes size 12",
        "teen fiction books",
        "child sex education curriculum",  # educational context switches the rule off
        "sex education for teens",
        "teen sexting advice for parents",
        "puberty talk with kids",
        "age of consent laws teen sex",
        "child sex offender registry",
        "baby gender reveal",
        "top 10 sex tips",  # a bare number is not an age
        "ten sex tips",  # "ten" is not "teen"
        "sex tips for 40 year olds",  # not under 18
        "18 year old nude model",  # not under 18
        "essex kids football",  # "sex" inside a longer word
        "xbox kids",
        "sussex school holidays",
        "children's hospital",
        "naked mole rat facts",
        "pornography addiction recovery",  # adults, no minor
        "",
    ],
)
def test_builtin_rule_non_hits(deterrer: Deterrer, query: str) -> None:
    assert _decide(deterrer, query) == ("none", "-")


@pytest.mark.parametrize(
    ("query", "audience_service"),
    [
        ("how to report child abuse images", "iwf-report"),
        ("report child sexual abuse material", "iwf-report"),
        ("child protection training", "nspcc-helpline"),
        ("safeguarding children online course", "nspcc-helpline"),
        ("I am worried about my thoughts", "stop-it-now-uk"),
        ("worried about my sexual thoughts", "stop-it-now-uk"),
        ("stop it now helpline", "stop-it-now-uk"),
        ("I can't stop looking at teen porn", "stop-it-now-uk"),  # help wins over the rule
        ("help i am attracted to children", "stop-it-now-uk"),
        ("my nudes were shared", "childline"),
    ],
)
def test_help_seeking_gets_help_not_a_warning(
    deterrer: Deterrer, query: str, audience_service: str
) -> None:
    decision = deterrer.decide(DecisionRequest("search", query, session="s", country="GB"))
    assert decision.reason == "help-seeking"
    assert decision.intervention is not None
    assert decision.intervention.kind == "help"
    assert audience_service in [h.id for h in decision.intervention.help]
    assert "illegal" not in decision.intervention.body.lower()


def test_weak_help_words_need_the_topic(deterrer: Deterrer) -> None:
    assert _decide(deterrer, "quarterly report template") == ("none", "-")
    assert _decide(deterrer, "training shoes") == ("none", "-")
    assert _decide(deterrer, "how to report child abuse")[0] == "help-seeking"


def test_help_keeps_the_rules_that_fired(deterrer: Deterrer) -> None:
    decision = deterrer.decide(DecisionRequest("search", "teen porn help", session="s"))
    assert decision.reason == "help-seeking"
    assert decision.matched_rules == (
        "builtin-minor-sexual",
    )  # the platform may still hide results


# --- operator terms ---------------------------------------------------------------------------


@pytest.fixture
def with_terms(make_dir: Any, build: Any) -> Deterrer:
    folder = make_dir(
        {
            "terms/main_list.txt": "# placeholder terms\nzzterm1\nqqplaceholder\n\nzz multi word\n",
            "terms/extra.yaml": (
                "version: 1\ncategory: cat-a\nterms:\n"
                "  - zzterm2\n"
                "  - {id: sub, term: qqsub, category: cat-b, match: substring}\n"
            ),
        }
    )
    return build(folder)  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("query", "rule"),
    [
        ("zzterm1", "main_list:2"),
        ("ZZTERM1 videos", "main_list:2"),
        ("z z t e r m 1", "main_list:2"),
        ("zzt3rm1", "main_list:2"),
        ("ｚｚｔｅｒｍ１", "main_list:2"),
        ("some qqpl4c3h0ld3r here", "main_list:3"),
        ("zz multi word", "main_list:5"),
        ("zz  multi-word", "main_list:5"),
        ("zzterm2", "extra:1"),
        ("xxqqsubyy", "extra:sub"),  # substring mode
    ],
)
def test_operator_terms_match_disguised(with_terms: Deterrer, query: str, rule: str) -> None:
    decision = with_terms.decide(DecisionRequest("search", query, session="s"))
    assert (decision.reason, decision.rule_id) == ("operator-term", rule)


def test_operator_terms_are_whole_words_by_default(with_terms: Deterrer) -> None:
    for query in ("zzterm1x", "xzzterm1", "zz multi", "multi word"):
        assert with_terms.decide(DecisionRequest("search", query)).reason == "none", query


def test_operator_term_category(with_terms: Deterrer) -> None:
    decision = with_terms.decide(DecisionRequest("search", "zzterm2"))
    assert decision.rule_category == "cat-a"


def test_strong_help_wins_over_operator_terms_weak_help_does_not(with_terms: Deterrer) -> None:
    assert with_terms.decide(DecisionRequest("search", "stop it now zzterm1")).reason == (
        "help-seeking"
    )
    assert with_terms.decide(DecisionRequest("search", "zzterm1 help")).reason == "operator-term"


def test_operator_term_takes_precedence_over_builtin(with_terms: Deterrer) -> None:
    decision = with_terms.decide(DecisionRequest("search", "zzterm1 teen sex"))
    assert decision.reason == "operator-term"
    assert decision.matched_rules == ("main_list:2", "builtin-minor-sexual")


def test_many_terms_match_correctly(tmp_path: Path) -> None:
    terms = [f"qq{i:05d}zz" for i in range(20_000)]
    path = tmp_path / "big.txt"
    path.write_text("\n".join(terms))
    vocab = load_vocabulary(DEFAULT_DATA_DIR / "rules.yaml")
    detector = Detector(vocab, TermMatcher([load_term_file(path)]))
    assert detector.terms.size == 20_000
    hit = detector.detect("look for qq12345zz now").operator
    assert [h.rule_id for h in hit] == ["big:12346"]
    assert not detector.detect("qq99999zz").operator
