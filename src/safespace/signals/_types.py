"""The signal type contract: what every kind of hash SafeSpace stores and matches must say.

A signal is always a normalised string (lowercase hex for every built-in type), which keeps
storage, exchange formats and the API simple. A :class:`SignalType` says everything else
about its kind: its name and aliases, how a value is validated and normalised, which media it
is computed from and how, its distance and thresholds, which index finds it, and how each
exchange format spells it. The built-ins live in their own modules (``_pdq_type.py``,
``_md5.py``, ``_sha256.py``) and are registered in one place, ``_registry.py``; no other
module names a signal type. docs/signals.md, "Adding a signal type", walks through it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import ClassVar, Protocol

from safespace.errors import InvalidInput, InvalidSignal

__all__ = [
    "DISTANCE",
    "FrameHash",
    "HexSignalType",
    "IndexKind",
    "MediaKind",
    "SignalType",
    "TextSource",
    "Threshold",
]

DISTANCE = "distance"
"""The name of the threshold every distance-matched type has: the largest distance that
matches."""


class MediaKind(StrEnum):
    """What a signal type is computed from."""

    IMAGE = "image"  # decoded pixels of an image
    VIDEO = "video"  # decoded frames of a video
    FILE = "file"  # the file's bytes, whatever they are


class IndexKind(StrEnum):
    """How the matcher finds a signal type's values.

    ``EXACT``: equal values only, in sorted digest tables (any fixed-width hex type).
    ``PDQ_MIH``: 256-bit hashes within a Hamming radius, in :class:`safespace.index.PDQIndex`
    (multi-index hashing); one signal type at most uses it.
    ``FRAMES``: a value is a list of frame hashes, matched frame by frame through a frame
    index (video hashes); the matcher must support it before a type may use it.
    ``KEYWORDS``: a normalised keyword or phrase, found in a text (a post, a message) by one
    Aho-Corasick automaton over every such entry after Deter's normalisation, never by
    equality with the whole text.
    """

    EXACT = "exact"
    PDQ_MIH = "pdq-mih"
    FRAMES = "frames"
    KEYWORDS = "keywords"


class TextSource(StrEnum):
    """What a signal type looks for in a text given to match (``SignalType.text_source``).

    ``LINKS``: the links in the text (however hidden), each looked up by its Safe Browsing
    host-suffix/path-prefix expressions, whose SHA-256 is the type's :meth:`SignalType.key`.
    ``WORDS``: the type's entries are keywords found in the text (``IndexKind.KEYWORDS``).
    """

    LINKS = "links"
    WORDS = "words"


class FrameHash(Protocol):
    """One frame of a ``FRAMES`` value: its PDQ hex, quality (0-100) and time in seconds."""

    @property
    def pdq(self) -> str: ...
    @property
    def quality(self) -> int: ...
    @property
    def timestamp(self) -> float: ...


@dataclass(frozen=True)
class Threshold:
    """One per-bank threshold of a signal type, its default and its bounds (inclusive)."""

    name: str
    default: int
    minimum: int
    maximum: int
    description: str

    def check(self, signal_type: str, value: object) -> int:
        """``value`` if it is a whole number within bounds; :class:`InvalidInput` if not."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"{signal_type} {self.name} must be a whole number, got {value!r}")
        if not self.minimum <= value <= self.maximum:
            raise InvalidInput(
                f"{signal_type} {self.name} must be {self.minimum}..{self.maximum}, got {value}"
            )
        return value


class SignalType:
    """The contract of one kind of signal. Subclass it (or :class:`HexSignalType`), fill the
    class attributes, and list one instance in ``_registry.py``.

    - ``name``: the stable name, stored with every entry and shown everywhere (lowercase);
      ``aliases``: other names accepted on input (``photo_pdq``...).
    - ``normalize``: the canonical string of a value, or :class:`InvalidSignal` saying why.
    - ``media``: what it is computed from (empty: never computed, only imported);
      ``compute``: its value for hashed media, or None when that media does not give one.
    - ``distance``: how far apart two values are, None for exact types; ``thresholds``: the
      per-bank thresholds (empty for exact types), the first being the distance.
    - ``index``: how the matcher finds it (:class:`IndexKind`).
    - ``exchange_names``: the name each exchange format writes it under (format name ->
      wire name; ``threatexchange`` is python-threatexchange's and HMA's API name,
      ``cybertip`` the label in NCMEC CyberTipline referrals). A format that names types
      (StopNCII, NCMEC, referrals) carries only the types listed here; CSV and the HMA local
      file write ``name``. ``exchange_aliases``: more names a format accepts on read;
      ``threatexchange_content``: the HMA content types (``photo``, ``video``) whose default
      signal types include this one.
    - ``quality_field``: the attribute of :class:`~safespace.signals.Signals` that holds its
      quality, when values of low quality must not be matched.
    - ``bare_hex``: a bare hash of this many hex digits in a hash list is of this type.
    - ``key``: the fixed-width digest an exact table stores for a value (the hex value's
      bytes by default; a type whose values are not hex, such as a URL expression, gives
      their SHA-256); ``text_source``: what the type finds in a text given to match
      (:class:`TextSource`), None for media hashes; ``free_text``: values may hold spaces,
      so formats that split lines on whitespace cannot carry them.
    - ``digest_stored``: values may be longer than a bank entry's value column (256
      characters); the column then holds :meth:`stored_value` (a digest) and the canonical
      value is kept beside the entry. ``FRAMES`` types give their frames with :meth:`frames`;
      frames below ``frame_quality`` are never matched.
    """

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    media: ClassVar[frozenset[MediaKind]] = frozenset()
    index: ClassVar[IndexKind] = IndexKind.EXACT
    thresholds: ClassVar[tuple[Threshold, ...]] = ()
    exchange_names: ClassVar[Mapping[str, str]] = MappingProxyType({})
    exchange_aliases: ClassVar[Mapping[str, tuple[str, ...]]] = MappingProxyType({})
    threatexchange_content: ClassVar[tuple[str, ...]] = ()
    quality_field: ClassVar[str | None] = None
    bare_hex: ClassVar[int | None] = None
    text_source: ClassVar[TextSource | None] = None
    free_text: ClassVar[bool] = False
    digest_stored: ClassVar[bool] = False
    frame_quality: ClassVar[int] = 0

    @property
    def width(self) -> int | None:
        """Bytes of one value when every value has the same size (what exact tables store)."""
        return None

    def normalize(self, value: str) -> str:
        """The canonical string of ``value``; :class:`InvalidSignal` saying why it is bad."""
        raise NotImplementedError

    def key(self, value: str) -> bytes:
        """The digest an exact table stores for a canonical value (``width`` bytes)."""
        return bytes.fromhex(value)

    def compute(self, signals: object) -> str | None:
        """This type's value for media hashed by :func:`~safespace.signals.hash_file` (a
        :class:`~safespace.signals.Signals`, or any object with the same attributes)."""
        value = getattr(signals, self.name, None)
        return value if isinstance(value, str) else None

    def distance(self, a: str, b: str) -> int | None:
        """How far apart two canonical values are; None for exact types (equal or not)."""
        return None

    def stored_value(self, canonical: str) -> str:
        """What a bank entry's ``value`` column holds for ``canonical``: the value itself, or
        for a ``digest_stored`` type the SHA-256 (hex) of it."""
        if not self.digest_stored:
            return canonical
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def frames(self, canonical: str) -> Sequence[FrameHash]:
        """A ``FRAMES`` type's value as its frames (PDQ hex, quality, time in seconds)."""
        raise NotImplementedError(f"{self.name} is not matched frame by frame")

    @property
    def by_distance(self) -> bool:
        """True when values match within a distance, not only when equal."""
        return bool(self.thresholds)

    @property
    def default_threshold(self) -> int | None:
        """The default match distance (the first threshold); None for exact types."""
        return self.thresholds[0].default if self.thresholds else None

    @property
    def threshold_bounds(self) -> tuple[int, int] | None:
        """Smallest and largest allowed match distance; None for exact types."""
        if not self.thresholds:
            return None
        return self.thresholds[0].minimum, self.thresholds[0].maximum

    def threshold(self, name: str) -> Threshold:
        for t in self.thresholds:
            if t.name == name:
                return t
        known = ", ".join(t.name for t in self.thresholds) or "none"
        raise InvalidInput(f"{self.name} has no threshold {name!r} (it has: {known})")

    def default_thresholds(self) -> dict[str, int]:
        return {t.name: t.default for t in self.thresholds}

    def exchange_name(self, fmt: str) -> str | None:
        """The name ``fmt`` writes this type under, or None when that format lacks it."""
        return self.exchange_names.get(fmt)

    def quality(self, signals: object) -> int | None:
        """The quality of this type's value in ``signals`` (None: no quality known)."""
        if self.quality_field is None:
            return None
        value = getattr(signals, self.quality_field, None)
        return value if isinstance(value, int) else None

    def __repr__(self) -> str:
        return f"<SignalType {self.name}>"


_HEX = re.compile(r"[0-9a-f]+")


class HexSignalType(SignalType):
    """A fixed-width hash written as hex: ``hex_length`` digits, stored lowercase."""

    hex_length: ClassVar[int]

    @property
    def width(self) -> int:
        return self.hex_length // 2

    def normalize(self, value: str) -> str:
        """Strip spaces and a ``0x`` prefix, lowercase, check digits and length."""
        if not isinstance(value, str):
            raise InvalidSignal(f"{self.name} hash must be a string of hex digits")
        text = value.strip().lower()
        if text.startswith("0x"):
            text = text[2:]
        if len(text) != self.hex_length:
            raise InvalidSignal(
                f"{self.name} hash must be {self.hex_length} hex digits, got {len(text)}"
            )
        if not _HEX.fullmatch(text):
            raise InvalidSignal(f"{self.name} hash must be hexadecimal (0-9, a-f)")
        return text

    def hamming(self, a: str, b: str) -> int:
        """Differing bits of two canonical values."""
        return (int(a, 16) ^ int(b, 16)).bit_count()
