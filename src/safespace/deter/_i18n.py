"""Gettext catalogues for Deter's texts: ``.po`` files compiled in memory when loaded.

Messages are looked up by key (``warning.harm.body``), and English (``en``) is the complete
catalogue every other locale falls back to. Shipping ``.po`` files and compiling them at
load time keeps the repository free of binary ``.mo`` files and needs no build step;
:func:`compile_po` also writes a standard ``.mo`` for other tools.
"""

from __future__ import annotations

import ast
import gettext
import io
import struct
from dataclasses import dataclass, field
from pathlib import Path

from safespace.deter._schema import read_text
from safespace.errors import ConfigError

__all__ = ["Catalogs", "PoEntry", "compile_po", "parse_po", "resolve_locale"]

DOMAIN = "deter"
FALLBACK_LOCALE = "en"


@dataclass
class PoEntry:
    msgid: str = ""
    msgstr: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    plurals: dict[int, str] = field(default_factory=dict)
    fuzzy: bool = False


def _unquote(text: str, where: str) -> str:
    text = text.strip()
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise ConfigError(f"{where}: expected a quoted string")
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError):
        raise ConfigError(f"{where}: bad string escape") from None
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a quoted string")
    return value


def parse_po(text: str, source: str = "<po>") -> list[PoEntry]:
    """The entries of a ``.po`` file (fuzzy ones flagged); errors name the line."""
    entries: list[PoEntry] = []
    cur = PoEntry()
    started = False
    target: tuple[str, int | None] | None = None
    fuzzy_next = False

    def finish() -> None:
        nonlocal cur, started
        if started:
            entries.append(cur)
        cur, started = PoEntry(), False

    for lineno, line in enumerate(text.splitlines(), start=1):
        where = f"{source}: line {lineno}"
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            if s.startswith("#,") and "fuzzy" in s:
                fuzzy_next = True
            continue
        if s.startswith('"'):
            if target is None:
                raise ConfigError(f"{where}: a string continues nothing")
            name, idx = target
            piece = _unquote(s, where)
            if name == "msgstr" and idx is not None:
                cur.plurals[idx] += piece
            else:
                setattr(cur, name, (getattr(cur, name) or "") + piece)
            continue
        keyword, _, rest = s.partition(" ")
        if started and (
            keyword == "msgctxt" or (keyword == "msgid" and target != ("msgctxt", None))
        ):
            finish()
        if keyword in {"msgctxt", "msgid", "msgid_plural", "msgstr"}:
            if not started:
                cur.fuzzy, fuzzy_next = fuzzy_next, False
            started = True
            setattr(cur, keyword, _unquote(rest, where))
            target = (keyword, None)
        elif keyword.startswith("msgstr[") and keyword.endswith("]"):
            try:
                idx = int(keyword[7:-1])
            except ValueError:
                raise ConfigError(f"{where}: bad plural index {keyword!r}") from None
            cur.plurals[idx] = _unquote(rest, where)
            target = ("msgstr", idx)
        else:
            raise ConfigError(f"{where}: unknown keyword {keyword!r}")
    finish()
    return entries


def compile_po(entries: list[PoEntry]) -> bytes:
    """A GNU ``.mo`` file (little-endian, no hash table) from non-fuzzy entries."""
    pairs: dict[bytes, bytes] = {}
    for e in entries:
        if e.fuzzy and e.msgid:
            continue
        key = e.msgid if e.msgid_plural is None else f"{e.msgid}\0{e.msgid_plural}"
        if e.msgctxt is not None:
            key = f"{e.msgctxt}\x04{key}"
        if e.msgid_plural is not None:
            value = "\0".join(e.plurals[i] for i in sorted(e.plurals))
        else:
            value = e.msgstr
        if value or not e.msgid:
            pairs[key.encode()] = value.encode()
    keys = sorted(pairs)
    n = len(keys)
    orig_start = 7 * 4
    trans_start = orig_start + n * 8
    data_start = trans_start + n * 8
    blob = io.BytesIO()
    orig_table: list[tuple[int, int]] = []
    trans_table: list[tuple[int, int]] = []
    for table, items in ((orig_table, keys), (trans_table, [pairs[k] for k in keys])):
        for item in items:
            table.append((len(item), data_start + blob.tell()))
            blob.write(item + b"\0")
    head = struct.pack("<7I", 0x950412DE, 0, n, orig_start, trans_start, 0, data_start)
    tables = b"".join(struct.pack("<2I", *t) for t in orig_table + trans_table)
    return head + tables + blob.getvalue()


def resolve_locale(locale: str) -> list[str]:
    """Candidates for a requested locale, best first: ``pt-BR`` -> ``pt_BR``, ``pt``."""
    code = locale.split(".")[0].split("@")[0].replace("-", "_").strip()
    lang, _, region = code.partition("_")
    lang = lang.lower()
    if not lang.isalpha() or len(lang) > 8:
        return []
    if region and region.isalnum() and len(region) <= 8:
        return [f"{lang}_{region.upper()}", lang]
    return [lang]


class Catalogs:
    """Translations per locale, each falling back to English; built from ``.po`` files."""

    def __init__(self, po_files: dict[str, list[Path]]) -> None:
        """``po_files`` maps a locale to its files, most important first (operator's, ours)."""
        if FALLBACK_LOCALE not in po_files:
            raise ConfigError(f"no {FALLBACK_LOCALE!r} catalogue ({DOMAIN}.po) found")
        self.keys: dict[str, set[str]] = {}
        self._tr: dict[str, gettext.NullTranslations] = {}
        english = self._load(FALLBACK_LOCALE, po_files[FALLBACK_LOCALE])
        for locale, files in po_files.items():
            if locale == FALLBACK_LOCALE:
                continue
            tr = self._load(locale, files)
            tr.add_fallback(english)
        self.english = english

    def _load(self, locale: str, files: list[Path]) -> gettext.NullTranslations:
        chain: gettext.NullTranslations | None = None
        keys: set[str] = set()
        for path in files:
            entries = parse_po(read_text(path), str(path))
            for e in entries:
                if e.msgid == "" and "charset=" in e.msgstr and "charset=UTF-8" not in e.msgstr:
                    raise ConfigError(f"{path}: the catalogue must declare charset=UTF-8")
            keys |= {e.msgid for e in entries if e.msgid and e.msgstr and not e.fuzzy}
            tr = gettext.GNUTranslations(io.BytesIO(compile_po(entries)))
            if chain is None:
                chain = tr
            else:
                chain.add_fallback(tr)
        assert chain is not None
        self.keys[locale] = keys
        self._tr[locale] = chain
        return chain

    @property
    def locales(self) -> list[str]:
        return sorted(self._tr)

    def resolve(self, locale: str) -> str:
        """The best catalogue for a requested locale, else English."""
        for cand in resolve_locale(locale):
            if cand in self._tr:
                return cand
        return FALLBACK_LOCALE

    def text(self, key: str, locale: str) -> str:
        return self._tr.get(locale, self.english).gettext(key)
