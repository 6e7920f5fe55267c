"""Shared fixtures: database backends, started apps, the one browser.

``db_url`` runs a test on SQLite (a fresh file) and on PostgreSQL (a fresh database made for
the test and dropped after). PostgreSQL needs ``SAFESPACE_TEST_PG_URL`` (a role allowed to
create databases); without it those tests skip, except under ``CI=true``, where they fail.
``start_app`` starts apps in-process on that database (``app_factory.py``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from app_factory import AppStarter
from safespace.store import Database, open_database

PG_ENV = "SAFESPACE_TEST_PG_URL"


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine | None]:
    """An autocommit engine on the PostgreSQL server, or None when none is configured."""
    url = os.environ.get(PG_ENV)
    if not url:
        yield None
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _need_postgres() -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{PG_ENV} is not set but CI=true: PostgreSQL tests must run in CI")
    pytest.skip(f"PostgreSQL tests need {PG_ENV}")


@pytest.fixture
def pg_url(pg_admin: Engine | None) -> Iterator[str]:
    """URL of a new, empty PostgreSQL database, dropped after the test."""
    if pg_admin is None:
        _need_postgres()
        raise AssertionError("unreachable")
    name = f"safespace_test_{uuid.uuid4().hex[:16]}"
    with pg_admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with pg_admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for each backend: a SQLite file that does not exist yet, or PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'safespace.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    """An opened, migrated database on each backend."""
    db = open_database(db_url)
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def start_app(db_url: str, tmp_path: Path) -> Iterator[AppStarter]:
    """Start apps on this test's database, data in ``tmp_path / "data"``; all stopped after.

    The folders' fixtures (``make_api``, ``make_console``, ...) wrap this with their defaults.
    """
    starter = AppStarter(tmp_path / "data", db_url)
    try:
        yield starter
    finally:
        starter.close()


# --- one browser for every browser test ----------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package; never a downloaded browser build
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _need_chromium(why: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{why} but CI=true: browser tests must run in CI (.ci/run installs it)")
    pytest.skip(f"browser tests skipped: {why}")


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright, shared by the whole session.

    Playwright's sync API allows one instance per thread at a time, so the browser test
    folders all take their browser from here instead of starting their own.
    """
    if not CHROMIUM.exists():
        _need_chromium(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need_chromium("the playwright package is not installed")
        raise AssertionError("unreachable") from None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
