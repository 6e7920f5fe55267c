"""Helpers for the end-to-end test: `make run`'s command as a real process, a webhook receiver.

The server is started exactly as ``make run`` starts it (``safespace demo --serve``), with a
free port instead of the Makefile's fixed 8000, a temporary data folder, and the operator
settings a new user would put in the environment (webhook URL and secret, reporter details).
Test modules import from here (a unique module name), never from ``conftest``.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from app_factory import answers_ready, free_port, start_safespace, stop_group
from datafiles import BRIDGE as BRIDGE  # the tests of this folder take it from here
from safespace.reports._webhooks import SIGNATURE_HEADER, verify_signature
from waiting import WAIT_SECONDS

WEBHOOK_SECRET = "whsec_e2e_" + "k" * 40
REPORTER = {
    "SAFESPACE_REPORTER_FIRST_NAME": "Sam",
    "SAFESPACE_REPORTER_LAST_NAME": "Safety",
    "SAFESPACE_REPORTER_EMAIL": "trust@platform.example",
    "SAFESPACE_REPORTER_PHONE": "+44 20 7946 0000",
    "SAFESPACE_REPORTER_PLATFORM": "Example Forum",
}
_KEY = re.compile(r"Demo API key \(scopes match, curate\): (\S+)")
_PASSWORD = re.compile(r'sign in as "admin", password: (\S+)\)')
_START_SECONDS = 120.0


def poll(check: Callable[[], bool], deadline: float = WAIT_SECONDS, every: float = 0.1) -> bool:
    """True as soon as ``check()`` is; False after ``deadline`` seconds (a ceiling only)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(every)
    return check()


@dataclass
class DemoServer:
    """A running ``safespace demo --serve`` and what it printed."""

    url: str
    api_key: str
    admin_password: str
    data_dir: Path
    output: list[str]


@contextmanager
def demo_server(data_dir: Path, extra_env: dict[str, str]) -> Iterator[DemoServer]:
    """Run ``safespace demo --serve --port N``; always stopped (its whole process group)."""
    port = free_port()
    proc = start_safespace(
        ["demo", "--serve", "--port", str(port)],
        data_dir,
        extra_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    output: list[str] = []
    drain: threading.Thread | None = None

    def output_text() -> str:
        return "".join(output)

    try:
        key, password = _read_credentials(proc, output)
        # Keep reading stderr so the server never blocks on a full pipe; kept for failures.
        drain = threading.Thread(target=_drain, args=(proc, output), daemon=True)
        drain.start()
        base = f"http://127.0.0.1:{port}"
        assert poll(lambda: answers_ready(base, proc, output_text), _START_SECONDS, 0.2), (
            "the service did not become ready:\n" + output_text()
        )
        yield DemoServer(base, key, password, data_dir, output)
    finally:
        stop_group(proc)  # Ctrl-C, as a user would
        if drain is not None:
            drain.join(timeout=5)
        if proc.stderr is not None and not (drain and drain.is_alive()):
            proc.stderr.close()


def _drain(proc: subprocess.Popen[str], output: list[str]) -> None:
    """Keep reading stderr so the server never blocks on a full pipe; kept for failures."""
    assert proc.stderr is not None
    try:
        for line in proc.stderr:
            output.append(line)
    except (OSError, ValueError):  # the pipe was closed under us: nothing more to keep
        pass


def _read_credentials(proc: subprocess.Popen[str], output: list[str]) -> tuple[str, str]:
    assert proc.stderr is not None
    deadline = time.monotonic() + _START_SECONDS
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        output.append(line)
        if _KEY.search(line):
            break
    text = "".join(output)
    key, password = _KEY.search(text), _PASSWORD.search(text)
    assert key, f"`safespace demo --serve` printed no API key:\n{text}"
    assert password, f"`safespace demo --serve` printed no admin password:\n{text}"
    return key.group(1), password.group(1)


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    payload: dict[str, Any]


@dataclass
class Receiver:
    """The platform's webhook endpoint: records every request, accepts only signed ones."""

    secret: str
    received: list[Delivery] = field(default_factory=list)
    refused: list[Delivery] = field(default_factory=list)
    url: str = ""
    _server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                signature = self.headers.get(SIGNATURE_HEADER, "")
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {}
                seen = Delivery(self.path, dict(self.headers.items()), body, payload)
                ok = verify_signature(outer.secret, body, signature)
                (outer.received if ok else outer.refused).append(seen)
                self.send_response(204 if ok else 401)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hooks/safespace"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def kinds(self) -> list[str]:
        return sorted(str(d.payload.get("kind")) for d in self.received)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
