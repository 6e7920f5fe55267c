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
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape, quoteattr

NS = "https://hashsharing.ncmec.org/hashsharing/v2"
_TIME = "%Y-%m-%dT%H:%M:%SZ"
FAULTS = ("truncated", "malformed", "5xx", "401", "slow", "drop")
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


class NcmecFake:
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
        self.username, self.password = username, password
        self.member_id = member_id
        self.page_size = page_size
        self.slow_seconds = slow_seconds
        self.lock = threading.Lock()
        self.entries: dict[tuple[int, str], FakeEntry] = {}
        self.feedback: list[Feedback] = []
        self.requests: list[tuple[str, str]] = []  # (method, path with query)
        self.environments: set[str] = set()
        self._faults: list[str] = []
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

    def fail(self, *faults: str) -> None:
        """Queue faults; each is used by the next request that fetches entries or sends
        feedback (``/v2/status`` and reasons are never faulted)."""
        for fault in faults:
            if fault not in FAULTS:
                raise ValueError(f"unknown fault {fault!r}")
        with self.lock:
            self._faults.extend(faults)

    def take_fault(self) -> str | None:
        with self.lock:
            return self._faults.pop(0) if self._faults else None

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


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes = b"", *, cut: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/xml; charset=utf-8")
        body = body[: len(body) // 2] if cut else body  # a whole response, half a document
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _authorized(self) -> bool:
        fake = self.server.fake
        expected = base64.b64encode(f"{fake.username}:{fake.password}".encode()).decode()
        return self.headers.get("Authorization", "") == f"Basic {expected}"

    def _route(self) -> tuple[str, list[str], dict[str, str]]:
        parsed = urllib.parse.urlsplit(self.path)
        env, _, rest = parsed.path.partition("/v2/")
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        return env or "/", [p for p in rest.split("/") if p], query

    def _fault(self, body: bytes) -> bool:
        """Apply a queued fault; True when the request was answered by it."""
        fault = self.server.fake.take_fault()
        if fault is None:
            return False
        if fault == "slow":
            time.sleep(self.server.fake.slow_seconds)
            return False
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        if fault == "truncated":
            self._send(200, body, cut=True)
        elif fault == "malformed":
            self._send(200, b"<html><body>Service temporarily unavailable</body></html>")
        elif fault == "5xx":
            self._send(503, b"<error>unavailable</error>")
        elif fault == "401":
            self._send(401, b"<error>unauthorized</error>")
        return True

    def do_GET(self) -> None:
        fake = self.server.fake
        with fake.lock:
            fake.requests.append(("GET", self.path))
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
            if not self._fault(body):
                self._send(200, body)
        elif len(parts) == 3 and parts[0] == "feedback" and parts[2] == "reasons":
            self._send(200, fake.reasons_xml(parts[1]))
        else:
            self._send(404, b"<error>not found</error>")

    def do_PUT(self) -> None:
        fake = self.server.fake
        with fake.lock:
            fake.requests.append(("PUT", self.path))
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env, parts, _ = self._route()
        if not self._authorized():
            self._send(401, b"<error>unauthorized</error>")
            return
        if len(parts) != 5 or parts[0] != "entries" or parts[4] != "feedback":
            self._send(404, b"<error>not found</error>")
            return
        if self._fault(b""):
            return
        try:
            esp_id = int(parts[1])
        except ValueError:
            self._send(400, b"<error>bad member id</error>")
            return
        status = fake.take_feedback(esp_id, parts[2], parts[3], body, env)
        result = f'<?xml version="1.0"?>\n<submissionResult xmlns="{NS}"/>'.encode()
        self._send(status, result if status == 200 else b"<error>refused</error>")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: NcmecFake) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.fake = fake


@contextmanager
def serve(fake: NcmecFake) -> Iterator[str]:
    """Serve ``fake`` on a free loopback port; yields the base URL (no environment path)."""
    server = _Server(fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
