"""A fake NCMEC hash-sharing server (API v2, XML): a real HTTP server on a loopback port.

It speaks the parts of the v2 protocol a fetching member uses, as NCMEC documents them (and
as python-threatexchange's client shows them): HTTP basic auth; ``GET /v2/status`` (who am
I); ``GET /v2/entries?from=&to=`` answering a ``<queryResult>`` with ``<images>`` and
``<videos>`` (``<image>``, ``<video>``, ``<deletedImage>``, ``<deletedVideo>``) and a
``<paging><next>`` URL carrying ``start``/``size``/``max``; ``GET /v2/feedback/TYPE/reasons``;
``PUT /v2/entries/ESP/ID/TYPE/feedback`` with ``<feedbackSubmission>`` (``<affirmative/>`` or
``<negative><reasonIds><guid>``). Every environment is served: the path before ``/v2`` is
whatever the environment's base URL has (``/hashsharing``, ``/npo``...) and is recorded.

Data lives in memory (:meth:`NcmecFake.put`, :meth:`NcmecFake.delete`); faults are queued with
:meth:`NcmecFake.fail` and each is used by one request: ``truncated`` (a 200 whose body stops
half way), ``malformed`` (a 200 that is not the XML asked for), ``5xx`` (503), ``401``,
``slow`` (answers after ``slow_seconds``), ``drop`` (closes the connection unanswered).
Feedback received is kept in :attr:`NcmecFake.feedback`.
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

from _http_fake import FaultyFake, FaultyHandler, serve_fake

NS = "https://hashsharing.ncmec.org/hashsharing/v2"
_TIME = "%Y-%m-%dT%H:%M:%SZ"
REASONS = {
    "MD5": {"a0a0a0a0-0000-4000-8000-000000000001": "Not the reported content"},
    "PDQ": {
        "b0b0b0b0-0000-4000-8000-000000000001": "Not the reported content",
        "b0b0b0b0-0000-4000-8000-000000000002": "Hash collision",
    },
}


def ncmec_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime(_TIME)


def _parse_time(text: str) -> datetime:
    text = text.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S.%fZ", _TIME):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(f"bad time {text!r}")


@dataclass
class FakeEntry:
    member_id: int
    entry_id: str
    kind: str  # image | video
    timestamp: datetime
    fingerprints: dict[str, str] = field(default_factory=dict)  # tag (md5, pdq...) -> value
    classification: str | None = "A1"
    deleted: bool = False
    seq: int = 0
    upvotes: dict[str, int] = field(default_factory=dict)  # fingerprint type -> members
    downvotes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Feedback:
    esp_id: int
    entry_id: str
    fingerprint_type: str
    vote: str  # affirmative | negative
    reason_guids: tuple[str, ...]
    environment: str


class NcmecFake(FaultyFake):
    """The server's state; :func:`serve` runs it. Thread-safe (one lock)."""

    def __init__(
        self,
        username: str = "member",
        password: str = "secret",
        *,
        member_id: int = 7,
        page_size: int = 1000,
        slow_seconds: float = 2.0,
    ) -> None:
        super().__init__(slow_seconds=slow_seconds)
        self.username, self.password = username, password
        self.member_id = member_id
        self.page_size = page_size
        self.entries: dict[tuple[int, str], FakeEntry] = {}
        self.feedback: list[Feedback] = []
        self.environments: set[str] = set()
        self._seq = 0

    # --- data ----------------------------------------------------------------------------

    def put(
        self,
        entry_id: str,
        fingerprints: dict[str, str],
        *,
        timestamp: datetime,
        member_id: int = 42,
        kind: str = "image",
        classification: str | None = "A1",
    ) -> FakeEntry:
        """Add or change an entry (its timestamp is when NCMEC last changed it)."""
        with self.lock:
            self._seq += 1
            old = self.entries.get((member_id, entry_id))
            entry = FakeEntry(
                member_id, entry_id, kind, timestamp, dict(fingerprints), classification,
                seq=self._seq,
                upvotes=dict(old.upvotes) if old else {},
                downvotes=dict(old.downvotes) if old else {},
            )  # fmt: skip
            self.entries[(member_id, entry_id)] = entry
            return entry

    def delete(self, entry_id: str, *, timestamp: datetime, member_id: int = 42) -> None:
        """Turn an entry into a tombstone (``<deletedImage>``) at ``timestamp``."""
        with self.lock:
            self._seq += 1
            entry = self.entries[(member_id, entry_id)]
            entry.deleted, entry.timestamp, entry.seq = True, timestamp, self._seq
            entry.fingerprints = {}

    # --- answers -------------------------------------------------------------------------

    def entries_xml(self, query: dict[str, str]) -> bytes:
        start_at = (
            _parse_time(query["from"]) if query.get("from") else datetime.min.replace(tzinfo=UTC)
        )
        end_at = _parse_time(query["to"]) if query.get("to") else datetime.now(UTC)
        start = int(query.get("start", "1"))
        size = int(query.get("size", str(self.page_size)))
        with self.lock:
            window = sorted(
                (e for e in self.entries.values() if start_at <= e.timestamp < end_at),
                key=lambda e: e.seq,
            )
            page = window[start - 1 : start - 1 + size]
            body = self._render(page)
        head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        parts = [head, f'<queryResult xmlns="{NS}">']
        parts.append(body)
        if start - 1 + size < len(window):
            nxt = urllib.parse.urlencode(
                {
                    "from": query.get("from", ""),
                    "to": query.get("to", ncmec_time(end_at)),
                    "start": start + size,
                    "size": size,
                    "max": len(window),
                }
            )
            parts.append(f"<paging><next>{escape('/v2/entries?' + nxt)}</next></paging>")
        parts.append("</queryResult>")
        return "\n".join(parts).encode()

    def _render(self, page: list[FakeEntry]) -> str:
        out = []
        for kind in ("image", "video"):
            mine = [e for e in page if e.kind == kind]
            if not mine:
                out.append(f'<{kind}s count="0"/>')
                continue
            top = ncmec_time(max(e.timestamp for e in mine))
            out.append(f'<{kind}s count="{len(mine)}" maxTimestamp="{top}">')
            for e in mine:
                tag = f"deleted{kind.capitalize()}" if e.deleted else kind
                out.append(f"<{tag}>")
                out.append(f'<member id="{e.member_id}">Member {e.member_id}</member>')
                out.append(f"<timestamp>{ncmec_time(e.timestamp)}</timestamp>")
                out.append(f"<id>{escape(e.entry_id)}</id>")
                if not e.deleted:
                    if e.classification:
                        out.append(f"<classification>{escape(e.classification)}</classification>")
                    out.append("<fingerprints>")
                    for fp, value in e.fingerprints.items():
                        out.append(f"<{fp}>{escape(value)}</{fp}>")
                    out.append("</fingerprints>")
                    out.append(self._feedback_xml(e))
                out.append(f"</{tag}>")
            out.append(f"</{kind}s>")
        return "\n".join(out)

    @staticmethod
    def _feedback_xml(e: FakeEntry) -> str:
        if not e.upvotes and not e.downvotes:
            return "<feedback/>"
        out = ["<feedback>"]
        for fp, n in e.upvotes.items():
            out.append(f"<affirmativeFeedback type={quoteattr(fp.capitalize())}><members>")
            out += [f'<member id="{1000 + i}">Voter {i}</member>' for i in range(n)]
            out.append("</members></affirmativeFeedback>")
        for fp, n in e.downvotes.items():
            out.append(f"<negativeFeedback type={quoteattr(fp.capitalize())}><reasons>")
            out.append(f'<reason guid="r" name="Not the reported content" type="{fp}"/>')
            out.append("<members>")
            out += [f'<member id="{2000 + i}">Voter {i}</member>' for i in range(n)]
            out.append("</members></reasons></negativeFeedback>")
        out.append("</feedback>")
        return "".join(out)

    def status_xml(self) -> bytes:
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<status xmlns="{NS}">'
            f"<ipAddress>127.0.0.1</ipAddress><username>{escape(self.username)}</username>"
            f'<member id="{self.member_id}">Fake Member</member></status>'
        ).encode()

    def reasons_xml(self, fingerprint_type: str) -> bytes:
        reasons = REASONS.get(fingerprint_type.upper(), {})
        items = "".join(
            f'<reason guid="{g}" name={quoteattr(n)} type="{fingerprint_type}"/>'
            for g, n in reasons.items()
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<availableFeedbackReasons xmlns="{NS}">{items}</availableFeedbackReasons>'
        ).encode()

    def take_feedback(
        self, esp_id: int, entry_id: str, fp_type: str, body: bytes, environment: str
    ) -> int:
        """Record a feedback submission; the HTTP status to answer."""
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            return 400
        if root.tag != f"{{{NS}}}feedbackSubmission":
            return 400
        votes = list(root)
        if len(votes) != 1 or votes[0].tag not in (f"{{{NS}}}affirmative", f"{{{NS}}}negative"):
            return 400
        vote = votes[0].tag.split("}")[1]
        guids = tuple(g.text or "" for g in votes[0].iter(f"{{{NS}}}guid"))
        if vote == "negative" and (
            not guids or any(g not in REASONS.get(fp_type.upper(), {}) for g in guids)
        ):
            return 400
        with self.lock:
            entry = self.entries.get((esp_id, entry_id))
            if entry is None or entry.deleted:
                return 404
            self.feedback.append(Feedback(esp_id, entry_id, fp_type, vote, guids, environment))
            votes_of = entry.upvotes if vote == "affirmative" else entry.downvotes
            votes_of[fp_type.lower()] = votes_of.get(fp_type.lower(), 0) + 1
        return 200


class _Handler(FaultyHandler):
    content_type = "application/xml; charset=utf-8"
    fault_answers: ClassVar[dict[str, tuple[int, bytes]]] = {
        "malformed": (200, b"<html><body>Service temporarily unavailable</body></html>"),
        "5xx": (503, b"<error>unavailable</error>"),
        "401": (401, b"<error>unauthorized</error>"),
    }

    def _send(self, status: int, body: bytes = b"") -> None:
        self.send_body(status, body)

    def _authorized(self) -> bool:
        fake = self.server.fake
        expected = base64.b64encode(f"{fake.username}:{fake.password}".encode()).decode()
        return self.headers.get("Authorization", "") == f"Basic {expected}"

    def _route(self) -> tuple[str, list[str], dict[str, str]]:
        parsed = urllib.parse.urlsplit(self.path)
        env, _, rest = parsed.path.partition("/v2/")
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        return env or "/", [p for p in rest.split("/") if p], query

    def do_GET(self) -> None:
        fake = self.server.fake
        fake.saw("GET", self.path)
        env, parts, query = self._route()
        if not self._authorized():
            self._send(401, b"<error>unauthorized</error>")
            return
        fake.environments.add(env)
        if parts == ["status"]:
            self._send(200, fake.status_xml())
        elif parts == ["entries"]:
            try:
                body = fake.entries_xml(query)
            except (ValueError, KeyError):
                self._send(400, b"<error>bad query</error>")
                return
            if not self.answer_fault(body):
                self._send(200, body)
        elif len(parts) == 3 and parts[0] == "feedback" and parts[2] == "reasons":
            self._send(200, fake.reasons_xml(parts[1]))
        else:
            self._send(404, b"<error>not found</error>")

    def do_PUT(self) -> None:
        fake = self.server.fake
        fake.saw("PUT", self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env, parts, _ = self._route()
        if not self._authorized():
            self._send(401, b"<error>unauthorized</error>")
            return
        if len(parts) != 5 or parts[0] != "entries" or parts[4] != "feedback":
            self._send(404, b"<error>not found</error>")
            return
        if self.answer_fault(b""):
            return
        try:
            esp_id = int(parts[1])
        except ValueError:
            self._send(400, b"<error>bad member id</error>")
            return
        status = fake.take_feedback(esp_id, parts[2], parts[3], body, env)
        result = f'<?xml version="1.0"?>\n<submissionResult xmlns="{NS}"/>'.encode()
        self._send(status, result if status == 200 else b"<error>refused</error>")


@contextmanager
def serve(fake: NcmecFake) -> Iterator[str]:
    """Serve ``fake`` on a free loopback port; yields the base URL (no environment path)."""
    with serve_fake(fake, _Handler) as url:
        yield url
