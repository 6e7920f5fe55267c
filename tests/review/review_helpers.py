"""Helpers for the review tests: signed-in clients, a signature-checking webhook receiver."""

from __future__ import annotations

import base64
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from datafiles import BRIDGE
from safespace.accounts import Passwords
from safespace.reports import verify_signature

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "correct horse battery staple"
BENIGN_IMAGE = BRIDGE
SECRET = "whsec_" + "t" * 40
# A fixed test-only evidence master key (32 distinct bytes): reviewer media is sealed with it.
EVIDENCE_KEY = base64.b64encode(bytes(range(32))).decode()
_TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


def fast_passwords() -> Passwords:
    return Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def token(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "no csrf_token on the page"
    return found.group(1)


@dataclass
class ReviewApp:
    app: FastAPI
    clients: list[TestClient]

    def signed_in(self, name: str, role: str = "reviewer") -> TestClient:
        self.app.state.accounts.users.create(name, role, PASSWORD)
        client = TestClient(self.app, follow_redirects=False)
        self.clients.append(client)
        page = client.get("/console/sign-in")
        data = {"name": name, "password": PASSWORD, "csrf_token": token(page.text)}
        assert client.post("/console/sign-in", data=data).status_code == 303
        return client

    def api_key(self, scopes: str = "match,curate") -> dict[str, str]:
        _, secret = self.app.state.safespace.keys.create(scopes.split(","), name="t")
        return {"Authorization": f"Bearer {secret}"}


def csrf(client: TestClient) -> str:
    return token(client.get("/console/queue").text)


@dataclass
class Receiver:
    """A local HTTP endpoint that accepts only correctly signed actions."""

    secret: str
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    url: str = ""
    server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                import json

                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                header = self.headers.get("SafeSpace-Signature", "")
                if verify_signature(outer.secret, body, header):
                    outer.received.append(json.loads(body))
                    self.send_response(204)
                else:
                    outer.refused += 1
                    self.send_response(401)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
