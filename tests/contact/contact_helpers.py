"""Helpers for the contact tests (a unique module name: test modules import from here, never
from ``conftest``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from safespace.contact._runtime import ContactRuntime

SECRET = "9f2c71d04be85a3e6c1f7d92ab4e08c35d6f1a27"


@dataclass
class ContactApi:
    client: Any
    app: Any
    keys: dict[str, str] = field(default_factory=dict)

    def post(self, path: str, body: Any, scope: str = "contact") -> Any:
        headers = {"Authorization": f"Bearer {self.keys[scope]}"} if scope else {}
        return self.client.post(path, json=body, headers=headers)

    def runtime(self) -> ContactRuntime:
        found = self.app.state.contact
        assert isinstance(found, ContactRuntime)
        return found
