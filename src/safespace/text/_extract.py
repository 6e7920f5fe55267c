"""Find the links in a post, however they are written, each with the span it came from.

Ways of hiding a link that are undone before looking: full-width and other compatibility
characters (NFKC), zero-width and other invisible characters, ``hxxp``/``hxxps``, ``[.]``,
``(.)``, ``{.}``, ``[dot]``, ``(dot)``, `` dot ``, spaces around a dot, ``[:]``, and
percent-encoded letters, digits, dots and hyphens. A link without a scheme
(``example.org/page``) counts only when its host ends in a known public TLD (see
:mod:`._tlds`) or starts with ``www.``. A link through a well-known redirect wrapper
(``https://www.google.com/url?q=...``) gives the wrapper and its target, both with the
wrapper's span. Shorteners (``t.co``, ``bit.ly``) cannot be resolved without fetching them,
and nothing here ever fetches: such links are flagged ``shortener`` and matched as written.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from typing import NamedTuple, Protocol
from urllib.parse import parse_qsl, urlsplit

from safespace.text._canonical import CanonicalUrl, canonicalize
from safespace.text._tlds import GENERIC_TLDS, is_known_tld
from safespace.text._view import View, identity, rewrite

__all__ = [
    "HIDDEN_COLON",
    "HIDDEN_SLASHES",
    "SHORTENERS",
    "WRAPPERS",
    "ExtractedUrl",
    "HostFilter",
    "extract_urls",
]

_NON_ASCII = re.compile(r"[^\x00-\x7f]")
# Unicode's format (Cf) characters, invisible ones included, and the full stops mapped below:
# a text that is already NFKC and holds none of them needs no Unicode rewrite at all.
_NEEDS_UNICODE_REWRITE = re.compile(
    "[\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b-\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd"
    "\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f\u3002\uff61\u2024]"
)
_STOPS = {"\u3002": ".", "\uff61": ".", "\u2024": "."}  # ideographic and other full stops


def _unicode_char(m: re.Match[str]) -> str:
    ch = m.group()
    if unicodedata.category(ch) == "Cf":  # zero-width spaces and joiners, BOM, soft hyphen
        return ""
    folded = unicodedata.normalize("NFKC", ch)
    return _STOPS.get(folded, folded)


#: A scheme's ``://`` hidden whole in brackets, and its colon alone hidden (``https[:]//``):
#: the rewrite undoes them, and the listed-host check (``_hosts``) looks behind them.
HIDDEN_SLASHES = r"\[://\]|\(://\)"
HIDDEN_COLON = r"\[:\]|\(:\)|\{:\}"

# Each way of hiding, with the substrings that must be present for it to be there at all.
# Only the parts a text may hold are compiled into the pattern it is rewritten with: one
# alternation of every part scans several times slower than the one or two a post needs.
_HIDING_PARTS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    # ``hxxp`` before any scheme separator the brackets part undoes, hidden or not.
    ("hxxp", ("xx", "**"), rf"h(?:xx|\*\*)p(?=s?(?:://|{HIDDEN_SLASHES}|{HIDDEN_COLON}))"),
    (
        "brackets",
        ("[", "(", "{", "<"),
        rf"(?P<slashes>{HIDDEN_SLASHES})|(?P<colon>{HIDDEN_COLON})"
        r"|(?P<bracket>[\[({<][ \t]{0,3}(?:\.|dot)[ \t]{0,3}[\])}>])",
    ),
    ("word", ("dot",), r"(?<![ \t])[ \t]++dot[ \t]++"),  # from a run's start: linear
    ("pct", ("%",), r"%(?:2[dDeE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA])"),
)


@lru_cache(maxsize=32)
def _hiding_pattern(parts: tuple[str, ...]) -> re.Pattern[str]:
    branches = [f"(?P<{name}>{body})" for name, _, body in _HIDING_PARTS if name in parts]
    return re.compile("|".join(branches), re.IGNORECASE)


_PART_NEEDLES = tuple((name, needles) for name, needles, _ in _HIDING_PARTS)


def _hiding_parts(lower: str) -> tuple[str, ...]:
    """The ways of hiding whose needles ``lower`` holds (plain ``in`` checks: most posts
    hold none, and a few substring searches tell sooner than one regular expression)."""
    out: tuple[str, ...] = ()
    for name, needles in _PART_NEEDLES:
        for needle in needles:
            if needle in lower:
                out += (name,)
                break
    return out


def _find_all(text: str, needle: str, out: list[int], shift: int = 0) -> None:
    at = text.find(needle)
    while at >= 0:
        out.append(at + shift)
        at = text.find(needle, at + 1)


def _hiding_matches(
    clean: str, lower: str, parts: tuple[str, ...], pattern: re.Pattern[str]
) -> Iterator[re.Match[str]]:
    """``pattern.finditer(clean)``, trying the pattern only where a match can start.

    Every way of hiding starts at a needle or just before one: ``hxxp`` one character
    before ``xx``/``**``, the bracket forms at their opening bracket, the word form at the
    first space of the run before ``dot``, percent-encoding at ``%``. Those positions are
    found with ``str.find`` and the pattern is matched there, in order, each try starting no
    earlier than the last match's end: the matches ``finditer`` gives, without scanning
    every character with the whole pattern. ``lower`` is ``clean.lower()``; when lower-casing
    changed the length (a few non-ASCII letters), positions would not line up, and the
    plain scan is used.
    """
    if len(lower) != len(clean):
        yield from pattern.finditer(clean)
        return
    starts: list[int] = []
    if "hxxp" in parts:
        _find_all(lower, "xx", starts, -1)
        _find_all(lower, "**", starts, -1)
    if "brackets" in parts:
        for opener in "[({<":
            _find_all(lower, opener, starts)
    if "word" in parts:
        dots: list[int] = []
        _find_all(lower, "dot", dots)
        for at in dots:
            run = at
            while run and lower[run - 1] in " \t":
                run -= 1
            if run < at:
                starts.append(run)
    if "pct" in parts:
        _find_all(lower, "%", starts)
    starts.sort()
    end = 0
    match = pattern.match
    for at in starts:
        if at < end:
            continue
        m = match(clean, at)
        if m is not None:
            yield m
            end = m.end()


def _between_letters(m: re.Match[str]) -> bool:
    text, start, end = m.string, m.start(), m.end()
    return start > 0 and end < len(text) and text[start - 1].isalnum() and text[end].isalnum()


def _undo_hiding(m: re.Match[str]) -> str | None:
    kind = m.lastgroup
    if kind == "brackets":  # the inner group that matched says which
        kind = next(k for k in ("slashes", "colon", "bracket") if m.group(k) is not None)
    if kind == "hxxp":
        start = m.start()
        return "http" if start == 0 or not m.string[start - 1].isalnum() else None
    if kind == "slashes":
        return "://"
    if kind == "colon":
        return ":"
    if kind == "bracket":
        return "."
    if kind == "word":
        return "." if _between_letters(m) else None
    if kind == "pct":
        return chr(int(m.group()[1:], 16))
    return None


_SPACED_DOT = re.compile(  # a run of spaces is tried from its start only: linear time
    r"(?<![ \t\u3000])[ \t\u3000]++\.[ \t\u3000]*+|\.[ \t\u3000]++"
)
_TLD_AHEAD = re.compile(r"([^\W\d_]{2,63})(/?)")


def _undo_spaced_dot(m: re.Match[str]) -> str | None:
    """``example . org`` and ``example .org`` are hidden links; a sentence is not.

    A dot with space on one side only joins up before a generic TLD, or a country code with
    a path after it: "see example.org. It is" stays a sentence.
    """
    if not _between_letters(m):
        return None
    text, end = m.string, m.end()
    group = m.group()
    if group[0] != "." and group[-1] != ".":
        return "."  # space on both sides
    ahead = _TLD_AHEAD.match(text, end)
    if ahead is None:
        return None
    tld = ahead.group(1).lower()
    if tld in GENERIC_TLDS or (ahead.group(2) and is_known_tld(tld)):
        return "."
    return None


_TAIL = r"(?::\d{1,5})?(?:[/?#][^\s<>\"'`]*)?"
_CANDIDATE = re.compile(
    r"(?<![\w-])(?:(?P<scheme>(?:https?|ftp)://[^\s<>\"'`]+)"
    rf"|(?P<host>[\w-]++(?:\.[\w-]++)+){_TAIL})",
    re.IGNORECASE,
)
_NOT_BEFORE_HOST = frozenset(".@:/")


def _candidates(clean: str) -> Iterator[re.Match[str]]:
    """``_CANDIDATE.finditer(clean)``, searching only from the word that holds the next dot
    or ``://``.

    Every candidate holds a dot (a host without a scheme) or ``://`` (one with), and none
    holds a space. So no candidate starts before the last space ahead of the next dot or
    ``://``: the search starts there, not at every word of the post. It returns the
    leftmost match from there on, which is the one ``finditer`` gives next.
    """
    pos = 0
    dot = clean.find(".")
    scheme = clean.find("://")
    search = _CANDIDATE.search
    while dot >= 0 or scheme >= 0:
        at = dot if scheme < 0 or 0 <= dot < scheme else scheme
        m = search(clean, clean.rfind(" ", pos, at) + 1 or pos)
        if m is None:
            return
        yield m
        pos = m.end()
        if 0 <= dot < pos:
            dot = clean.find(".", pos)
        if 0 <= scheme < pos:
            scheme = clean.find("://", pos)


_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}
_TRAILING = ".,;:!?'\"*"

#: Redirect wrappers whose target is in the query: (host, path prefix) -> parameter names.
#: A host given as ``google.*`` means any ``google`` host under a known TLD.
WRAPPERS: dict[tuple[str, str], tuple[str, ...]] = {
    ("google.*", "/url"): ("q", "url"),
    ("l.facebook.com", "/l.php"): ("u",),
    ("lm.facebook.com", "/l.php"): ("u",),
    ("l.messenger.com", "/l.php"): ("u",),
    ("l.instagram.com", "/"): ("u",),
    ("youtube.com", "/redirect"): ("q",),
    ("safelinks.protection.outlook.com", "/"): ("url",),
    ("vk.com", "/away.php"): ("to",),
    ("steamcommunity.com", "/linkfilter/"): ("url", "u"),
    ("t.umblr.com", "/redirect"): ("z",),
    ("out.reddit.com", "/"): ("url",),
    ("linkedin.com", "/redir/redirect"): ("url",),
    ("slack-redir.net", "/link"): ("url",),
}
_WRAPPERS_BY_HOST: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
for (_host, _path), _params in WRAPPERS.items():
    _WRAPPERS_BY_HOST.setdefault(_host, []).append((_path, _params))
_WRAPPER_TAILS = frozenset(".".join(h.split(".")[-2:]) for h in _WRAPPERS_BY_HOST)
#: Link shorteners: their target is only known by fetching them, which SafeSpace never does.
SHORTENERS = frozenset(
    [
        "t.co",
        "bit.ly",
        "tinyurl.com",
        "goo.gl",
        "ow.ly",
        "is.gd",
        "buff.ly",
        "rebrand.ly",
        "cutt.ly",
        "shorturl.at",
        "tiny.cc",
        "rb.gy",
        "t.ly",
        "s.id",
        "v.gd",
    ]
)
_MAX_UNWRAP = 3
#: A link is cut at this many characters (lists hold nothing longer; canonicalising a huge
#: string is work an attacker could ask for).
MAX_URL_CHARS = 4096


class ExtractedUrl(NamedTuple):
    """A link found in a text: its canonical form and the span ``[start, end)`` it came from."""

    canonical: CanonicalUrl
    start: int
    end: int
    #: the wrapper's host when this is the target of a redirect wrapper, else None
    via: str | None = None
    #: a shortener's link: its target is unknown (never fetched)
    shortener: bool = False

    @property
    def url(self) -> str:
        return self.canonical.url


def _view(text: str) -> View:
    view = identity(text)
    if not text.isascii() and (
        not unicodedata.is_normalized("NFKC", text)
        or _NEEDS_UNICODE_REWRITE.search("".join(_NON_ASCII.findall(text)))
    ):
        view = rewrite(view, _NON_ASCII, _unicode_char)
    clean = view.text
    lower = clean.lower()
    parts = _hiding_parts(lower)
    if parts:
        pattern = _hiding_pattern(parts)
        view = rewrite(view, pattern, _undo_hiding, _hiding_matches(clean, lower, parts, pattern))
        clean = view.text
    if " ." in clean or ". " in clean or "\t" in clean or "\u3000" in clean:
        view = rewrite(view, _SPACED_DOT, _undo_spaced_dot)
    return view


def _trim(url: str) -> str:
    """``url`` without trailing punctuation and closing brackets it does not open (linear)."""
    if not url or (url[-1] not in _TRAILING and url[-1] not in _CLOSERS):
        return url
    end = len(url)
    balance = {c: url.count(o) - url.count(c) for c, o in _CLOSERS.items()}
    while end:
        last = url[end - 1]
        if last in _TRAILING:
            end -= 1
        elif last in _CLOSERS and balance[last] < 0:
            balance[last] += 1
            end -= 1
        else:
            break
    return url[:end]


def _bare_length(candidate: str, host: str, extra_tlds: frozenset[str]) -> int:
    """How much of a link without a scheme to keep: 0 when its host is no known host."""
    labels = host.lower().split(".")
    if labels[-1].isdigit():  # an IPv4 address, or a number like a version: 1.2.3
        ok = len(labels) == 4 and all(p.isdigit() and len(p) <= 3 for p in labels)
        return len(candidate) if ok else 0
    if labels[0] == "www" and len(labels) > 2:
        return len(candidate)
    for i in range(len(labels) - 1, 0, -1):
        if is_known_tld(labels[i], extra_tlds):
            if i == len(labels) - 1:
                return len(candidate)
            return len(".".join(labels[: i + 1]))  # "example.org.next": the host ends at org
    return 0


def _wrapper_params(canon: CanonicalUrl, host: str) -> tuple[str, ...]:
    """The query parameters that hold the target when ``canon`` is a redirect wrapper's
    link (``host``: its host without ``www.``)."""
    tail = host[host.rfind(".", 0, host.rfind(".")) + 1 :]  # the last two labels
    if tail not in _WRAPPER_TAILS and not host.startswith("google."):
        return ()  # no wrapper host ends like this: the usual case, decided at once
    candidates = _WRAPPERS_BY_HOST.get(host)
    if candidates is None:
        labels = host.split(".")
        if labels[0] == "google" and len(labels) >= 2:
            candidates = _WRAPPERS_BY_HOST["google.*"]
        else:  # a subdomain of a wrapper host (tenant.safelinks.protection.outlook.com)
            for i in range(1, len(labels) - 1):
                candidates = _WRAPPERS_BY_HOST.get(".".join(labels[i:]))
                if candidates is not None:
                    break
            else:
                return ()
    for path, params in candidates:
        if canon.path.startswith(path):
            return params
    return ()


def _targets(raw: str, params: tuple[str, ...]) -> list[str]:
    try:
        query = urlsplit(raw if "://" in raw else "http://" + raw).query
    except ValueError:
        return []
    out = []
    for key, value in parse_qsl(query, keep_blank_values=False):
        if key in params and "." in value:
            out.append(value.strip())
    return out


def _found(
    raw: str, start: int, end: int, via: str | None, depth: int, out: list[ExtractedUrl]
) -> None:
    canon = canonicalize(raw)
    host = canon.host
    if not host:
        return
    key = host[4:] if host.startswith("www.") else host
    out.append(ExtractedUrl(canon, start, end, via, key in SHORTENERS))
    if depth < _MAX_UNWRAP:
        params = _wrapper_params(canon, key)
        if params:
            for target in _targets(raw, params):
                _found(target, start, end, host, depth + 1, out)


# A host written plainly: ASCII letters, digits and hyphens in dot-separated labels, the
# last starting with a letter (so never an IPv4 form), ending the link or followed by its
# path, query or fragment (no port, no user info). Its canonical form is itself lower-cased.
_PLAIN_HOST = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z][A-Za-z0-9-]*(?=[/?#]|$)")


def _plain_host(candidate: str, has_scheme: bool) -> str | None:
    """The canonical host of ``candidate`` when it is written plainly, else None."""
    at = candidate.find("://") + 3 if has_scheme else 0
    m = _PLAIN_HOST.match(candidate, at)
    return m.group().lower() if m is not None else None


def _is_wrapper_host(host: str) -> bool:
    key = host[4:] if host.startswith("www.") else host
    tail = key[key.rfind(".", 0, key.rfind(".")) + 1 :]
    return tail in _WRAPPER_TAILS or key.startswith("google.")


class HostFilter(Protocol):
    """What :func:`extract_urls` asks a caller that only wants links on some hosts
    (:class:`~._hosts.ListedHosts` is one)."""

    def could_match_text(self, text: str) -> bool: ...

    def might_list(self, host: str) -> bool: ...


def extract_urls(
    text: str,
    *,
    extra_tlds: frozenset[str] = frozenset(),
    hosts: HostFilter | None = None,
) -> list[ExtractedUrl]:
    """Every link in ``text``, in order, with its span in ``text`` (never fetched).

    ``hosts``, when given, lets a caller that only wants links on some hosts skip the rest
    before they are canonicalised: the whole text when ``hosts.could_match_text`` says
    none of them can be in it (asked with the text as written when it is ASCII, else as
    rewritten, hiding undone), and a
    link whose host is written plainly (its canonical form is itself lower-cased) and is
    no redirect wrapper when ``hosts.might_list(host)`` is False.
    """
    if (
        text.isascii()
        and "." not in text
        and "//" not in text  # a scheme, maybe before an IPv4 address as one number
        and "%" not in text
        and "dot" not in text.lower()
    ):
        return []  # nothing that could be a host
    ascii_only = text.isascii()
    if hosts is not None and ascii_only and not hosts.could_match_text(text):
        return []  # before the rewrites: an ASCII post's hiding styles keep its labels
    view = _view(text)
    clean = view.text
    if hosts is not None and not ascii_only and not hosts.could_match_text(clean):
        return []
    out: list[ExtractedUrl] = []
    for m in _candidates(clean):
        start = m.start()
        candidate = _trim(m.group()[:MAX_URL_CHARS])
        host = m.group("host")
        if host is not None:
            if start and clean[start - 1] in _NOT_BEFORE_HOST:
                continue  # an e-mail address, or the middle of a path
            keep = _bare_length(candidate, host, extra_tlds)
            if not keep:
                continue
            candidate = candidate[:keep]
        if not candidate:
            continue
        if hosts is not None:
            plain = _plain_host(candidate, host is None)
            if plain is not None and not hosts.might_list(plain) and not _is_wrapper_host(plain):
                continue
        end = start + len(candidate)
        o_start, o_end = view.span(start, end)
        _found(candidate, o_start, o_end, None, 0, out)
    return out
