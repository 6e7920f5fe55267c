"""Parallel sign-ins share the lockout count: at most the limit's passwords are verified.

Every attempt is counted in the database before its password is checked, so a burst of
requests for one name (several threads here; several workers or servers in production)
cannot verify more passwords than the lockout allows. The wrapped verifier holds each
verification until every request has either reached it or been answered, so all of them
are in flight at once; no timing is involved.
"""

from __future__ import annotations

import threading
from typing import Any

from console_helpers import PASSWORD, Console, MakeConsole, form_token

from safespace.accounts import Passwords

LIMIT = 5
ATTEMPTS = 9
WAIT = 120.0  # generous: only reached if requests were not in flight together


class HeldVerifier:
    """Wraps the app's password checker: counts verifications and holds each until released."""

    def __init__(self, inner: Passwords) -> None:
        self.inner = inner
        self.calls = 0
        self.answered = 0
        self.release = threading.Event()
        self.changed = threading.Condition()

    def verify(self, stored: str | None, password: str) -> tuple[bool, str | None]:
        with self.changed:
            self.calls += 1
            self.changed.notify_all()
        assert self.release.wait(WAIT), "the test never released the verifier"
        return self.inner.verify(stored, password)

    def hash(self, password: str) -> str:
        return self.inner.hash(password)

    def settled(self) -> bool:
        """Every request is either inside the verifier or answered."""
        return self.calls + self.answered >= ATTEMPTS


def _burst(console: Console, name: str, password: str) -> tuple[HeldVerifier, list[int]]:
    verifier = HeldVerifier(console.accounts.passwords)
    console.accounts.passwords = verifier  # type: ignore[assignment]
    forms: list[tuple[Any, dict[str, str]]] = []
    for _ in range(ATTEMPTS):
        client = console.client()
        page = client.get("/console/sign-in")
        assert page.status_code == 200, page.text
        token = form_token(page.text)
        forms.append((client, {"name": name, "password": password, "csrf_token": token}))
    statuses: list[int] = []

    def attempt(client: Any, data: dict[str, str]) -> None:
        response = client.post("/console/sign-in", data=data)
        with verifier.changed:
            statuses.append(response.status_code)
            verifier.answered += 1
            verifier.changed.notify_all()

    threads = [threading.Thread(target=attempt, args=form) for form in forms]
    for thread in threads:
        thread.start()
    with verifier.changed:
        together = verifier.changed.wait_for(verifier.settled, timeout=WAIT)
    verifier.release.set()
    for thread in threads:
        thread.join(WAIT)
    assert together, "the sign-ins were not in flight at the same time"
    assert len(statuses) == ATTEMPTS
    return verifier, sorted(statuses)


def test_parallel_wrong_passwords_verify_at_most_the_limit(make_console: MakeConsole) -> None:
    console = make_console(console_lockout_failures=LIMIT)
    name = console.user("ann")
    verifier, statuses = _burst(console, name, "not the password at all")
    assert verifier.calls == LIMIT
    # Four plain failures; the fifth locks the name; the rest were refused unverified.
    assert statuses == [401] * (LIMIT - 1) + [429] * (ATTEMPTS - LIMIT + 1)
    # The name is locked now: even the right password is refused without a verification.
    client = console.client()
    assert console.sign_in(client, name, PASSWORD).status_code == 429
    assert verifier.calls == LIMIT


def test_parallel_attempts_on_an_unknown_name_share_the_count(make_console: MakeConsole) -> None:
    console = make_console(console_lockout_failures=LIMIT)
    verifier, statuses = _burst(console, "nobody-here", "a guessed password")
    assert verifier.calls == LIMIT
    assert statuses.count(429) == ATTEMPTS - LIMIT + 1


def test_the_right_password_in_a_burst_signs_in(make_console: MakeConsole) -> None:
    console = make_console(console_lockout_failures=LIMIT)
    name = console.user("bea")
    verifier, statuses = _burst(console, name, PASSWORD)
    assert verifier.calls == LIMIT
    # The verified ones sign in; the ones over the limit were refused before verifying.
    assert statuses == [303] * LIMIT + [429] * (ATTEMPTS - LIMIT)
    # A success clears the count: the next sign-in is verified and succeeds.
    client = console.client()
    assert console.sign_in(client, name, PASSWORD).status_code == 303
    assert verifier.calls == LIMIT + 1
