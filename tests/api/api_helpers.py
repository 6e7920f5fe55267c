"""Helpers for the HTTP service tests: the Api wrapper, problem checks, polling, CLI result."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from datafiles import BRIDGE as BRIDGE  # the tests of this folder take it from here
from safespace.api._state import ServiceState
from waiting import WAIT_SECONDS


@dataclass
class Api:
    """A started app with one key per scope; ``as_(scope)`` gives that key's headers."""

    client: TestClient
    state: ServiceState
    keys: dict[str, str] = field(default_factory=dict)

    def as_(self, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[scope]}"}

    def _headers(self, scope: str, kw: dict[str, Any]) -> dict[str, str]:
        return {**self.as_(scope), **kw.pop("headers", {})}

    def get(self, url: str, scope: str = "admin", **kw: Any) -> Any:
        return self.client.get(url, headers=self._headers(scope, kw), **kw)

    def post(self, url: str, scope: str = "admin", **kw: Any) -> Any:
        return self.client.post(url, headers=self._headers(scope, kw), **kw)

    def patch(self, url: str, scope: str = "admin", **kw: Any) -> Any:
        return self.client.patch(url, headers=self._headers(scope, kw), **kw)

    def delete(self, url: str, scope: str = "admin", **kw: Any) -> Any:
        return self.client.delete(url, headers=self._headers(scope, kw), **kw)

    def upload(self, url: str, data: bytes, scope: str = "admin", **fields: str) -> Any:
        files = {"file": ("upload.bin", data, "application/octet-stream")}
        return self.post(url, scope, files=files, data=fields)


MakeApi = Callable[..., Api]


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem of this status and type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{code}", body
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


def poll(check: Callable[[], bool], deadline: float = WAIT_SECONDS) -> bool:
    """True as soon as ``check()`` is; False after ``deadline`` seconds (a ceiling)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.02)
    return check()


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.startswith("{")]
