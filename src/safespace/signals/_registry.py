"""The one registry of signal types: every built-in is listed here, and every other module
asks this registry (by name, by index, by exchange format) instead of naming a type.

Adding a signal type is one module with its :class:`~safespace.signals.SignalType` and one
line in :data:`_BUILTINS` (plus a migration when it needs storage); see docs/signals.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType

from safespace.errors import InvalidInput, InvalidSignal
from safespace.signals._keyword import KEYWORD
from safespace.signals._md5 import MD5
from safespace.signals._pdq_type import PDQ
from safespace.signals._sha256 import SHA256
from safespace.signals._types import IndexKind, SignalType, TextSource
from safespace.signals._url import URL, URL_SHA256
from safespace.signals._vpdq_type import VPDQ

__all__ = [
    "SIGNAL_TYPES",
    "bare_hex_type",
    "check_thresholds",
    "effective_thresholds",
    "exchange_type",
    "get_signal_type",
    "normalize",
    "signal_types_in_text",
    "signal_types_with_index",
]

_BUILTINS: tuple[SignalType, ...] = (PDQ, MD5, SHA256, URL, URL_SHA256, KEYWORD, VPDQ)

SIGNAL_TYPES: Mapping[str, SignalType] = MappingProxyType({t.name: t for t in _BUILTINS})
"""Every signal type by name, in registration order."""


def _aliases(types: Iterable[SignalType]) -> dict[str, SignalType]:
    out: dict[str, SignalType] = {}
    for kind in types:
        for key in (kind.name, *kind.aliases):
            if key != key.lower() or out.setdefault(key, kind) is not kind:
                raise RuntimeError(f"signal type name {key!r} is taken or not lowercase")
    return out


_BY_NAME = _aliases(_BUILTINS)
if sum(t.index is IndexKind.PDQ_MIH for t in _BUILTINS) > 1:  # one PDQ index per matcher
    raise RuntimeError("only one signal type may use the PDQ multi-index hashing index")


def get_signal_type(name: str) -> SignalType:
    """Look a signal type up by its name or an alias (case-insensitive)."""
    kind = _BY_NAME.get(name.strip().lower()) if isinstance(name, str) else None
    if kind is None:
        known = ", ".join(sorted(SIGNAL_TYPES))
        raise InvalidSignal(f"unknown signal type {name!r} (known: {known})")
    return kind


def normalize(signal_type: str, value: str) -> tuple[str, str]:
    """Validate a ``(signal_type, value)`` pair and return it in canonical form."""
    kind = get_signal_type(signal_type)
    return kind.name, kind.normalize(value)


def signal_types_with_index(index: IndexKind) -> tuple[SignalType, ...]:
    """The registered types the matcher finds through ``index``."""
    return tuple(t for t in SIGNAL_TYPES.values() if t.index is index)


def signal_types_in_text(source: TextSource) -> tuple[SignalType, ...]:
    """The registered types that find ``source`` (links, words) in a text given to match."""
    return tuple(t for t in SIGNAL_TYPES.values() if t.text_source is source)


def exchange_type(
    fmt: str, token: str, fold: Callable[[str], str] = str.lower
) -> SignalType | None:
    """The type format ``fmt`` calls ``token``, or None (the format lacks it).

    ``fold`` is how the format compares names (case, separators); a format's wire name, its
    read aliases, and every type's own name and aliases are accepted.
    """
    key = fold(token)
    for kind in SIGNAL_TYPES.values():
        wire = kind.exchange_name(fmt)
        if wire is None:
            continue
        names = (wire, kind.name, *kind.aliases, *kind.exchange_aliases.get(fmt, ()))
        if any(fold(n) == key for n in names):
            return kind
    return None


def bare_hex_type(hex_digits: int) -> SignalType | None:
    """The type a bare hash of this many hex digits in a hash list is taken to be."""
    for kind in SIGNAL_TYPES.values():
        if kind.bare_hex == hex_digits:
            return kind
    return None


def check_thresholds(given: Mapping[str, object]) -> dict[str, dict[str, int]]:
    """Per-bank thresholds from what a caller gave, checked against each type's bounds.

    Accepts ``{"<type>": {"<threshold>": value}}`` and the flat spelling
    ``{"<type>_<threshold>": value}`` (so ``pdq_distance`` keeps working); types by name or
    alias. Raises :class:`InvalidInput` for unknown types, thresholds or bad values.
    """
    out: dict[str, dict[str, int]] = {}
    for key, value in given.items():
        if isinstance(value, Mapping):
            kind = _threshold_type(key)
            for name, number in value.items():
                out.setdefault(kind.name, {})[str(name)] = kind.threshold(str(name)).check(
                    kind.name, number
                )
            continue
        kind, name = _flat_threshold(key)
        out.setdefault(kind.name, {})[name] = kind.threshold(name).check(kind.name, value)
    return out


def _threshold_type(name: str) -> SignalType:
    try:
        kind = get_signal_type(name)
    except InvalidSignal as exc:
        raise InvalidInput(exc.message) from None
    if not kind.thresholds:
        raise InvalidInput(f"{kind.name} matches exactly: it has no thresholds")
    return kind


def _flat_threshold(key: str) -> tuple[SignalType, str]:
    for kind in SIGNAL_TYPES.values():
        for t in kind.thresholds:
            for prefix in (kind.name, *kind.aliases):
                if key == f"{prefix}_{t.name}":
                    return kind, t.name
    raise InvalidInput(f"unknown threshold {key!r} (give {{signal_type: {{name: value}}}})")


def effective_thresholds(stored: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """Every registered type's thresholds for one bank: stored values over the defaults."""
    out: dict[str, dict[str, int]] = {}
    for kind in SIGNAL_TYPES.values():
        if kind.thresholds:
            have = stored.get(kind.name, {})
            out[kind.name] = {t.name: int(have.get(t.name, t.default)) for t in kind.thresholds}
    return out
