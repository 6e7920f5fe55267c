"""Helpers for the console tests: a movable clock, the Console wrapper, fast password hashing."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safespace.accounts import Accounts, Passwords
from safespace.store._models import utcnow

PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


def fast_passwords() -> Passwords:
    """argon2id with small parameters: the same code path, a fraction of the CPU."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def form_token(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


@dataclass
class Clock:
    """A clock the tests move by hand."""

    now: datetime = field(default_factory=utcnow)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Console:
    """A started app, its accounts (fast hashing, movable clock), and a way to sign in."""

    app: FastAPI
    accounts: Accounts
    clock: Clock
    clients: list[TestClient]

    def client(self, base_url: str = "http://testserver") -> TestClient:
        client = TestClient(self.app, base_url=base_url, follow_redirects=False)
        self.clients.append(client)
        return client

    def user(self, name: str, role: str = "reviewer", password: str = PASSWORD) -> str:
        self.accounts.users.create(name, role, password)
        return name

    def sign_in(
        self, client: TestClient, name: str, password: str = PASSWORD, next_url: str = "/console"
    ) -> Any:
        page = client.get("/console/sign-in")
        assert page.status_code == 200, page.text
        data = {"name": name, "password": password, "csrf_token": form_token(page.text)}
        return client.post("/console/sign-in", data={**data, "next": next_url})

    def signed_in(self, name: str, role: str = "reviewer") -> TestClient:
        self.user(name, role)
        client = self.client()
        response = self.sign_in(client, name)
        assert response.status_code == 303, response.text
        return client

    def csrf(self, client: TestClient) -> str:
        page = client.get("/console")
        assert page.status_code == 200, page.text
        return form_token(page.text)


@dataclass
class LiveServer:
    """The app under a real uvicorn server, for the browser."""

    url: str
    app: FastAPI
    accounts: Accounts


MakeConsole = Callable[..., Console]


def sign_in_as(page: Any, server: LiveServer, name: str, role: str) -> None:
    """Make the console user ``name`` with ``role`` and sign in through the sign-in page in
    the browser; returns once the browser has left that page."""
    import time

    from waiting import WAIT_SECONDS

    server.accounts.users.create(name, role, PASSWORD)
    page.goto(f"{server.url}/console/sign-in")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    deadline = time.monotonic() + WAIT_SECONDS
    while "/console/sign-in" in page.url:
        assert time.monotonic() < deadline, "sign-in did not finish"
        page.wait_for_timeout(50)


def axe_source() -> str:
    """axe-core as the axe-playwright-python package ships it (a dev dependency)."""
    from importlib.resources import files

    return files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")
