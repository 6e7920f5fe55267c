"""``/v1/cases/{case_id}/evidence``, the review thread's purge, the ``evidence`` CLI and the
demo's evidence key."""

from __future__ import annotations

import base64
import io
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from api_helpers import Api, CliResult, MakeApi, problem
from sqlalchemy import select

from safespace.config import Settings
from safespace.reports import EvidenceStore, WebhookService, load_master_key
from safespace.reports import _sealing as sealing
from safespace.reports._queue import ReviewPolicy, ReviewQueue, UserReport
from safespace.store import open_database
from safespace.store._models_reports import AuditRecord

# Benign stand-in for a confirmed file: generated noise, never real material.
DATA = os.urandom(3000)
KEY = base64.b64encode(bytes(range(32))).decode()
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def _case(api: Api, content_id: str = "post-1", *, confirm: bool = True) -> str:
    queue: ReviewQueue = api.client.app.state.review.queue  # type: ignore[attr-defined]
    item, _ = queue.report(UserReport(content_id, "reported by a user"))
    if confirm:
        queue.claim(item.id, "ann", "reviewer")
        queue.decide(item.id, "ann", "reviewer", "confirm", "clearly", "A1")
    return f"review-{item.id}"


def _url(case: str) -> str:
    return f"/v1/cases/{case}/evidence"


def _actions(api: Api) -> list[str]:
    with api.state.db.session() as s:
        return list(s.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)))


def test_upload_answers_metadata_only_and_lists(make_api: MakeApi) -> None:
    api = make_api(evidence_key=KEY)
    case = _case(api)
    sent = api.upload(_url(case), DATA, "curate", media_type="image/png")
    assert sent.status_code == 201, sent.text
    info = sent.json()
    assert set(info) == {
        "id", "case_id", "sha256", "size", "media_type", "created_at", "retain_until",
        "legal_hold", "purged_at",
    }  # fmt: skip
    assert info["case_id"] == case
    assert info["size"] == len(DATA)
    assert info["media_type"] == "image/png"
    assert info["legal_hold"] is False
    assert info["purged_at"] is None
    assert info["retain_until"] > info["created_at"]
    assert "evidence.store" in _actions(api)
    # the same file again (a retried webhook action): the item already kept, not a copy
    again = api.upload(_url(case), DATA, "curate")
    assert again.status_code == 200
    assert again.json()["id"] == info["id"]
    listed = api.get(_url(case), "curate")
    assert listed.status_code == 200
    assert listed.json() == {"case_id": case, "items": [info]}
    assert DATA[:32].hex() not in listed.text
    # ciphertext on disk, not the file
    stored = api.state.settings.data_dir / "evidence" / info["id"][:2] / f"{info['id']}.bin"
    assert DATA not in stored.read_bytes()


def test_bad_requests_are_problems(make_api: MakeApi) -> None:
    api = make_api(evidence_key=KEY, max_media_bytes=4096)
    case = _case(api)
    open_case = _case(api, "post-2", confirm=False)
    problem(api.upload(_url("review-999999"), DATA, "curate"), 404, "not-found")
    problem(api.upload(_url("ticket-7"), DATA, "curate"), 404, "not-found")
    problem(api.get(_url("review-999999"), "curate"), 404, "not-found")
    problem(api.upload(_url(open_case), DATA, "curate"), 409, "conflict")
    problem(api.upload(_url(case), os.urandom(5000), "curate"), 413, "media-too-large")
    problem(api.upload(_url(case), b"", "curate"), 400, "invalid-input")
    problem(api.upload(_url(case), DATA, "curate", media_type="not a type"), 400, "invalid-input")
    problem(api.upload(_url(case), DATA, "curate", other="x"), 422, "invalid-request")
    no_file = api.post(_url(case), "curate", files={"media_type": (None, "image/png")})
    problem(no_file, 422, "invalid-request")
    problem(api.post(_url(case), "curate", json={"file": "x"}), 415, "unsupported-media")
    problem(api.upload(_url(case), DATA, "match"), 403, "forbidden")
    problem(api.get(_url(case), "match"), 403, "forbidden")
    problem(api.client.post(_url(case), files={"file": ("a", DATA)}), 401, "unauthenticated")
    assert api.get(_url(case), "curate").json()["items"] == []


def test_without_a_key_uploads_are_refused_but_listing_works(make_api: MakeApi) -> None:
    api = make_api()
    case = _case(api)
    body = problem(api.upload(_url(case), DATA, "curate"), 503, "not-configured")
    assert "SAFESPACE_EVIDENCE_KEY" in body["detail"]
    assert api.get(_url(case), "curate").json()["items"] == []


def test_a_bad_key_stops_the_app(make_api: MakeApi) -> None:
    from safespace.errors import ConfigError

    with pytest.raises(ConfigError, match="placeholder"):
        make_api(evidence_key="change-me-" + "x" * 30)


def test_the_review_thread_purges_expired_evidence_hourly(make_api: MakeApi) -> None:
    api = make_api(evidence_key=KEY)
    runtime = api.client.app.state.review  # type: ignore[attr-defined]
    store: EvidenceStore = runtime.evidence
    old = store.store(_case(api), DATA, "image/png", "test", now=LONG_AGO)
    assert runtime.purge_seconds == 3600
    runtime.purge_due()  # the thread purged at start-up: the next run is an hour away
    assert store.get(old.id).purged_at is None
    runtime._next_purge = 0.0  # an hour later
    runtime.run_once()
    assert store.get(old.id).purged_at is not None
    assert not (store.directory / old.id[:2] / f"{old.id}.bin").exists()
    assert runtime.purge_due(force=True) == []


# --- the CLI --------------------------------------------------------------------------------


@pytest.fixture
def evidence_cli(
    cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., CliResult]:
    monkeypatch.setenv("SAFESPACE_EVIDENCE_KEY", KEY)
    return cli


def _store(db_url: str, tmp_path: Path, key: str = KEY) -> EvidenceStore:
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url, evidence_key=key)
    return EvidenceStore.from_settings(open_database(db_url), settings)


def test_cli_lists_holds_releases_and_purges(
    evidence_cli: Callable[..., CliResult], db_url: str, tmp_path: Path
) -> None:
    assert evidence_cli("evidence", "list").rows == []  # migrates the database
    store = _store(db_url, tmp_path)
    old = store.store("review-1", DATA, "image/png", "test", now=LONG_AGO)
    new = store.store("review-2", DATA, "image/png", "test")
    rows = evidence_cli("evidence", "list").rows
    assert [r["id"] for r in rows] == [old.id, new.id]
    assert [r["id"] for r in evidence_cli("evidence", "list", "--case", "review-2").rows] == [
        new.id
    ]
    held = evidence_cli("evidence", "hold", old.id, "--reason", "court order 12")
    assert held.exit_code == 0
    assert held.rows[0]["legal_hold"] is True
    assert evidence_cli("evidence", "purge").rows == [{"purged": 0, "ids": []}]
    assert evidence_cli("evidence", "release", old.id, "--reason", "order lifted").exit_code == 0
    assert evidence_cli("evidence", "purge").rows == [{"purged": 1, "ids": [old.id]}]
    assert not (store.directory / old.id[:2] / f"{old.id}.bin").exists()
    with store.db.session() as s:
        actors = s.scalars(
            select(AuditRecord.actor).where(AuditRecord.action.like("evidence.%"))
        ).all()
    assert actors.count("cli") == 3
    store.db.close()


def test_cli_rewraps_to_the_new_key(
    evidence_cli: Callable[..., CliResult],
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old_key = base64.b64encode(os.urandom(32)).decode()
    evidence_cli("evidence", "list")
    store = _store(db_url, tmp_path, old_key)
    item = store.store("review-1", DATA, "image/png", "test")
    old_bytes = load_master_key(old_key)
    queue = ReviewQueue(store.db, ReviewPolicy(store_media=True))
    queue.sealer = sealing.MediaSealer(old_bytes)
    reported, _ = queue.report(UserReport("p", "r", media=DATA, media_type="image/png"))
    WebhookService(store.db, master_key=old_bytes).add_endpoint("hook", "https://example.org/h")
    store.db.close()
    monkeypatch.setattr(sys, "stdin", io.StringIO(old_key + "\n"))
    done = evidence_cli("evidence", "rewrap", "--old-key-stdin")
    assert done.exit_code == 0, done.stderr
    assert done.rows[0]["evidence"] == 1
    assert done.rows[0]["review_media"] == 1
    assert done.rows[0]["webhook_secrets"] == 1
    current = _store(db_url, tmp_path)
    assert current.open_item(item.id, "lee", "lead") == DATA
    queue.sealer = sealing.MediaSealer(load_master_key(KEY))
    queue.db = current.db
    assert queue.media(reported.id) == ("image/png", DATA)
    current.db.close()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("evidence", "hold", "0" * 32, "--reason", "x"), 3, "no evidence item"),
        (("evidence", "hold", "not-an-id", "--reason", "x"), 3, "no evidence item"),
        (("evidence", "rewrap"), 2, "--old-key-stdin"),
    ],
)
def test_cli_bad_input_is_one_line(
    evidence_cli: Callable[..., CliResult], args: tuple[str, ...], code: int, message: str
) -> None:
    result = evidence_cli(*args)
    assert result.exit_code == code
    assert result.stderr.startswith("error: ")
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_cli_hold_needs_a_reason_and_purge_needs_the_key(
    cli: Callable[..., CliResult], db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFESPACE_EVIDENCE_KEY", KEY)
    cli("evidence", "list")
    item = _store(db_url, tmp_path).store("review-1", DATA, "image/png", "test")
    blank = cli("evidence", "hold", item.id, "--reason", "  ")
    assert (blank.exit_code, "needs a reason" in blank.stderr) == (2, True)
    monkeypatch.delenv("SAFESPACE_EVIDENCE_KEY")
    missing = cli("evidence", "purge")
    assert missing.exit_code == 2
    assert "SAFESPACE_EVIDENCE_KEY is not set" in missing.stderr


# --- the demo -------------------------------------------------------------------------------


def test_the_demo_makes_a_demo_only_key_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from safespace.cli._demo import demo_settings

    monkeypatch.delenv("SAFESPACE_EVIDENCE_KEY", raising=False)
    monkeypatch.delenv("SAFESPACE_REPORTER_EMAIL", raising=False)
    environ = dict(os.environ)
    settings = Settings(data_dir=tmp_path)
    served, note = demo_settings(settings)
    assert "demo only" in note
    assert served.evidence_key is not None
    key = served.evidence_key.get_secret_value()
    assert len(load_master_key(key)) == 32
    assert served.reporter_email.endswith("@demo.invalid")
    # the workers are given these settings: this process's variables stay as they were
    assert dict(os.environ) == environ
    assert settings.evidence_key is None
    assert not settings.reporter_email
    path = tmp_path / "demo" / "evidence-demo.key"
    assert path.stat().st_mode & 0o777 == 0o600
    again, _ = demo_settings(settings)
    assert again.evidence_key is not None
    assert again.evidence_key.get_secret_value() == key  # the next run reuses it
    # an operator's own key and reporter details are never replaced
    own = Settings(data_dir=tmp_path / "x", evidence_key=KEY, reporter_email="ts@example.org")
    kept, note = demo_settings(own)
    assert "Evidence key" not in note
    assert "Referrals" not in note
    assert kept.evidence_key is not None
    assert kept.evidence_key.get_secret_value() == KEY
    assert kept.reporter_email == "ts@example.org"
    assert not (tmp_path / "x" / "demo").exists()
