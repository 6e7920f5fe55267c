"""Fixtures for contact decisions in the service: an app per database backend with keys."""

from __future__ import annotations

import pytest
from contact_helpers import SECRET, ContactApi

from app_factory import AppStarter


@pytest.fixture
def contact_api(start_app: AppStarter) -> ContactApi:
    started = start_app(deter_secret=SECRET)
    api = ContactApi(started.client, started.app)
    for scope in ("match", "contact", "admin"):
        api.keys[scope] = started.state.keys.create(scope, name=f"test-{scope}")[1]
    return api
