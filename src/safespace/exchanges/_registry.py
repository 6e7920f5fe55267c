"""The one list of bank-source types; each is a module ``_source_<type>.py`` in this package.

A module is imported when its type is first asked for, so a type's dependencies load only
where it is used, and a source type under construction does not break the others.
"""

from __future__ import annotations

import importlib

from safespace.errors import InvalidInput
from safespace.exchanges._source import BankSource

__all__ = ["SOURCE_TYPES", "available_source_types", "get_source_type"]

SOURCE_TYPES: tuple[str, ...] = ("safespace", "list", "ncmec", "stopncii")
"""Every source type by name: a peer SafeSpace, a list at a URL or path, NCMEC, StopNCII."""


def get_source_type(name: str) -> type[BankSource]:
    """The :class:`BankSource` class of source type ``name`` (400 if there is none)."""
    if name not in SOURCE_TYPES:
        known = ", ".join(SOURCE_TYPES)
        raise InvalidInput(f"unknown source type {name!r} (known: {known})")
    module = importlib.import_module(f"safespace.exchanges._source_{name}")
    cls = module.SOURCE
    if not (isinstance(cls, type) and issubclass(cls, BankSource)) or cls.type_name != name:
        raise RuntimeError(f"_source_{name}.SOURCE is not the BankSource of type {name!r}")
    return cls


def available_source_types() -> dict[str, type[BankSource]]:
    """Every source type whose module is present, by name, in :data:`SOURCE_TYPES` order."""
    found: dict[str, type[BankSource]] = {}
    for name in SOURCE_TYPES:
        try:
            found[name] = get_source_type(name)
        except ModuleNotFoundError as exc:
            if exc.name != f"safespace.exchanges._source_{name}":
                raise
    return found
