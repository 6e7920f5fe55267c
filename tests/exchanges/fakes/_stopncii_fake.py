"""A fake StopNCII.org hash-exchange API: a real HTTP server on a loopback port.

It speaks the calls a Content Service Provider makes, as StopNCII documents them (and as
python-threatexchange's client shows them): every call carries ``Ocp-Apim-Subscription-Key``
and the endpoint's own ``x-functions-key``; ``GET /v1/FetchHashes?startTimestamp=&pageSize=``
(then ``&nextPageToken=``) answers ``{"count", "nextPageToken", "nextSetTimestamp",
"hasMoreRecords", "hashRecords"}``, each record with ``lastModtimestamp``, ``signalType``,
``hashValue``, ``hashStatus`` (``Active``, ``Withdrawn``, ``Deleted``...), ``caseNumbers`` and
``CSPFeedbacks``; ``POST /v1/SubmitFeedback`` takes ``{"count", "hashFeedbacks": [{"hashValue",
"feedbackValue", "tags"}]}``.

Records live in memory (:meth:`StopNciiFake.put`); a page holds the records changed at or
after ``startTimestamp`` (oldest change first) and its ``nextSetTimestamp`` is one second past
the newest change in the set, the timestamp to start from next time. Faults are queued with
:meth:`StopNciiFake.fail`, each used by one FetchHashes or SubmitFeedback call:
``truncated`` (a 200 whose body stops half way: the page python-threatexchange's client
stalls on), ``malformed`` (a 200 that is JSON but not a page), ``5xx`` (503), ``401``,
``slow`` (answers after ``slow_seconds``), ``drop`` (closes the connection unanswered).
Feedback received is kept in :attr:`StopNciiFake.feedback`.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from _http_fake import FaultyFake, FaultyHandler, serve_fake

FEEDBACK_VALUES = (
    "None", "QualityUnknown", "PendingReview", "Blocked", "NotBlocked", "Withdrawn", "Deleted",
)  # fmt: skip


@dataclass
class FakeRecord:
    signal_type: str  # ImagePDQ, VideoMD5...
    value: str
    last_mod: int
    status: str = "Active"
    cases: dict[str, str] = field(default_factory=dict)
    feedbacks: list[dict[str, Any]] = field(default_factory=list)
    seq: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "lastModtimestamp": self.last_mod,
            "signalType": self.signal_type,
            "hashValue": self.value,
            "hashStatus": self.status,
            "caseNumbers": dict(self.cases),
            "CSPFeedbacks": list(self.feedbacks),
        }


@dataclass(frozen=True)
class Feedback:
    value: str  # the hash
    feedback: str  # Blocked, NotBlocked...
    tags: tuple[str, ...]


class StopNciiFake(FaultyFake):
    """The server's state; :func:`serve` runs it. Thread-safe (one lock)."""

    def __init__(
        self,
        subscription_key: str = "sub-key",
        fetch_key: str = "fetch-key",
        feedback_key: str = "feedback-key",
        *,
        slow_seconds: float = 2.0,
    ) -> None:
        super().__init__(slow_seconds=slow_seconds)
        self.subscription_key = subscription_key
        self.function_keys = {"FetchHashes": fetch_key, "SubmitFeedback": feedback_key}
        self.records: dict[str, FakeRecord] = {}
        self.feedback: list[Feedback] = []
        self._seq = 0

    def put(
        self,
        value: str,
        signal_type: str = "ImagePDQ",
        *,
        last_mod: int,
        status: str = "Active",
        cases: dict[str, str] | None = None,
    ) -> FakeRecord:
        """Add or change the record for a hash (``status`` Withdrawn/Deleted withdraws it)."""
        with self.lock:
            self._seq += 1
            old = self.records.get(value)
            record = FakeRecord(
                signal_type, value, last_mod, status, dict(cases or {"case-1": status}),
                list(old.feedbacks) if old else [], self._seq,
            )  # fmt: skip
            self.records[value] = record
            return record

    def page(self, query: dict[str, str]) -> dict[str, Any]:
        """One FetchHashes page; raises ValueError on a bad query or token."""
        size = max(1, min(int(query.get("pageSize", "800")), 1000))
        token = query.get("nextPageToken")
        if token:
            state = json.loads(base64.urlsafe_b64decode(token.encode()))
            start, offset, next_set = int(state["s"]), int(state["o"]), int(state["n"])
        else:
            start, offset = int(query.get("startTimestamp", "0")), 0
            next_set = None
        with self.lock:
            window = sorted(
                (r for r in self.records.values() if r.last_mod >= start),
                key=lambda r: (r.last_mod, r.seq),
            )
            if next_set is None:
                next_set = max((r.last_mod for r in window), default=start - 1) + 1
            window = [r for r in window if r.last_mod < next_set]
            chunk = [r.as_json() for r in window[offset : offset + size]]
        more = offset + size < len(window)
        new_token = (
            base64.urlsafe_b64encode(
                json.dumps({"s": start, "o": offset + size, "n": next_set}).encode()
            ).decode()
            if more
            else None
        )
        return {
            "count": len(chunk),
            "nextPageToken": new_token,
            "nextSetTimestamp": next_set,
            "hasMoreRecords": more,
            "hashRecords": chunk,
        }

    def take_feedback(self, body: bytes) -> int:
        try:
            doc = json.loads(body)
            items = doc["hashFeedbacks"]
            if not isinstance(items, list) or doc.get("count") != len(items):
                return 400
            got = [
                Feedback(str(i["hashValue"]), str(i["feedbackValue"]), tuple(i.get("tags", ())))
                for i in items
            ]
        except (ValueError, KeyError, TypeError):
            return 400
        if any(f.feedback not in FEEDBACK_VALUES for f in got):
            return 400
        with self.lock:
            if any(f.value not in self.records for f in got):
                return 404
            self.feedback += got
            for f in got:
                self.records[f.value].feedbacks.append(
                    {"feedbackValue": f.feedback, "tags": list(f.tags), "source": "fake-csp"}
                )
        return 200


class _Handler(FaultyHandler):
    content_type = "application/json"
    fault_answers: ClassVar[dict[str, tuple[int, bytes]]] = {
        "malformed": (200, b'{"message": "upstream busy", "hashRecords": "later"}'),
        "5xx": (503, b'{"message": "service unavailable"}'),
        "401": (401, b'{"statusCode": 401, "message": "Access denied"}'),
    }

    def _send(self, status: int, doc: Any) -> None:
        self.send_body(status, doc if isinstance(doc, bytes) else json.dumps(doc).encode())

    def _endpoint(self) -> tuple[str, dict[str, str]] | None:
        parsed = urllib.parse.urlsplit(self.path)
        parts = [p for p in parsed.path.split("/") if p]
        if len(parts) != 2 or parts[0] != "v1":
            self._send(404, {"error": "not found"})
            return None
        fake = self.server.fake
        key = fake.function_keys.get(parts[1])
        if key is None:
            self._send(404, {"error": "not found"})
            return None
        if (
            self.headers.get("Ocp-Apim-Subscription-Key") != fake.subscription_key
            or self.headers.get("x-functions-key") != key
        ):
            self._send(401, {"statusCode": 401, "message": "Access denied: invalid key"})
            return None
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query).items()}
        return parts[1], query

    def do_GET(self) -> None:
        fake = self.server.fake
        fake.saw("GET", self.path)
        route = self._endpoint()
        if route is None:
            return
        name, query = route
        if name != "FetchHashes":
            self._send(405, {"error": "method not allowed"})
            return
        try:
            body = json.dumps(fake.page(query)).encode()
        except (ValueError, KeyError, TypeError):
            self._send(400, {"message": "bad request"})
            return
        if not self.answer_fault(body):
            self._send(200, body)

    def do_POST(self) -> None:
        fake = self.server.fake
        fake.saw("POST", self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        route = self._endpoint()
        if route is None:
            return
        if route[0] != "SubmitFeedback":
            self._send(405, {"error": "method not allowed"})
            return
        if self.answer_fault(b'{"message": "ok"}'):
            return
        status = fake.take_feedback(body)
        self._send(status, {"message": "ok" if status == 200 else "refused"})


@contextmanager
def serve(fake: StopNciiFake) -> Iterator[str]:
    """Serve ``fake`` on a free loopback port; yields the base URL (``.../v1`` is the API)."""
    with serve_fake(fake, _Handler, "/v1") as url:
        yield url
