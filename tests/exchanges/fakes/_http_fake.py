"""What the fake exchange servers share: queued faults, a handler that answers them as its
protocol would, and serving on a free loopback port.

A fault is used by one request: ``truncated`` (a 200 whose body stops half way),
``malformed`` (a 200 that is not the document asked for), ``5xx``, ``401``, ``slow``
(answers after ``slow_seconds``) and ``drop`` (closes the connection unanswered). Each
protocol's handler says what its ``malformed``, ``5xx`` and ``401`` answers look like.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

FAULTS = ("truncated", "malformed", "5xx", "401", "slow", "drop")


class FaultyFake:
    """A fake server's shared state: one lock, the requests seen, and the queued faults."""

    def __init__(self, *, slow_seconds: float) -> None:
        self.slow_seconds = slow_seconds
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []  # (method, path with query)
        self._faults: list[str] = []

    def fail(self, *faults: str) -> None:
        """Queue faults; each is used by the next request that fetches or sends feedback."""
        for fault in faults:
            if fault not in FAULTS:
                raise ValueError(f"unknown fault {fault!r}")
        with self.lock:
            self._faults.extend(faults)

    def take_fault(self) -> str | None:
        with self.lock:
            return self._faults.pop(0) if self._faults else None

    def saw(self, method: str, path: str) -> None:
        with self.lock:
            self.requests.append((method, path))


class FaultyHandler(BaseHTTPRequestHandler):
    """A request handler whose ``answer_fault`` plays the next queued fault, if any."""

    server: FakeServer
    content_type: ClassVar[str] = "application/octet-stream"
    fault_answers: ClassVar[dict[str, tuple[int, bytes]]] = {}  # malformed, 5xx, 401

    def log_message(self, *args: Any) -> None:
        pass

    def send_body(self, status: int, body: bytes, *, cut: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", self.content_type)
        body = body[: len(body) // 2] if cut else body  # a whole response, half a document
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def answer_fault(self, body: bytes) -> bool:
        """Apply a queued fault to the answer ``body``; True when the fault answered."""
        fake = self.server.fake
        fault = fake.take_fault()
        if fault is None:
            return False
        if fault == "slow":
            time.sleep(fake.slow_seconds)
            return False
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return True
        if fault == "truncated":
            self.send_body(200, body, cut=True)
        else:
            self.send_body(*self.fault_answers[fault])
        return True


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: Any, handler: type[FaultyHandler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.fake = fake


@contextmanager
def serve_fake(fake: FaultyFake, handler: type[FaultyHandler], path: str = "") -> Iterator[str]:
    """Serve ``fake`` with ``handler`` on a free loopback port; yields the base URL + ``path``."""
    server = FakeServer(fake, handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}"
    finally:
        server.shutdown()
        server.server_close()
