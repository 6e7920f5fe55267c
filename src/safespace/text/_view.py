"""Rewritten views of a text that remember where each character came from.

Finding hidden links and words means rewriting the text first (full-width letters to ASCII,
``[.]`` to ``.``); a match found in the rewritten text must still point at the characters
the user wrote. A :class:`View` holds the rewritten text and maps its offsets back.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable

__all__ = ["View", "rewrite"]


_NO_MARKS: list[int] = []  # shared by every view without rewritten regions; never changed


class View:
    """``text`` rewritten from an original; ``start``/``end`` map offsets back to it.

    A rewritten region maps as a whole: any offset inside it maps to the region's original
    start (for a start) or end (for an end). Text outside every region maps one to one.
    """

    __slots__ = ("_base", "_clean_starts", "_marks", "text")

    def __init__(
        self,
        text: str,
        marks: list[tuple[int, int, int, int]],
        base: View | None = None,
    ) -> None:
        self.text = text
        #: (clean start, clean end, original start, original end) of each rewritten region
        self._marks = marks
        self._clean_starts = [m[0] for m in marks] if marks else _NO_MARKS
        self._base = base

    def _start(self, pos: int) -> int:
        i = bisect_right(self._clean_starts, pos) - 1
        if i < 0:
            return pos
        _cs, ce, os_, oe = self._marks[i]
        if pos < ce:
            return os_
        return oe + (pos - ce)

    def _end(self, pos: int) -> int:
        if pos <= 0:
            return 0
        i = bisect_right(self._clean_starts, pos - 1) - 1
        if i < 0:
            return pos
        _cs, ce, _os, oe = self._marks[i]
        if pos <= ce:
            return oe
        return oe + (pos - ce)

    def start(self, pos: int) -> int:
        """The original offset where the character at ``pos`` starts."""
        mapped = self._start(pos) if self._marks else pos
        return self._base.start(mapped) if self._base is not None else mapped

    def end(self, pos: int) -> int:
        """The original offset just after the character before ``pos``."""
        mapped = self._end(pos) if self._marks else pos
        return self._base.end(mapped) if self._base is not None else mapped

    def span(self, start: int, end: int) -> tuple[int, int]:
        return self.start(start), self.end(end)


def identity(text: str) -> View:
    return View(text, [])


def rewrite(
    view: View,
    pattern: re.Pattern[str],
    replace: Callable[[re.Match[str]], str | None],
    matches: Iterable[re.Match[str]] | None = None,
) -> View:
    """A view of ``view.text`` with each match of ``pattern`` replaced (``None``: left alone).

    ``matches``, when given, stands in for ``pattern.finditer(view.text)`` (a caller that
    knows where matches can start finds the same ones sooner).
    """
    text = view.text
    pieces: list[str] = []
    marks: list[tuple[int, int, int, int]] = []
    last = 0
    length = 0
    for m in pattern.finditer(text) if matches is None else matches:
        new = replace(m)
        if new is None or new == m.group():
            continue
        start, end = m.span()
        pieces.append(text[last:start])
        length += start - last
        marks.append((length, length + len(new), start, end))
        pieces.append(new)
        length += len(new)
        last = end
    if not marks:
        return view
    pieces.append(text[last:])
    base = view if view._marks or view._base is not None else None
    return View("".join(pieces), marks, base)
