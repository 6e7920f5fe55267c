"""The console's security rules through the app (no browser), on SQLite and PostgreSQL:
sign-in required, cookies, generic failures, lockout, CSRF, session timeouts, roles."""

from __future__ import annotations

import hashlib

import pytest
from console_helpers import PASSWORD, Console, MakeConsole, fast_passwords, form_token
from sqlalchemy import select

from safespace.store import ConsoleSession, User

WRONG = "Wrong name or password."
LOCKED = "Too many failed sign-ins for this name."


@pytest.mark.parametrize(
    "path", ["/console", "/console/banks/demo?page=2", "/console/imports/1", "/console/users"]
)
def test_every_page_needs_sign_in(console: Console, path: str) -> None:
    response = console.client().get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/sign-in?next=/console")


def test_sign_in_sets_a_strict_http_only_session_cookie(console: Console) -> None:
    console.user("alice")
    client = console.client()
    response = console.sign_in(client, "Alice")  # names are case-insensitive
    assert response.status_code == 303
    assert response.headers["location"] == "/console"
    cookies = response.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("safespace_console="))
    attributes = {a.strip().lower() for a in session.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= attributes
    assert "secure" not in attributes
    assert not any(a.startswith(("max-age", "expires")) for a in attributes)  # browser session
    page = client.get("/console")
    assert page.status_code == 200
    assert "Signed in as <strong>alice</strong>" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    # Only the SHA-256 of the cookie's id is stored.
    cookie = client.cookies["safespace_console"]
    with console.accounts.db.session() as s:
        stored = s.scalars(select(ConsoleSession.id_hash)).all()
    assert stored == [hashlib.sha256(cookie.encode()).hexdigest()]


def test_secure_cookie_over_https(make_console: MakeConsole) -> None:
    console = make_console(console_secure_cookie=True)
    console.user("alice")
    client = console.client(base_url="https://testserver")
    response = console.sign_in(client, "alice")
    assert response.status_code == 303
    session = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("__Host-safespace")
    )
    assert "secure" in session.lower()
    assert client.get("/console").status_code == 200


def test_wrong_password_and_unknown_name_get_the_same_answer(console: Console) -> None:
    console.user("alice")
    client = console.client()
    wrong = console.sign_in(client, "alice", "not the password at all")
    unknown = console.sign_in(client, "nobody", "not the password at all")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert WRONG in response.text
    assert wrong.text.replace('value="alice"', "") == unknown.text.replace('value="nobody"', "")
    assert client.get("/console").status_code == 303


def test_disabled_account_fails_like_a_wrong_password(console: Console) -> None:
    console.user("alice")
    console.accounts.users.disable("alice")
    response = console.sign_in(console.client(), "alice")
    assert response.status_code == 401
    assert WRONG in response.text


@pytest.mark.parametrize("name", ["alice", "nobody"])
def test_lockout_after_five_failures_whether_or_not_the_name_exists(
    console: Console, name: str
) -> None:
    console.user("alice")
    client = console.client()
    for _ in range(4):
        assert console.sign_in(client, name, "wrong password 123").status_code == 401
    fifth = console.sign_in(client, name, "wrong password 123")
    assert fifth.status_code == 429
    assert LOCKED in fifth.text
    assert fifth.headers["retry-after"] == "900"
    # The right password does not help while locked, and the answer names no account.
    locked = console.sign_in(client, name, PASSWORD)
    assert locked.status_code == 429
    assert LOCKED in locked.text
    other = console.sign_in(client, "alice" if name == "nobody" else "nobody", "wrong one 12345")
    assert other.status_code == 401  # the lock is per name
    console.clock.advance(minutes=14, seconds=59)
    assert console.sign_in(client, name, PASSWORD).status_code == 429
    console.clock.advance(seconds=2)
    expected = 303 if name == "alice" else 401
    assert console.sign_in(client, name, PASSWORD).status_code == expected


def test_failures_outside_the_window_do_not_lock(console: Console) -> None:
    console.user("alice")
    client = console.client()
    for _ in range(4):
        assert console.sign_in(client, "alice", "wrong password 123").status_code == 401
    console.clock.advance(minutes=15, seconds=1)
    for _ in range(4):
        assert console.sign_in(client, "alice", "wrong password 123").status_code == 401
    assert console.sign_in(client, "alice").status_code == 303


def test_success_clears_the_failure_count(console: Console) -> None:
    console.user("alice")
    client = console.client()
    for _ in range(4):
        console.sign_in(client, "alice", "wrong password 123")
    assert console.sign_in(client, "alice").status_code == 303
    other = console.client()
    for _ in range(4):
        assert console.sign_in(other, "alice", "wrong password 123").status_code == 401


def test_reset_password_lifts_the_lock_and_ends_sessions(console: Console) -> None:
    client = console.signed_in("alice")
    attacker = console.client()
    for _ in range(5):
        console.sign_in(attacker, "alice", "wrong password 123")
    _, new = console.accounts.users.reset_password("alice")
    assert new is not None
    assert client.get("/console").status_code == 303  # its session ended
    assert console.sign_in(console.client(), "alice", new).status_code == 303


def test_sign_in_form_refuses_a_missing_or_wrong_csrf_token(console: Console) -> None:
    console.user("alice")
    client = console.client()
    page = client.get("/console/sign-in")
    token = form_token(page.text)
    data = {"name": "alice", "password": PASSWORD}
    for extra in ({}, {"csrf_token": ""}, {"csrf_token": token[:-2] + "xx"}):
        response = client.post("/console/sign-in", data={**data, **extra})
        assert response.status_code == 403
        assert "Form refused" in response.text
    stranger = console.client()  # the right token, without the cookie it belongs to
    assert stranger.post("/console/sign-in", data={**data, "csrf_token": token}).status_code == 403
    assert client.get("/console").status_code == 303
    ok = client.post("/console/sign-in", data={**data, "csrf_token": token})
    assert ok.status_code == 303


def test_sign_out_needs_the_session_csrf_token(console: Console) -> None:
    client = console.signed_in("alice")
    token = console.csrf(client)
    for extra in ({}, {"csrf_token": "x" * 43}):
        assert client.post("/console/sign-out", data=extra).status_code == 403
    cross_site = {"Origin": "http://evil.example"}
    response = client.post("/console/sign-out", data={"csrf_token": token}, headers=cross_site)
    assert response.status_code == 403
    assert client.get("/console").status_code == 200  # still signed in
    old_cookie = client.cookies["safespace_console"]
    response = client.post("/console/sign-out", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/console/sign-in?signed_out=1"
    assert client.get("/console").status_code == 303
    replay = console.client()
    replay.cookies.set("safespace_console", old_cookie)
    assert replay.get("/console").status_code == 303


def test_each_session_has_its_own_csrf_token(console: Console) -> None:
    one = console.signed_in("alice")
    console.user("bob")
    two = console.client()
    console.sign_in(two, "bob")
    assert console.csrf(one) != console.csrf(two)
    assert two.post("/console/sign-out", data={"csrf_token": console.csrf(one)}).status_code == 403


def test_idle_timeout(console: Console) -> None:
    client = console.signed_in("alice")
    for _ in range(3):  # active: each visit within 30 minutes keeps it alive
        console.clock.advance(minutes=29)
        assert client.get("/console").status_code == 200
    console.clock.advance(minutes=30, seconds=1)
    response = client.get("/console")
    assert response.status_code == 303
    assert response.headers["location"].endswith("&expired=1")
    page = client.get(response.headers["location"])
    assert "Your session has ended" in page.text


def test_absolute_timeout(console: Console) -> None:
    client = console.signed_in("alice")
    for _ in range(12 * 60 // 25):
        console.clock.advance(minutes=25)
        assert client.get("/console").status_code == 200
    console.clock.advance(minutes=25)  # past 12 hours since sign-in, though active
    assert client.get("/console").status_code == 303


def test_disabling_an_account_ends_its_sessions(console: Console) -> None:
    client = console.signed_in("alice")
    console.accounts.users.disable("alice")
    assert client.get("/console").status_code == 303


def test_roles(console: Console) -> None:
    console.app.state.safespace.banks.create_bank("demo")
    reviewer = console.signed_in("rita", "reviewer")
    lead = console.signed_in("leo", "lead")
    admin = console.signed_in("ada", "admin")
    assert reviewer.get("/console").status_code == 200
    assert reviewer.get("/console/users").status_code == 403
    assert lead.get("/console/users").status_code == 403
    users = admin.get("/console/users")
    assert users.status_code == 200
    assert all(name in users.text for name in ("rita", "leo", "ada"))
    assert "Users" not in reviewer.get("/console").text.split("<main")[0]

    page = reviewer.get("/console/banks/demo")
    assert "Disable this bank" not in page.text
    toggle = {"enabled": "false", "confirm": "yes", "csrf_token": console.csrf(reviewer)}
    assert reviewer.post("/console/banks/demo/enabled", data=toggle).status_code == 403
    assert console.app.state.safespace.banks.get_bank("demo").enabled
    assert "Disable this bank" in lead.get("/console/banks/demo").text
    toggle["csrf_token"] = console.csrf(lead)
    assert lead.post("/console/banks/demo/enabled", data=toggle).status_code == 303
    assert not console.app.state.safespace.banks.get_bank("demo").enabled


def test_redirects_stay_on_the_console(console: Console) -> None:
    console.user("alice")
    for target, expected in [
        ("/console/banks/demo", "/console/banks/demo"),
        ("https://evil.example/", "/console"),
        ("//evil.example/console", "/console"),
        ("/console/..\\evil", "/console"),
    ]:
        response = console.sign_in(console.client(), "alice", next_url=target)
        assert response.headers["location"] == expected


def test_password_hash_is_argon2id_and_upgraded_at_sign_in(console: Console) -> None:
    from argon2 import PasswordHasher

    from safespace.accounts import Passwords

    assert Passwords().hash("a long enough password").startswith("$argon2id$")
    console.user("alice")
    with console.accounts.db.session() as s:
        before = s.scalar(select(User.password_hash).where(User.name == "alice"))
    assert before is not None
    assert "t=1," in before
    console.accounts.passwords = Passwords(
        PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1)
    )
    assert console.sign_in(console.client(), "alice").status_code == 303
    with console.accounts.db.session() as s:
        after = s.scalar(select(User.password_hash).where(User.name == "alice"))
    assert after is not None
    assert "t=2," in after
    console.accounts.passwords = fast_passwords()
    assert console.sign_in(console.client(), "alice").status_code == 303


def test_sign_ins_are_audited(console: Console) -> None:
    audit = pytest.importorskip("safespace.reports._audit")
    client = console.signed_in("alice")
    console.sign_in(console.client(), "alice", "wrong password 123")
    console.sign_in(console.client(), "nobody", "wrong password 123")
    client.post("/console/sign-out", data={"csrf_token": console.csrf(client)})
    from safespace.store._models_reports import AuditRecord

    with console.accounts.db.session() as s:
        rows = [(r.action, r.subject) for r in s.scalars(select(AuditRecord))]
        assert audit.verify(s).ok
    assert rows == [
        ("console.sign-in", "user:alice"),
        ("console.sign-in-failed", "user:alice"),
        ("console.sign-out", "user:alice"),
    ]


def test_disabling_a_bank_needs_its_confirmation(console: Console) -> None:
    """One stray click must not stop matching: without the tick the bank stays enabled and
    the lead is told what to do; enabling again needs no tick."""
    banks = console.app.state.safespace.banks
    banks.create_bank("demo")
    lead = console.signed_in("leo", "lead")
    page = lead.get("/console/banks/demo").text
    assert 'id="confirm-disable" name="confirm" value="yes" required' in page
    form = {"enabled": "false", "csrf_token": console.csrf(lead)}
    refused = lead.post("/console/banks/demo/enabled", data=form)
    assert refused.status_code == 400
    assert "Yes, stop matching against this bank" in refused.text
    assert banks.get_bank("demo").enabled
    form["confirm"] = "yes"
    assert lead.post("/console/banks/demo/enabled", data=form).status_code == 303
    assert not banks.get_bank("demo").enabled
    assert 'id="confirm-disable"' not in lead.get("/console/banks/demo").text
    again = {"enabled": "true", "csrf_token": console.csrf(lead)}
    assert lead.post("/console/banks/demo/enabled", data=again).status_code == 303
    assert banks.get_bank("demo").enabled
