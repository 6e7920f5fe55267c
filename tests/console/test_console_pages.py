"""What the console pages show: banks, match events, entries with paging, import jobs and
their rejects; hashes and metadata only. Plus the ``safespace users`` commands."""

from __future__ import annotations

import io
import sys
import time
from typing import Any

import pytest
from console_helpers import Console

from safespace.access import record_matches
from safespace.banks._match_results import Match
from safespace.banks.formats import HashRecord
from waiting import WAIT_SECONDS

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def _md5(i: int) -> str:
    return f"{i:032x}"


def test_overview_shows_banks_events_and_jobs(console: Console) -> None:
    state = console.app.state.safespace
    state.banks.create_bank("hotline-a", description="test list")
    state.banks.add_entries("hotline-a", [HashRecord("pdq", PDQ, source="Hotline <A>")])
    entry = state.banks.list_entries("hotline-a")[0]
    match = Match("hotline-a", "normal", entry.id, "pdq", PDQ, 3)
    record_matches(state.db, "post/<8812>", [match], None)
    client = console.signed_in("alice")
    page = client.get("/console").text
    assert 'href="/console/banks/hotline-a">hotline-a</a>' in page
    assert "post/&lt;8812&gt;" in page  # escaped, never raw
    assert "<img" not in page
    assert "<video" not in page


def test_bank_page_pages_through_entries(console: Console) -> None:
    banks = console.app.state.safespace.banks
    banks.create_bank("big")
    banks.add_entries("big", [HashRecord("md5", _md5(i), note=f"n{i}") for i in range(120)])
    client = console.signed_in("alice")
    first = client.get("/console/banks/big").text
    assert _md5(0) in first
    assert _md5(49) in first
    assert _md5(50) not in first
    assert "Page 1 of 3" in first
    assert 'rel="next" href="/console/banks/big?page=2"' in first
    third = client.get("/console/banks/big?page=3").text
    assert _md5(119) in third
    assert _md5(99) not in third
    assert 'rel="prev"' in third
    assert 'rel="next"' not in third
    assert client.get("/console/banks/big?page=0").status_code == 400
    missing = client.get("/console/banks/nothing")
    assert missing.status_code == 404
    assert "no bank named" in missing.text
    assert missing.headers["content-type"].startswith("text/html")


def test_import_page_shows_status_counts_and_rejects(console: Console) -> None:
    console.app.state.safespace.banks.create_bank("imp")
    jobs = console.app.state.import_jobs.jobs
    data = f"signal_type,value\nmd5,{_md5(1)}\nmd5,nothex\npdq,{PDQ}\n".encode()
    job = jobs.submit("imp", data, fmt="csv", filename="list.csv", skip_invalid=True)
    console.app.state.import_jobs.runner.poke()
    deadline = time.monotonic() + WAIT_SECONDS
    while jobs.get(job.id).status not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, "import job did not finish"
        time.sleep(0.05)
    client = console.signed_in("alice")
    page = client.get(f"/console/imports/{job.id}").text
    assert "badge-succeeded" in page
    assert "nothex" in page  # the rejected line, with its number
    overview = client.get("/console").text
    assert f'href="/console/imports/{job.id}"' in overview
    assert client.get("/console/imports/999").status_code == 404


@pytest.fixture
def users_cli(console: Console, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Any:
    from safespace.cli import main

    settings = console.app.state.safespace.settings
    monkeypatch.setenv("SAFESPACE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SAFESPACE_DATABASE_URL", settings.resolved_database_url())

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["safespace", *args])
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_users_commands(console: Console, users_cli: Any) -> None:
    code, out, _ = users_cli("users", "create", "Ada", "--role", "admin")
    assert code == 0
    lines = out.strip().splitlines()
    assert '"name": "ada"' in lines[0]
    assert '"role": "admin"' in lines[0]
    password = lines[-1]
    assert len(password) == 24
    client = console.client()
    assert console.sign_in(client, "ada", password).status_code == 303

    code, out, _ = users_cli(
        "users",
        "create",
        "rev",
        "--role",
        "reviewer",
        "--password-stdin",
        stdin="a long passphrase\n",
    )
    assert code == 0
    assert len(out.strip().splitlines()) == 1
    assert console.sign_in(console.client(), "rev", "a long passphrase").status_code == 303

    assert users_cli("users", "create", "ada", "--role", "admin")[0] == 4  # exists
    assert users_cli("users", "create", "x", "--role", "owner")[0] == 2  # no such role
    short = users_cli("users", "create", "y", "--role", "lead", "--password-stdin", stdin="short\n")
    assert short[0] == 2
    assert "at least 12" in short[2]

    code, out, _ = users_cli("users", "list")
    assert [line.split('"name": "')[1].split('"')[0] for line in out.splitlines()] == ["ada", "rev"]
    assert "argon2" not in out

    code, out, _ = users_cli("users", "reset-password", "ada")
    new = out.strip().splitlines()[-1]
    assert code == 0
    assert new != password
    assert client.get("/console").status_code == 303  # sessions ended
    assert console.sign_in(console.client(), "ada", new).status_code == 303

    code, out, _ = users_cli("users", "disable", "ada")
    assert code == 0
    assert '"active": false' in out
    assert console.sign_in(console.client(), "ada", new).status_code == 401
    assert users_cli("users", "disable", "nobody")[0] == 3
