"""The audit chain: appends, verification, tamper detection, append-only triggers, the CLI."""

from __future__ import annotations

import hashlib
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from safespace.cli import main
from safespace.errors import InvalidInput
from safespace.reports import _audit as audit
from safespace.store import Database, open_database
from waiting import WAIT_SECONDS


def _fill(db: Database, n: int = 5) -> None:
    for i in range(n):
        with db.transaction() as s:
            audit.append(s, f"user{i}", "case.decision", f"case:{i}", {"n": i, "note": "ünï"})


def _verify(db: Database, **kw: object) -> audit.VerifyResult:
    with db.session() as s:
        return audit.verify(s, **kw)  # type: ignore[arg-type]


def _tamper(db: Database, *statements: str) -> None:
    """Drop the append-only triggers (as an attacker with DDL rights would), then edit."""
    drops = (
        ["DROP TRIGGER audit_log_append_only ON audit_log"]
        if db.dialect == "postgresql"
        else ["DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete"]
    )
    with db.engine.begin() as conn:
        for sql in [*drops, *statements]:
            conn.execute(text(sql))


def test_append_chains_records_and_verify_passes(database: Database) -> None:
    _fill(database, 5)
    result = _verify(database)
    assert result.ok
    assert result.count == 5
    assert result.first_bad_seq is None
    with database.session() as s:
        rows = s.execute(text("SELECT seq, prev_hash, hash FROM audit_log ORDER BY seq")).all()
        assert audit.head(s) == (5, rows[-1].hash)
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0].prev_hash == audit.GENESIS_HASH
    assert all(rows[i].prev_hash == rows[i - 1].hash for i in range(1, 5))
    assert result.head_seq == 5
    assert result.head_hash == rows[-1].hash


def test_hash_follows_the_documented_encoding() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    details = audit.canonical_details({"b": 1, "a": "é"})
    assert details == '{"a":"é","b":1}'

    def ns(t: str) -> bytes:
        b = t.encode()
        return f"{len(b)}:".encode() + b + b","

    fields = ["7", "2026-01-02T03:04:05.000006Z", "ann", "evidence.open", "evidence:x"]
    fields += [details, "0" * 64]
    expected = hashlib.sha256(b"safespace-audit-v1\n" + b"".join(ns(f) for f in fields))
    got = audit.record_hash(7, at, "ann", "evidence.open", "evidence:x", details, "0" * 64)
    assert got == expected.hexdigest()


def test_bad_inputs_are_refused(database: Database) -> None:
    with database.transaction() as s:
        with pytest.raises(InvalidInput, match="plain JSON"):
            audit.append(s, "a", "x.y", "s", {"when": datetime.now(UTC)})
        with pytest.raises(InvalidInput, match="bad audit action"):
            audit.append(s, "a", "Not An Action", "s")
        with pytest.raises(InvalidInput, match="actor"):
            audit.append(s, "", "x.y", "s")
    with database.session() as s, pytest.raises(RuntimeError, match=r"Database\.transaction"):
        audit.append(s, "a", "x.y", "s")


def test_the_database_refuses_update_and_delete(database: Database) -> None:
    _fill(database, 2)
    for sql in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
            conn.execute(text(sql))
    assert _verify(database).ok


@pytest.mark.parametrize(
    ("statements", "bad_seq", "reason"),
    [
        (["UPDATE audit_log SET details = '{}' WHERE seq = 3"], 3, "edited"),
        (["UPDATE audit_log SET actor = 'mallory' WHERE seq = 4"], 4, "edited"),
        (["DELETE FROM audit_log WHERE seq = 3"], 3, "missing"),
        (["DELETE FROM audit_log WHERE seq = 1"], 1, "missing"),
        ([f"UPDATE audit_log SET hash = '{'a' * 64}' WHERE seq = 4"], 4, "tampered hash"),
        (
            [  # swap records 2 and 3
                "UPDATE audit_log SET seq = 100 WHERE seq = 3",
                "UPDATE audit_log SET seq = 3 WHERE seq = 2",
                "UPDATE audit_log SET seq = 2 WHERE seq = 100",
            ],
            2,
            "reordered",
        ),
    ],
)
def test_verify_pinpoints_tampering(
    database: Database, statements: list[str], bad_seq: int, reason: str
) -> None:
    _fill(database, 5)
    _tamper(database, *statements)
    result = _verify(database)
    assert not result.ok
    assert result.first_bad_seq == bad_seq
    assert result.reason is not None
    assert reason in result.reason
    assert result.count == bad_seq - 1


def test_an_anchor_catches_truncation_and_rewriting(database: Database) -> None:
    _fill(database, 5)
    with database.session() as s:
        anchor = audit.head(s)
    assert anchor is not None
    assert _verify(database, anchor=anchor).ok
    _tamper(database, "DELETE FROM audit_log WHERE seq = 5")
    cut = _verify(database)
    assert cut.ok
    assert cut.count == 4
    result = _verify(database, anchor=anchor)
    assert not result.ok
    assert result.first_bad_seq == 5
    assert "truncated" in (result.reason or "")


def test_concurrent_writers_never_fork_the_chain(db_url: str) -> None:
    db = open_database(db_url)
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(10):
                with db.transaction() as s:
                    audit.append(s, f"w{k}", "auth.sign_in", f"user:{k}", {"i": i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT_SECONDS)
        assert not t.is_alive()
    assert errors == []
    result = _verify(db)
    assert result.ok
    assert result.count == 40
    db.close()


def _cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr(sys, "argv", ["safespace", *args])
    with pytest.raises(SystemExit) as info:
        main()
    return int(info.value.code or 0)


def test_cli_audit_verify(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SAFESPACE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SAFESPACE_DATABASE_URL", raising=False)
    db = open_database(f"sqlite:///{tmp_path / 'safespace.db'}")
    _fill(db, 3)
    assert _cli(monkeypatch, "audit", "verify", "--json") == 0
    out = capsys.readouterr().out
    assert '"ok": true' in out
    assert '"count": 3' in out
    _tamper(db, "UPDATE audit_log SET subject = 'case:x' WHERE seq = 2")
    db.close()
    assert _cli(monkeypatch, "audit", "verify", "--json") == 9
    captured = capsys.readouterr()
    assert '"first_bad_seq": 2' in captured.out
    assert "error: audit chain broken at seq 2" in captured.err
    assert _cli(monkeypatch, "audit", "verify", "--anchor", "x") == 2
