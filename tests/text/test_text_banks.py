"""URL and keyword banks matched against texts by the Matcher (``Matcher.match_text``):
hidden links, ``www.`` and other query strings, hosts and pages, plain and hashed banks
giving the same answers, keyword spans, allow banks, refreshes and snapshots.

Placeholder data only: example.com/.org/.net and ``placeholder-term-N`` keywords."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from safespace.banks import BankService, Matcher
from safespace.banks.formats import HashRecord
from safespace.signals import KEYWORD, URL, URL_SHA256
from safespace.store import Database, open_database

LISTED = ["https://example.org/listed/page.html", "example.net/", "www.example.com/dir/"]


def sha(expression: str) -> str:
    return hashlib.sha256(expression.encode()).hexdigest()


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_database(f"sqlite:///{tmp_path / 'text.db'}")
    yield database
    database.close()


@pytest.fixture
def service(db: Database) -> BankService:
    service = BankService(db)
    service.create_bank("urls")
    service.create_bank("hashed")
    service.create_bank("words")
    plain = [HashRecord.of(URL.name, u) for u in LISTED]
    service.add_entries("urls", plain)
    service.add_entries("hashed", [HashRecord.of(URL_SHA256.name, sha(r.value)) for r in plain])
    terms = ["placeholder-term-1", "placeholder term two"]
    service.add_entries("words", [HashRecord.of(KEYWORD.name, t) for t in terms])
    return service


def spans(text: str, matcher: Matcher, bank: str) -> list[str]:
    result = matcher.match_text(text, banks=[bank])
    return [text[m.start : m.end] for m in result.matches]


HIDDEN = [
    "see https://example.org/listed/page.html now",
    "see hxxps://www.example[.]org/listed/page.html?ref=1 now",
    "see example(dot)org/listed/page.html#x now",
    "see example dot org/listed/page.html now",
    "see exa\u200bmple.org/listed/page.html now",
    "see ｅｘａｍｐｌｅ．ｏｒｇ／listed/page.html now",
    "see example%2Eorg/listed/page.html now",
    "see https://www.google.com/url?q=https%3A%2F%2Fexample.org%2Flisted%2Fpage.html now",
]


@pytest.mark.parametrize("text", HIDDEN)
@pytest.mark.parametrize("bank", ["urls", "hashed"])
def test_a_listed_page_matches_however_hidden(
    service: BankService, db: Database, text: str, bank: str
) -> None:
    matcher = Matcher.from_database(db)
    found = spans(text, matcher, bank)
    assert found, text
    for span in found:  # the link as written, not the words around it
        assert span.strip() == span
        assert "see" not in span
        assert "now" not in span


@pytest.mark.parametrize("bank", ["urls", "hashed"])
def test_hosts_pages_and_directories(service: BankService, db: Database, bank: str) -> None:
    matcher = Matcher.from_database(db)
    assert spans("x https://example.org/other.html y", matcher, bank) == []  # same host
    assert spans("x example.net/anything/at/all y", matcher, bank) == [
        "example.net/anything/at/all"
    ]
    assert spans("x sub.example.net y", matcher, bank) == ["sub.example.net"]
    assert spans("x www.example.com/dir/page y", matcher, bank) == ["www.example.com/dir/page"]
    assert spans("x example.com/dir/page y", matcher, bank) == ["example.com/dir/page"]
    assert spans("x www.example.com/other y", matcher, bank) == []


def test_plain_and_hashed_banks_give_the_same_answers(service: BankService, db: Database) -> None:
    matcher = Matcher.from_database(db)
    texts = [*HIDDEN, "a example.net b", "none here", "mail me at someone@example.net"]
    for text in texts:
        plain = matcher.match_text(text, banks=["urls"]).matches
        hashed = matcher.match_text(text, banks=["hashed"]).matches
        assert [(m.start, m.end) for m in plain] == [(m.start, m.end) for m in hashed], text
        assert [sha(m.match.value) for m in plain] == [m.match.value for m in hashed]


def test_keywords_carry_spans_and_never_the_text(service: BankService, db: Database) -> None:
    matcher = Matcher.from_database(db)
    text = "hello PLACEHOLDER-TERM-1 and p1aceholder  term  tw0 bye"
    result = matcher.match_text(text)
    assert result.matched
    found = {(m.match.value, text[m.start : m.end]) for m in result.matches}
    assert found == {
        ("piacehoider term 1", "PLACEHOLDER-TERM-1"),
        ("piacehoider term two", "p1aceholder  term  tw0"),
    }
    for m in result.matches:
        assert m.match.signal_type == KEYWORD.name
        assert text not in str(m.to_dict())
    assert not matcher.match_text("a placeholder of terms").matches


def test_a_message_with_nothing_matches_nothing(service: BankService, db: Database) -> None:
    matcher = Matcher.from_database(db)
    assert matcher.match_text("").matches == ()
    assert matcher.match_text("weather tomorrow london, see https://example.org/ ok").matches == ()


def test_allow_banks_suppress_the_same_stretch(service: BankService, db: Database) -> None:
    service.create_bank("fine", kind="allow")
    service.add_entries("fine", [HashRecord.of(URL.name, "example.net/ok/")])
    matcher = Matcher.from_database(db)
    result = matcher.match_text("a example.net/ok/page b example.net/bad c placeholder-term-1")
    assert [m.match.bank for m in result.allowed] == ["fine"]
    assert {m.match.bank for m in result.suppressed} == {"urls", "hashed"}
    assert {m.match.value for m in result.matches} >= {"example.net/", "piacehoider term 1"}


def test_refresh_sees_new_and_removed_keywords(service: BankService, db: Database) -> None:
    matcher = Matcher.from_database(db)
    text = "a placeholder-term-3 here"
    assert not matcher.match_text(text).matches
    service.add_entries("words", [HashRecord.of(KEYWORD.name, "placeholder-term-3")])
    matcher.refresh()
    (hit,) = matcher.match_text(text).matches
    assert text[hit.start : hit.end] == "placeholder-term-3"
    service.remove_entries([hit.match.entry_id])
    matcher.refresh()
    assert not matcher.match_text(text).matches


def test_a_snapshot_keeps_url_and_keyword_banks(
    service: BankService, db: Database, tmp_path: Path
) -> None:
    built = Matcher.from_database(db)
    folder = tmp_path / "snaps"
    built.save_snapshot(folder)
    loaded = Matcher.load_or_build(db, folder)
    assert loaded.snapshot is not None
    text = "x hxxp://example[.]net/a y placeholder-term-1 zone"
    assert loaded.match_text(text).to_dict() == built.match_text(text).to_dict()
    assert len(loaded.match_text(text).matches) == 3


def test_hash_style_queries_still_work(service: BankService, db: Database) -> None:
    matcher = Matcher.from_database(db)
    expression = URL.normalize("example.org/listed/page.html")
    found = matcher.match([(URL.name, expression), (URL_SHA256.name, sha(expression))])
    assert {m.bank for m in found.matches} == {"urls", "hashed"}
    found = matcher.match([(KEYWORD.name, "a placeholder term two b")])
    assert [m.bank for m in found.matches] == ["words"]
