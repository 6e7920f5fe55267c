"""Text normalisation that obfuscation does not slip through.

Two views of one text come out, because one cannot serve both purposes:

* the **letters view** (``tokens``): Unicode NFKC, look-alike letters mapped to Latin
  (Cyrillic and Greek homoglyphs, small capitals, enclosed letters), accents and invisible
  characters removed, case folded, leetspeak digits and symbols read as letters
  (``0``->o, ``1``/``l``/``!``/``|``->i, ``3``->e, ``4``/``@``->a, ``5``/``$``->s,
  ``7``->t, ``8``->b, ``9``->g), letters spaced or dotted apart joined up again
  (``s.e.x``, ``s e x``) and runs of one letter squeezed (``seeeex`` -> ``sex``). Terms and
  vocabulary go through the same function, so a term matches however it is disguised.
  ``1`` and ``l`` both become ``i``, so the view is a matching key, never shown to anyone.
* the **digit view** (``digit_tokens``): the same, but digits stay digits and are split from
  letters (``12yo`` -> ``12 yo``, ``12-year-old`` -> ``12 year old``), so ages survive.

Pure numbers (``2024``) are kept as numbers in the letters view too: only tokens that mix
letters and digits are read as leetspeak.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["Normalized", "normalize", "normalize_phrase"]

_TOKEN = re.compile(r"(?:[^\W_]|[@$!|])+")
_SYMBOLS_ONLY = re.compile(r"[@$!|]+")
_DIGIT_SPLIT = re.compile(r"\d+|[^\W\d_]+")
_SQUEEZE = re.compile(r"([^\W\d_])\1+")
_LEET = str.maketrans(
    {"0": "o", "1": "i", "l": "i", "!": "i", "|": "i", "3": "e", "4": "a", "@": "a",
     "5": "s", "$": "s", "7": "t", "8": "b", "9": "g"}
)  # fmt: skip
_LEET_L_ONLY = str.maketrans({"l": "i"})

# Look-alikes NFKC leaves alone. Keys are case-sensitive because some capitals and their
# lowercase forms look like different Latin letters (Greek Η is H, η is n).
_CONFUSABLE_PAIRS = (
    # Cyrillic
    "аa вb еe ѐe ёe кk мm нh оo рp сc тt уy хx іi їi јj ѕs ԁd һh ӏi ԛq ԝw үy ɡg ʏy "
    "АA ВB ЕE КK МM НH ОO РP СC ТT УY ХX ІI ЈJ ЅS ԚQ ԜW ҮY Һh Ӏi "
    # Greek
    "αa βb γy εe ζz ηn ιi κk μu νv οo ρp ςc τt υu χx ωw "
    "ΑA ΒB ΕE ΖZ ΗH ΙI ΚK ΜM ΝN ΟO ΡP ΤT ΥY ΧX "
    # Latin look-alikes without a decomposition
    "ıi łl øo đd ħh ŧt ðd ƀb ɨi ʉu ɍr "
    # small capitals
    "ᴀa ʙb ᴄc ᴅd ᴇe ꜰf ɢg ʜh ɪi ᴊj ᴋk ʟl ᴍm ɴn ᴏo ᴘp ʀr ꜱs ᴛt ᴜu ᴠv ᴡw ʏy ᴢz"
)
_CONFUSABLES: dict[int, str] = {ord(p[0]): p[1] for p in _CONFUSABLE_PAIRS.split()}
_CONFUSABLES.update({ord("æ"): "ae", ord("Æ"): "ae", ord("œ"): "oe", ord("Œ"): "oe"})
for _base in (0x1F150, 0x1F170, 0x1F1E6):  # negative circled/squared and regional letters
    for _i in range(26):
        _CONFUSABLES[_base + _i] = chr(ord("a") + _i)

_DROP_CATEGORIES = frozenset({"Mn", "Me", "Cf"})  # accents, enclosing marks, invisible chars
_CACHE_LIMIT = 200_000


class _FoldTable(dict[int, str | None]):
    """A ``str.translate`` table filled on demand: codepoints are looked up once, then cached."""

    def __missing__(self, cp: int) -> str | None:
        mapped = _CONFUSABLES.get(cp)
        if mapped is None and unicodedata.category(chr(cp)) in _DROP_CATEGORIES:
            value: str | None = None
        else:
            value = mapped if mapped is not None else chr(cp)
        if len(self) < _CACHE_LIMIT:
            self[cp] = value
        return value


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Case-folded text with look-alikes, accents and invisible characters resolved.

    Idempotent: case folding can make a new look-alike (``Ω`` folds to ``ω``, which reads as
    ``w``), so the steps repeat until the text no longer changes.
    """
    while not text.isascii():
        folded = unicodedata.normalize("NFD", unicodedata.normalize("NFKC", text))
        folded = folded.translate(_FOLD).casefold()
        if folded == text:
            return text
        text = folded
    return text.lower()


def _tokens(text: str) -> list[str]:
    """Words, with letters spaced or dotted apart joined up: ``s e x`` -> ``sex``.

    A run of one-character tokens becomes one token. A gap wider than the run's first gap
    ends it, so ``T E E N  S E X`` gives two words.
    """
    out: list[str] = []
    run: list[str] = []
    gap = 0
    end = 0
    for m in _TOKEN.finditer(text):
        tok = m.group()
        sep = m.start() - end
        end = m.end()
        if len(tok) == 1:
            if len(run) == 1:
                gap = sep  # the second letter sets the run's spacing
            elif len(run) > 1 and sep > gap:
                out.append("".join(run))
                run = []
            run.append(tok)
            continue
        if run:
            out.append("".join(run))
            run = []
        out.append(tok)
    if run:
        out.append("".join(run))
    return out


def _leet(tok: str) -> str:
    if tok.isdigit():
        return tok
    if tok.isalpha():
        return tok.translate(_LEET_L_ONLY)
    if len(tok) > 1:
        tok = tok.rstrip("!") or tok  # "sex!" is an exclamation, not "sexi"
        if tok.isdigit():
            return tok
    return tok.translate(_LEET)


_MAX_PASSES = 8  # a fixed point comes after one or two passes; this only bounds the loop
_SINGLES_SIDE_BY_SIDE = re.compile(r"(?:^| )\S \S(?: |$)")


def _folded_tokens(text: str) -> list[str]:
    return [t for t in _tokens(fold(text)) if not _SYMBOLS_ONLY.fullmatch(t)]


def _letters(folded: list[str]) -> tuple[str, str]:
    """The leet-read words joined by spaces, before and after squeezing letter runs."""
    raw = " ".join([_leet(t) for t in folded])
    return raw, _SQUEEZE.sub(r"\1", raw)


class Normalized:
    """The normalised views of one text; the digit view is computed only when asked for."""

    __slots__ = ("_digits", "_folded", "raw_tokens", "text", "tokens")

    def __init__(self, text: str) -> None:
        folded = _folded_tokens(text)
        self._folded = folded
        self._digits: tuple[str, ...] | None = None
        raw, squeezed = _letters(folded)
        # The letters view read again must give itself (terms may be written already
        # normalised). Squeezing or dropped symbols can leave single letters side by side
        # ("aa b" -> "a b"), which a second reading joins up: repeat until nothing changes.
        for _ in range(_MAX_PASSES):
            if squeezed.isascii() and not _SINGLES_SIDE_BY_SIDE.search(squeezed):
                break  # ASCII output only changes when single letters stand side by side
            again_raw, again = _letters(_folded_tokens(squeezed))
            if again == squeezed:
                break
            raw, squeezed = again_raw, again
        #: leet-read tokens before squeezing (to tell "teen" from "ten")
        self.raw_tokens: tuple[str, ...] = tuple(raw.split(" ")) if raw else ()
        #: the letters view: the matching key of each word
        self.tokens: tuple[str, ...] = tuple(squeezed.split(" ")) if squeezed else ()
        #: the letters view as one string, words separated by single spaces
        self.text = squeezed

    @property
    def digit_tokens(self) -> tuple[str, ...]:
        """Words with digits kept as digits and split from letters: ``12yo`` -> ``12``, ``yo``."""
        if self._digits is None:
            joined = " ".join(_DIGIT_SPLIT.findall(" ".join(self._folded)))
            squeezed = _SQUEEZE.sub(r"\1", joined)
            self._digits = tuple(squeezed.split(" ")) if squeezed else ()
        return self._digits

    def __repr__(self) -> str:
        return f"Normalized({self.text!r})"


def normalize(text: str) -> Normalized:
    """Normalise a query, a message or a URL for matching."""
    return Normalized(text)


def normalize_phrase(phrase: str) -> str:
    """The letters view of a term or vocabulary phrase, as matched against queries."""
    return Normalized(phrase).text
