"""Fixtures for contact decisions in the service: an app per database backend with keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from app_factory import AppStarter
from safespace.api._routes.contact import ContactRuntime

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


@pytest.fixture
def contact_api(start_app: AppStarter) -> ContactApi:
    started = start_app(deter_secret=SECRET)
    api = ContactApi(started.client, started.app)
    for scope in ("match", "contact", "admin"):
        api.keys[scope] = started.state.keys.create(scope, name=f"test-{scope}")[1]
    return api
