"""NCMEC Hash Sharing (v2) XML: ``<queryResult>`` with ``<images>``/``<videos>`` entries.

Each ``<image>``/``<video>`` has ``<member id>``, ``<timestamp>``, ``<id>``, an optional
``<classification>`` (industry A1/A2/B1/B2) and ``<fingerprints>`` (``md5``, ``sha1``,
``pdna``, ``pdq``...). One entry gives one record per fingerprint SafeSpace can match;
``<deletedImage>``/``<deletedVideo>`` entries are reported as withdrawals. Parsed with
defusedxml's SAX parser: DTDs, entities and external references are refused.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO
from typing import BinaryIO
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler, ErrorHandler
from xml.sax.saxutils import escape, quoteattr
from xml.sax.xmlreader import AttributesImpl, InputSource, Locator

import defusedxml
from defusedxml.expatreader import DefusedExpatParser

from safespace.errors import ImportFormatError, Reject
from safespace.signals import SIGNAL_TYPES

from ._base import (
    HashRecord,
    ParseResult,
    TextFormat,
    Withdrawal,
    check_signal,
    format_datetime,
    gc_paused,
    has_lone_surrogate,
    optional_text,
    parse_datetime,
    reject,
)

__all__ = ["NAMESPACE", "NcmecFormat"]

NAMESPACE = "https://hashsharing.ncmec.org/hashsharing/v2"

_ENTRY_TAGS = {"image": "image", "video": "video"}
_DELETED_TAGS = {"deletedimage": "image", "deletedvideo": "video"}
_FIELDS = frozenset({"id", "member", "timestamp", "classification", "note"})
FORMAT_NAME = "ncmec"
# Fingerprint tag (lower-cased) -> signal type, and type -> tag written: from each type's
# ``exchange_names["ncmec"]``.
_TAGS = {
    kind.name: wire
    for kind in SIGNAL_TYPES.values()
    if (wire := kind.exchange_name(FORMAT_NAME)) is not None
}
_SUPPORTED = {wire.lower(): name for name, wire in _TAGS.items()}
_FP_PREFIX = "fp."  # extra keys holding fingerprints SafeSpace keeps but cannot match (sha1...)
_ROOTS = frozenset({"queryresult", "images", "videos"})
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# A field, fingerprint or member id longer than this rejects its entry (NCMEC's are short).
MAX_FIELD_CHARS = 64 * 1024
_DECLARATION = re.compile(r"""\A\s*<\?xml\s[^>]*?\bencoding\s*=\s*(?:"([^"]*)"|'([^']*)')""")
# Encodings expat reads itself (Python's names for them); any other name is handed to
# Python's codecs, which pyexpat can use only for single-byte text encodings.
_EXPAT_ENCODINGS = frozenset({"utf-8", "utf-16", "utf-16-le", "utf-16-be", "iso8859-1", "ascii"})


class NcmecFormat(TextFormat):
    """NCMEC hash-sharing XML; SHA-1 and PhotoDNA are kept in ``extra``, never matched."""

    name = FORMAT_NAME
    description = "NCMEC Hash Sharing v2 XML (<queryResult><images><image>...)"
    extensions = (".xml",)

    def parse(self, data: bytes, *, default_signal_type: str | None = None) -> ParseResult:
        _check_encoding(data)
        handler = _Handler()
        # The whole document goes to expat in one call. Fed in 64 KiB pieces (the SAX
        # default), expat scans a token that spans pieces again with each new piece, so
        # a 40 MB attribute took a minute (quadratic); in one piece it is one scan.
        parser = DefusedExpatParser(bufsize=len(data) + 1, forbid_dtd=True)
        parser.setContentHandler(handler)
        parser.setErrorHandler(ErrorHandler())
        source = InputSource()
        source.setByteStream(BytesIO(data))
        try:
            with gc_paused():
                parser.parse(source)
        except SAXParseException as exc:
            raise ImportFormatError(
                f"malformed XML at line {exc.getLineNumber()} column {exc.getColumnNumber()}: "
                f"{exc.getMessage()}"
            ) from None
        except defusedxml.DefusedXmlException:
            raise ImportFormatError(
                "XML with a DTD, entity declarations or external references is refused "
                "(NCMEC documents need none)"
            ) from None
        if not handler.seen_entry and handler.root.lower() not in _ROOTS:
            raise ImportFormatError(
                f"XML root <{handler.root}> is not an NCMEC hash-sharing document "
                "(expected <queryResult>)"
            )
        return ParseResult(handler.records, handler.rejects, handler.withdrawn)

    def write_to(self, records: Iterable[HashRecord], stream: BinaryIO) -> None:
        """Images first, then videos; records sharing an entry id are written as one entry."""
        groups = _group(records)
        out = [
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
            f"<queryResult xmlns={quoteattr(NAMESPACE)}>\n",
        ]
        for kind in ("image", "video"):
            block = [g for g in groups if _entry_type(g[0]) == kind]
            if not block:
                continue
            stamps = [g[0].added_at for g in block if g[0].added_at is not None]
            attrs = f' count="{len(block)}"'
            if stamps:
                attrs += f" maxTimestamp={quoteattr(format_datetime(max(stamps)))}"
            out.append(f"  <{kind}s{attrs}>\n")
            out.extend(_entry_xml(kind, g) for g in block)
            out.append(f"  </{kind}s>\n")
        out.append("</queryResult>\n")
        stream.write("".join(out).encode())

    def sniff(self, head: str) -> bool:
        """Any XML document: this is the only XML format."""
        return head.lstrip()[:1] == "<"


def _declaration(data: bytes) -> str:
    """The XML declaration (``<?xml ... ?>``) as text, or "" when there is none."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        codec, end = "utf-16", data.find(b"?\x00>\x00" if data[:1] == b"\xff" else b"\x00?\x00>")
    elif data[:2] == b"<\x00":
        codec, end = "utf-16-le", data.find(b"?\x00>\x00")
    elif data[:2] == b"\x00<":
        codec, end = "utf-16-be", data.find(b"\x00?\x00>")
    else:
        codec, end = "latin-1", data.find(b"?>")
    if end < 0:
        return ""
    return data[: end + 4].decode(codec, "replace")


def _check_encoding(data: bytes) -> None:
    """Refuse an encoding named in the XML declaration that cannot be read, before expat
    hands the name to Python's codecs (which answer with LookupError, ValueError...)."""
    found = _DECLARATION.match(_declaration(data))
    if found is None:
        return
    name = found.group(1) if found.group(1) is not None else found.group(2)
    try:
        known = codecs.lookup(name).name
    except (LookupError, ValueError):
        raise ImportFormatError(
            f"the XML declaration names an unknown encoding {name!r}; save the file as UTF-8"
        ) from None
    if known in _EXPAT_ENCODINGS:
        return
    # What pyexpat does with any other name: decode all 256 byte values with this codec.
    try:
        table = bytes(range(256)).decode(name, "replace")
    except (LookupError, UnicodeError, ValueError, TypeError):
        table = ""
    if len(table) != 256 or has_lone_surrogate(table):
        raise ImportFormatError(
            f"the XML declaration names the encoding {name!r}, which SafeSpace cannot read "
            "(only UTF-8, UTF-16 and single-byte encodings); save the file as UTF-8"
        )


@dataclass
class _Entry:
    kind: str
    deleted: bool
    line: int
    depth: int
    fields: dict[str, str] = field(default_factory=dict)
    member_id: str | None = None
    fingerprints: list[tuple[str, str, int]] = field(default_factory=list)

    def summary(self) -> str:
        tag = f"deleted{self.kind.title()}" if self.deleted else self.kind
        ident = self.fields.get("id")
        return f"<{tag}> id={ident}" if ident else f"<{tag}>"


class _Handler(ContentHandler):
    """Collects entries as SAX events arrive, so only one entry is held at a time."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[int, HashRecord]] = []
        self.rejects: list[Reject] = []
        self.withdrawn: list[Withdrawal] = []
        self.root = ""
        self.seen_entry = False
        self._locator: Locator | None = None
        self._depth = 0
        self._entry: _Entry | None = None
        self._text: list[str] | None = None
        self._in_fingerprints = False
        self._fp_line = 0

    def setDocumentLocator(self, locator: Locator) -> None:  # noqa: N802 (SAX API)
        self._locator = locator

    def _line(self) -> int:
        line = self._locator.getLineNumber() if self._locator is not None else None
        return line or 0

    def startElement(self, name: str, attrs: AttributesImpl) -> None:  # noqa: N802
        self._depth += 1
        local = name.rpartition(":")[2]
        key = local.lower()
        if self._depth == 1:
            self.root = local
        entry = self._entry
        if entry is None:
            if key in _ENTRY_TAGS or key in _DELETED_TAGS:
                self.seen_entry = True
                deleted = key in _DELETED_TAGS
                kind = _DELETED_TAGS[key] if deleted else _ENTRY_TAGS[key]
                self._entry = _Entry(kind, deleted, self._line(), self._depth)
            return
        level = self._depth - entry.depth
        if level == 1:
            self._in_fingerprints = key == "fingerprints"
            if key in _FIELDS:
                self._text = []
            if key == "member":
                entry.member_id = attrs.get("id")
        elif level == 2 and self._in_fingerprints:
            self._text = []
            self._fp_line = self._line()

    def characters(self, content: str) -> None:
        if self._text is not None:
            self._text.append(content)

    def endElement(self, name: str) -> None:  # noqa: N802
        entry = self._entry
        depth = self._depth
        self._depth -= 1
        if entry is None:
            return
        level = depth - entry.depth
        key = name.rpartition(":")[2]
        if level == 0:
            self._finish(entry)
            self._entry = None
        elif self._text is not None and level == 1:
            entry.fields[key.lower()] = "".join(self._text).strip()
            self._text = None
        elif self._text is not None and level == 2:
            entry.fingerprints.append((key, "".join(self._text).strip(), self._fp_line))
            self._text = None
        if level == 1 and key.lower() == "fingerprints":
            self._in_fingerprints = False

    def _finish(self, entry: _Entry) -> None:
        if (overlong := _overlong(entry)) is not None:
            self.rejects.append(reject(entry.line, entry.summary(), overlong))
            return
        ref = {"entry_type": entry.kind}
        if "id" in entry.fields:
            ref["ncmec_id"] = entry.fields["id"]
        if entry.member_id is not None:
            ref["member_id"] = entry.member_id
        if entry.deleted and not entry.fingerprints:
            self.withdrawn.append(
                Withdrawal(entry.line, None, ref, "entry deleted by its NCMEC member")
            )
            return
        added_at: datetime | None = None
        if stamp := entry.fields.get("timestamp"):
            try:
                added_at = parse_datetime(stamp)
            except ValueError as exc:
                self.rejects.append(reject(entry.line, entry.summary(), f"timestamp: {exc}"))
                return
        extra: dict[str, str] = {}
        if entry.kind != "image":
            extra["entry_type"] = entry.kind
        if "ncmec_id" in ref:
            extra["ncmec_id"] = ref["ncmec_id"]
        if entry.member_id is not None:
            extra["member_id"] = entry.member_id
        usable: list[tuple[int, str, str]] = []
        others: list[str] = []
        for tag, text, line in entry.fingerprints:
            signal_type = _SUPPORTED.get(tag.lower())
            if signal_type is None:
                others.append(tag)
                if text:
                    extra[_FP_PREFIX + tag] = text
                continue
            checked = check_signal(signal_type, text)
            if isinstance(checked, str):
                self.rejects.append(reject(line, f"<{tag}>{text}</{tag}>", checked))
                continue
            usable.append((line, *checked))
        if not usable:
            if not any(_SUPPORTED.get(t.lower()) for t, _, _ in entry.fingerprints):
                found = ", ".join(others) or "none"
                self.rejects.append(
                    reject(
                        entry.line,
                        entry.summary(),
                        f"no fingerprint SafeSpace can match (found: {found}; "
                        f"reads {', '.join(sorted(_SUPPORTED))})",
                    )
                )
            return
        for line, signal_type, value in usable:
            record = HashRecord(
                signal_type,
                value,
                source=optional_text(entry.fields.get("member")),
                category=optional_text(entry.fields.get("classification")),
                note=optional_text(entry.fields.get("note")),
                added_at=added_at,
                extra=dict(extra),
            )
            if entry.deleted:
                self.withdrawn.append(
                    Withdrawal(line, record, ref, "entry deleted by its NCMEC member")
                )
            else:
                self.records.append((line, record))


def _overlong(entry: _Entry) -> str | None:
    """Why the entry is refused for a field over :data:`MAX_FIELD_CHARS`, or None."""
    named = [("<member id>", entry.member_id or "")]
    named += [(f"<{key}>", text) for key, text in entry.fields.items()]
    named += [(f"<{tag}>", text) for tag, text, _ in entry.fingerprints]
    for label, text in named:
        if len(text) > MAX_FIELD_CHARS:
            return f"{label} is {len(text)} characters long (at most {MAX_FIELD_CHARS})"
    return None


def _entry_type(record: HashRecord) -> str:
    return "video" if record.extra.get("entry_type") == "video" else "image"


def _same_entry(a: HashRecord, b: HashRecord) -> bool:
    return (
        a.extra.get("ncmec_id") is not None
        and a.extra == b.extra
        and (a.source, a.category, a.note, a.added_at) == (b.source, b.category, b.note, b.added_at)
    )


def _group(records: Iterable[HashRecord]) -> list[list[HashRecord]]:
    """Consecutive records of one NCMEC entry (same id and metadata, distinct types)."""
    groups: list[list[HashRecord]] = []
    for record in records:
        last = groups[-1] if groups else None
        if (
            last is not None
            and _same_entry(last[0], record)
            and all(r.signal_type != record.signal_type for r in last)
        ):
            last.append(record)
        else:
            groups.append([record])
    return groups


def _text(value: str) -> str:
    return escape(_XML_INVALID.sub("\ufffd", value))


def _entry_xml(kind: str, group: list[HashRecord]) -> str:
    first = group[0]
    extra: Mapping[str, str] = first.extra
    parts = [f"    <{kind}>\n"]
    member_id = extra.get("member_id")
    if first.source is not None or member_id is not None:
        attr = f" id={quoteattr(_XML_INVALID.sub('', member_id))}" if member_id else ""
        parts.append(f"      <member{attr}>{_text(first.source or '')}</member>\n")
    if first.added_at is not None:
        parts.append(f"      <timestamp>{format_datetime(first.added_at)}</timestamp>\n")
    if "ncmec_id" in extra:
        parts.append(f"      <id>{_text(extra['ncmec_id'])}</id>\n")
    if first.category is not None:
        parts.append(f"      <classification>{_text(first.category)}</classification>\n")
    if first.note is not None:
        parts.append(f"      <note>{_text(first.note)}</note>\n")
    parts.append("      <fingerprints>\n")
    for record in group:
        tag = _TAGS.get(record.signal_type, record.signal_type)
        parts.append(f"        <{tag}>{record.value}</{tag}>\n")
    for key, value in extra.items():
        tag = key[len(_FP_PREFIX) :]
        if key.startswith(_FP_PREFIX) and re.fullmatch(r"[A-Za-z][\w.-]*", tag):
            parts.append(f"        <{tag}>{_text(value)}</{tag}>\n")
    parts.append(f"      </fingerprints>\n    </{kind}>\n")
    return "".join(parts)
