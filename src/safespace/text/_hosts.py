"""The hosts of a plain URL list, to skip links and whole posts that cannot match it.

A link matches a plain list only when one of its lookup hosts (its canonical host, ``www.``
in front of it, or a suffix of it cut at a dot: see :func:`._canonical.lookup_hosts`) is the
host of a listed expression. Most links are on hosts nobody listed, and most posts hold no
such link, so two quick checks come before the work of canonicalising every link:

- per post (:meth:`ListedHosts.could_match_text`): a listed host must be written in the
  post's rewritten text, label for label, unless something in the text can change a host on
  its way to canonical form (percent-escapes, repeated dots, an IPv4 number, letters that are
  not ASCII); such a text is never skipped;
- per link (:meth:`ListedHosts.might_list`): a link whose canonical host is known without
  canonicalising (written plainly) is skipped when none of its lookup hosts is listed.

Both only ever answer "cannot match" when the full lookup would find nothing;
tests/text/test_listed_hosts.py checks them against it on generated texts.
"""

from __future__ import annotations

import re

from safespace.text._extract import WRAPPERS

__all__ = ["ListedHosts"]

# A listed host the per-post check can reason about: lower-case ASCII labels, at least two.
_CHECKABLE = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)+")
# Runs of labels joined by single dots, as a host is written in a text.
_HOSTISH = re.compile(r"(?<![\w-])[\w-]++(?:\.[\w-]++)+")
# A scheme's host that starts with a digit may be an IPv4 number (http://3279880203/).
_NUMERIC_AFTER_SCHEME = re.compile(r"://(?:[^\s/?#@]*@)?\d")
# A redirect wrapper's target is read from its query string (decoded, and without a scheme
# it may be a bare number): a text naming a wrapper host is never skipped.
_WRAPPER_NAMES = frozenset(
    ".".join(host.split(".")[-2:]) for host, _ in WRAPPERS if not host.endswith(".*")
)
_WRAPPER_LABELS = frozenset(host[:-2] for host, _ in WRAPPERS if host.endswith(".*"))


class ListedHosts:
    """A set of listed hosts (with a count per host, so an entry can be taken out again)."""

    __slots__ = ("_counts", "_keys", "_max_labels", "_unchecked")

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        #: each host, and each host without its leading ``www.`` (a link to ``example.org``
        #: is looked up as ``www.example.org`` too)
        self._keys: dict[str, int] = {}
        #: hosts the per-post check cannot reason about (no dot, upper case, IPv6, escapes)
        self._unchecked = 0
        self._max_labels = 0

    def __len__(self) -> int:
        return len(self._counts)

    def __contains__(self, host: object) -> bool:
        return host in self._counts

    def add(self, host: str) -> None:
        count = self._counts.get(host, 0)
        self._counts[host] = count + 1
        if count:
            return
        if _CHECKABLE.fullmatch(host) is None:
            self._unchecked += 1
        self._max_labels = max(self._max_labels, host.count(".") + 1)
        for key in self._keys_of(host):
            self._keys[key] = self._keys.get(key, 0) + 1

    def discard(self, host: str) -> None:
        count = self._counts.get(host, 0)
        if count > 1:
            self._counts[host] = count - 1
            return
        if not count:
            return
        del self._counts[host]
        if _CHECKABLE.fullmatch(host) is None:
            self._unchecked -= 1
        for key in self._keys_of(host):
            left = self._keys[key] - 1
            if left:
                self._keys[key] = left
            else:
                del self._keys[key]
        # _max_labels only ever grows: a bound, so a stale one costs time, never a miss

    @staticmethod
    def _keys_of(host: str) -> set[str]:
        return {host, host[4:]} if host.startswith("www.") and "." in host[4:] else {host}

    def might_list(self, host: str) -> bool:
        """False when no lookup host of the canonical, non-IP ``host`` is listed: not the
        host, not ``www.`` in front of it, not its suffixes of two to five labels."""
        hosts = self._counts
        if host in hosts:
            return True
        if "." not in host:
            return False
        if not host.startswith("www.") and "www." + host in hosts:
            return True
        at = host.rfind(".")
        for _ in range(4):  # the suffixes of two, three, four and five labels
            at = host.rfind(".", 0, at)
            if at < 0:
                return False
            if host[at + 1 :] in hosts:
                return True
        return False

    def could_match_text(self, text: str) -> bool:
        """False only when no link in ``text`` (a post after its hiding was undone) can
        match: no listed host is written in it, and nothing in it could change a host
        into one on the way to canonical form.

        A link's canonical host is the text's own characters, lower-cased, unless the text
        holds percent-escapes, repeated dots, an IPv4 number (which is read in decimal,
        octal or hex) or letters that are not ASCII (punycode); any of those, a redirect
        wrapper's host (its target is decoded from the query), and any listed host this
        check cannot reason about, answer True. Otherwise every lookup
        host of a link is a run of whole labels inside one run of labels written in the
        text (``www.`` in front of the host aside, which the keys cover), so each such run
        of at most as many labels as the longest listed host is looked up.
        """
        if not self._counts:
            return False
        if self._unchecked or "%" in text or ".." in text:
            return True
        if "://" in text and _NUMERIC_AFTER_SCHEME.search(text):
            return True
        keys = self._keys
        span = max(self._max_labels, 2)
        runs = []
        for word in text.split():  # no run holds a space; most words hold no dot
            if "." in word:
                runs += _HOSTISH.findall(word)
        for run in runs:
            if not run.isascii():
                return True
            labels = run.lower().split(".")
            if labels[-1][:1].isdigit():
                return True  # an IPv4 form, or a number such as a version: let it through
            if not _WRAPPER_LABELS.isdisjoint(labels):
                return True
            n = len(labels)
            for i in range(n - 1):
                name = f"{labels[i]}.{labels[i + 1]}"
                if name in keys or name in _WRAPPER_NAMES:
                    return True
                for j in range(i + 2, min(n, i + span)):
                    name = f"{name}.{labels[j]}"
                    if name in keys:
                        return True
        return False
