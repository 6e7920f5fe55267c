"""The text pipeline's fast paths give exactly what the plain algorithms they replace gave.

Each slow reference below is the code as it was before the speed work (issue 10), kept here
and not in src: the substring pre-checks for hiding styles, the hiding patterns tried only at
their needles, the link search started at the word before each dot, Deter's fold applied
word by word, and the keyword skeleton's separator removal. Hypothesis compares them on
random text made of the pieces those paths care about (hiding styles, dots, schemes,
spaces, brackets, percent signs, case-changing and composing Unicode, emoji, symbols).
"""

from __future__ import annotations

import itertools
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from safespace.deter._normalize import fold
from safespace.text import _extract, _keywords
from safespace.text._canonical import _host_suffixes
from safespace.text._extract import (
    _CANDIDATE,
    _HIDING_PARTS,
    _candidates,
    _hiding_matches,
    _hiding_parts,
    _hiding_pattern,
    extract_urls,
)
from safespace.text._keywords import _fold_words, _skeleton

# -- slow references (the code before the fast paths) -----------------------------------

_ANY_NEEDLE = re.compile(
    "|".join(re.escape(n) for _, needles, _ in _HIDING_PARTS for n in needles), re.IGNORECASE
)


def slow_hiding_parts(lower: str) -> tuple[str, ...]:
    if _ANY_NEEDLE.search(lower) is None:
        return ()
    return tuple(name for name, needles, _ in _HIDING_PARTS if any(n in lower for n in needles))


def slow_skeleton(text: str) -> str | None:
    """``_skeleton`` as it was: Deter's fold over the whole text, one regex for separators."""
    if text.isascii():
        data = text.encode("ascii")
        if b"@" in data or b"$" in data or b"|" in data:
            return None
        if b"!" in data:
            data = _keywords._ASCII_TRAILING_BANGS.sub(b"", data)
        data = _keywords._ASCII_REPEAT.sub(
            b"", data.translate(_keywords._ASCII_TABLE, _keywords._ASCII_DROP)
        )
        return data.decode("ascii")
    folded = fold(text)
    if "@" in folded or "$" in folded or "|" in folded:
        return None
    if "!" in folded:
        folded = _keywords._TRAILING_BANGS.sub("", folded).replace("!", "i")
    words = _keywords._NOT_WORD.sub("", folded)
    if words.isascii():
        return _keywords._ASCII_REPEAT.sub(
            b"", words.encode("ascii").translate(_keywords._ASCII_TABLE)
        ).decode()
    return _keywords._REPEAT.sub("", words.translate(_keywords._CLASSES))


def slow_host_suffixes(host: str, is_ip: bool) -> list[str]:
    if is_ip or not host:
        return [host]
    out = [host]
    labels = host.split(".")
    tail = labels[-5:]
    for i in range(len(tail) - 1):
        if len(labels) == len(tail) and i == 0:
            continue  # the exact host, already first
        suffix = ".".join(tail[i:])
        if suffix not in out:
            out.append(suffix)
    return out[:5]


def spans(matches: object) -> list[tuple[int, int, str | None]]:
    return [(m.start(), m.end(), m.lastgroup) for m in matches]  # type: ignore[attr-defined]


# -- random text -------------------------------------------------------------------------

_PIECES = [
    "hxxp", "hXXps", "h**p", "xx", "**", "://", "[://]", "(://)", "[:]", "(:)", "{:}",
    "[.]", "( . )", "{dot}", "<dot>", "[ dot ]", "(dot)", " dot ", "\tDOT  ", "dot", "Dot",
    "%2e", "%2E", "%41", "%7a", "%", "%%", ".", "..", " . ", ". ", " .", "/", "?", "#", "@",
    "example", "org", "www.", "example.org", "Example.ORG/a/b?q=1", "https://", "http://",
    "ftp://", "1.2.3.4", "-", "_", " ", "  ", "\t", "\n", "\u3000", "\u00a0", "a", "Z", "9",
    "!", "$", "|", "'", '"', "<", ">", ")", "]", "İ", "ı", "ſ", "\u212a", "Σ", "ς", "Ω",
    "é", "e\u0301", "\u0308", "\u00a8", "ﬁ", "①", "\uff0e", "\u3002", "\u200b", "🙂", "가",
    "\u1100\u1161", "\u11a8", "ß", "kw", "kwabc", "wow", "ll", "0o0",
]  # fmt: skip
TEXTS = st.one_of(
    st.lists(st.sampled_from(_PIECES), max_size=25).map("".join),
    st.text(max_size=40),
)
FAST = settings(max_examples=400, deadline=None)


@FAST
@given(TEXTS)
def test_hiding_parts_agree(text: str) -> None:
    lower = text.lower()
    assert _hiding_parts(lower) == slow_hiding_parts(lower)


_PART_NAMES = [name for name, _, _ in _HIDING_PARTS]
_COMBOS = [c for r in range(1, 5) for c in itertools.combinations(_PART_NAMES, r)]


@FAST
@given(TEXTS, st.sampled_from(_COMBOS))
def test_hiding_matches_are_finditer(text: str, parts: tuple[str, ...]) -> None:
    pattern = _hiding_pattern(parts)
    fast = _hiding_matches(text, text.lower(), parts, pattern)
    assert spans(fast) == spans(pattern.finditer(text))


@FAST
@given(TEXTS)
def test_hiding_matches_with_the_parts_found(text: str) -> None:
    lower = text.lower()
    parts = _hiding_parts(lower)
    if parts:
        pattern = _hiding_pattern(parts)
        assert spans(_hiding_matches(text, lower, parts, pattern)) == spans(pattern.finditer(text))


@FAST
@given(TEXTS)
def test_candidates_are_finditer(text: str) -> None:
    assert spans(_candidates(text)) == spans(_CANDIDATE.finditer(text))


def test_candidates_on_examples() -> None:
    for text in [
        "",
        "no links here",
        "see example.org/a. and http://localhost/x then (www.example.net/b)",
        "a.b.c http://x",
        "trailing dot.",
        "://",
        "x://y.z ftp://h",
        "e-mail someone@example.org or .hidden",
    ]:
        assert spans(_candidates(text)) == spans(_CANDIDATE.finditer(text)), text


@FAST
@given(TEXTS)
def test_fold_words_is_fold(text: str) -> None:
    assert _fold_words(text) == fold(text)


@FAST
@given(TEXTS)
def test_skeleton_is_the_slow_skeleton(text: str) -> None:
    assert _skeleton(text) == slow_skeleton(text)


def test_extract_uses_the_fast_paths_to_the_same_end(monkeypatch: object) -> None:
    """Whole posts: the links found with the fast paths are those the slow ones find."""
    posts = [
        "hxxps://www.example[.]org/listed/page.html?ref=1 and example dot net/x",
        "visit EXAMPLE (dot) com/a%2Fb or h**p://example.org  dot  uk",
        "cafe\u0301 🙂 https://www.google.com/url?q=https://example.org/p and x.y",
        "İstanbul example.org/İ %2e%2e",
    ]
    fast = [extract_urls(p) for p in posts]
    mp = monkeypatch
    mp.setattr(_extract, "_candidates", _CANDIDATE.finditer)  # type: ignore[attr-defined]
    mp.setattr(  # type: ignore[attr-defined]
        _extract, "_hiding_matches", lambda clean, lower, parts, p: p.finditer(clean)
    )
    mp.setattr(_extract, "_hiding_parts", slow_hiding_parts)  # type: ignore[attr-defined]
    assert [extract_urls(p) for p in posts] == fast
    assert any(fast)


_LABELS = st.sampled_from(["", "a", "www", "example", "org", "co", "uk", "x-y", "1", "xn--e1a"])


@FAST
@given(st.lists(_LABELS, min_size=1, max_size=9).map(".".join), st.booleans())
def test_host_suffixes_are_the_split_and_join_ones(host: str, is_ip: bool) -> None:
    assert _host_suffixes(host, is_ip) == slow_host_suffixes(host, is_ip)
