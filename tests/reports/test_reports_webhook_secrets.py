"""Webhook secrets at rest: never in the database, still signing, rotation, keys, migration 0010."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import func, inspect, select, text, update

from safespace.config import Settings
from safespace.errors import ActionNotFound, ConfigError, Conflict
from safespace.reports import WebhookService, verify_signature
from safespace.reports._queue import WEBHOOK_ENDPOINT, ReviewPolicy, ReviewQueue, UserReport
from safespace.reports._webhook_secrets import check
from safespace.store import Database, open_database, upgrade
from safespace.store._database import alembic_config
from safespace.store._models import utcnow
from safespace.store._models_reports import AuditRecord, WebhookEndpoint

MASTER_KEY = bytes(range(7, 39))
OTHER_KEY = bytes(range(50, 82))
SECRET = "whsec_sealed-" + "q" * 30
REVIEW_SECRET = "whsec_configured-" + "r" * 30
NEW_REVIEW_SECRET = "whsec_rotated-" + "n" * 30
URL = "https://platform.example/hook"


class Recorder:
    """An HttpPost that keeps what it was sent and answers 200."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, str]] = []

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        self.sent.append((url, body, headers["SafeSpace-Signature"]))
        return 200

    def verified_with(self, secret: str) -> list[bool]:
        """Checked at the time each was signed (tests deliver at chosen times)."""
        return [verify_signature(secret, body, sig, now=_stamp(sig)) for _, body, sig in self.sent]


def _stamp(header: str) -> int:
    return int(header.split(",")[0].removeprefix("t="))


def _enqueue(service: WebhookService, endpoint: str, content_id: str = "post-1") -> int:
    with service.db.transaction() as s:
        target = {"content_id": content_id}
        return service.enqueue(s, endpoint, "take_down_content", target, actor="lead-ann")


def _confirm(queue: ReviewQueue, content_id: str) -> None:
    item, _ = queue.report(UserReport(content_id, "user says abuse"))
    queue.claim(item.id, "ann", "reviewer")
    queue.decide(item.id, "ann", "reviewer", "confirm", "clear case", "B1")


def _review_queue(db: Database, secret: str) -> ReviewQueue:
    return ReviewQueue(db, ReviewPolicy(webhook_url=URL, webhook_secret=secret))


def _everything_stored(db: Database) -> str:
    """Every row of every table, as text and as hex and base64 of binary columns: a dump."""
    out: list[str] = []
    with db.session() as s:
        for table in inspect(db.engine).get_table_names():
            for row in s.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        raw = bytes(value)
                        out += [raw.decode("latin-1"), raw.hex(), base64.b64encode(raw).decode()]
                    else:
                        out.append(str(value))
    return "\n".join(out)


def _endpoints(db: Database) -> dict[str, tuple[str, str | None, bytes | None]]:
    """name -> (secret_source, secret_check, sealed_secret)."""
    e = WebhookEndpoint
    with db.session() as s:
        rows = s.execute(select(e.name, e.secret_source, e.secret_check, e.sealed_secret))
        return {name: (source, check, sealed) for name, source, check, sealed in rows}


def test_no_secret_is_ever_stored(database: Database) -> None:
    service = WebhookService(database, master_key=MASTER_KEY)
    generated = service.add_endpoint("platform", URL)
    service.add_endpoint("given", URL, secret=SECRET)
    queue = _review_queue(database, REVIEW_SECRET)
    queue.webhooks = service  # as the server runs it: one service, configured and keyed
    _confirm(queue, "post-1")
    _enqueue(service, "platform")
    post = Recorder()
    assert set(service.deliver_due(post).values()) == {"delivered"}
    assert post.verified_with(REVIEW_SECRET).count(True) == 2
    assert post.verified_with(generated).count(True) == 1
    stored = _everything_stored(database)
    for secret in (generated, SECRET, REVIEW_SECRET):
        assert secret not in stored
        assert secret.encode().hex() not in stored
        assert base64.b64encode(secret.encode()).decode() not in stored
    rows = _endpoints(database)
    assert rows["platform"][0] == rows["given"][0] == "sealed"
    assert rows["given"][1] is None  # nothing to guess a sealed secret from
    source, verifier, sealed = rows[WEBHOOK_ENDPOINT]
    assert (source, sealed) == ("settings", None)
    assert check(verifier, REVIEW_SECRET)
    assert not check(verifier, NEW_REVIEW_SECRET)


def test_sqlite_file_never_holds_a_secret(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'safespace.db'}")
    try:
        service = WebhookService(db, master_key=MASTER_KEY)
        service.add_endpoint("given", URL, secret=SECRET)
        _confirm(_review_queue(db, REVIEW_SECRET), "post-1")
    finally:
        db.close()
    files = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert len(files) > 10_000  # the database file, and its WAL if any
    assert SECRET.encode() not in files
    assert REVIEW_SECRET.encode() not in files


def test_deliveries_are_signed_with_the_real_secrets(database: Database) -> None:
    service = WebhookService(database, master_key=MASTER_KEY)
    service.add_endpoint("given", URL, secret=SECRET)
    generated = service.add_endpoint("generated", "https://other.example/hook")
    assert generated.startswith("whsec_")
    a, b = _enqueue(service, "given"), _enqueue(service, "generated")
    post = Recorder()
    # a new service (another worker, a restart) opens the sealed secrets with the same key
    assert WebhookService(database, master_key=MASTER_KEY).deliver_due(post) == {
        a: "delivered",
        b: "delivered",
    }
    by_url = {url: (body, sig) for url, body, sig in post.sent}
    assert verify_signature(SECRET, *by_url[URL])
    assert verify_signature(generated, *by_url["https://other.example/hook"])
    assert not verify_signature(generated, *by_url[URL])


def test_the_configured_secret_signs_and_a_changed_one_is_picked_up(database: Database) -> None:
    queue = _review_queue(database, REVIEW_SECRET)
    _confirm(queue, "post-1")
    post = Recorder()
    assert set(queue.webhooks.deliver_due(post).values()) == {"delivered"}
    assert post.verified_with(REVIEW_SECRET) == [True, True]
    _confirm(queue, "post-2")  # queued, then the server restarts with a rotated secret
    restarted = _review_queue(database, NEW_REVIEW_SECRET)
    early = Recorder()
    statuses = restarted.webhooks.deliver_due(early)  # not synced yet: no secret to sign with
    assert set(statuses.values()) == {"pending"}
    assert early.sent == []
    [action_id, *_] = sorted(statuses)
    assert "NotConfigured" in (restarted.webhooks.get(action_id).last_error or "")
    restarted.sync()  # what the review thread does before delivering
    later = Recorder()
    when = utcnow() + timedelta(hours=2)  # past the backoff of the failed attempt
    assert set(restarted.webhooks.deliver_due(later, now=when).values()) == {"delivered"}
    assert later.verified_with(NEW_REVIEW_SECRET) == [True, True]
    assert later.verified_with(REVIEW_SECRET) == [False, False]
    with database.session() as s:
        changes = s.scalars(
            select(AuditRecord.details).where(AuditRecord.action == "webhook.endpoint")
        ).all()
    assert check(_endpoints(database)[WEBHOOK_ENDPOINT][1], NEW_REVIEW_SECRET)
    assert [json.loads(c)["changed"] for c in changes] == [["created", "secret"], ["secret"]]
    assert REVIEW_SECRET not in "".join(changes)
    restarted.sync()  # unchanged: nothing more audited
    with database.session() as s:
        where = AuditRecord.action == "webhook.endpoint"
        assert s.scalar(select(func.count()).select_from(AuditRecord).where(where)) == 2


def test_a_missing_or_wrong_key_is_a_clear_error(database: Database) -> None:
    with pytest.raises(ConfigError, match="SAFESPACE_EVIDENCE_KEY is not set"):
        WebhookService(database).add_endpoint("platform", URL)
    with database.session() as s:
        assert s.scalars(select(WebhookEndpoint)).all() == []  # refused before writing
    WebhookService(database, master_key=MASTER_KEY).add_endpoint("platform", URL, secret=SECRET)
    action_id = _enqueue(WebhookService(database), "platform")
    keyless, wrong = WebhookService(database), WebhookService(database, master_key=OTHER_KEY)
    post = Recorder()
    assert keyless.deliver_due(post) == {action_id: "pending"}
    assert "SAFESPACE_EVIDENCE_KEY is not set" in (keyless.get(action_id).last_error or "")
    later = utcnow() + timedelta(hours=2)
    assert wrong.deliver_due(post, now=later) == {action_id: "pending"}
    assert "sealed under master key" in (wrong.get(action_id).last_error or "")
    assert post.sent == []
    assert [a.status_code for a in keyless.attempts(action_id)] == [None, None]
    with pytest.raises(ConfigError, match="placeholder"):
        WebhookService.from_settings(database, Settings(evidence_key="change-me-please"))
    key = base64.b64encode(MASTER_KEY).decode()
    configured = WebhookService.from_settings(database, Settings(evidence_key=key))
    assert configured.deliver_due(post, now=later + timedelta(hours=2)) == {action_id: "delivered"}
    assert post.verified_with(SECRET) == [True]


def test_a_sealed_secret_moved_to_another_endpoint_does_not_open(database: Database) -> None:
    service = WebhookService(database, master_key=MASTER_KEY)
    service.add_endpoint("a", URL, secret=SECRET)
    service.add_endpoint("b", "https://b.example/hook")
    with database.transaction() as s:
        sealed = s.scalar(select(WebhookEndpoint.sealed_secret).where(WebhookEndpoint.name == "a"))
        s.execute(
            update(WebhookEndpoint).where(WebhookEndpoint.name == "b").values(sealed_secret=sealed)
        )
    action_id = _enqueue(service, "b")
    assert service.deliver_due(Recorder()) == {action_id: "pending"}
    assert "IntegrityFailure" in (service.get(action_id).last_error or "")


def test_set_secret_rotates_and_refuses_the_configured_endpoint(database: Database) -> None:
    service = WebhookService(database, master_key=MASTER_KEY)
    old = service.add_endpoint("platform", URL)
    new = service.set_secret("platform")
    assert new != old
    _enqueue(service, "platform")
    post = Recorder()
    service.deliver_due(post)
    assert post.verified_with(new) == [True]
    assert service.set_secret("platform", SECRET) == SECRET
    with pytest.raises(ActionNotFound):
        service.set_secret("nowhere")
    _confirm(_review_queue(database, REVIEW_SECRET), "post-1")
    with pytest.raises(Conflict, match="settings"):
        service.set_secret(WEBHOOK_ENDPOINT)
    with pytest.raises(ConfigError):
        WebhookService(database).set_secret("platform")


def test_migration_0010_removes_plaintext_secrets(db_url: str) -> None:
    db = open_database(db_url, migrate=False)
    try:
        upgrade(db, "0009")
        now = utcnow()
        with db.transaction() as s:
            for name, secret in ((WEBHOOK_ENDPOINT, REVIEW_SECRET), ("platform", SECRET)):
                s.execute(
                    text(
                        "INSERT INTO webhook_endpoints (name, url, secret, enabled, created_at) "
                        "VALUES (:n, :u, :s, :e, :t)"
                    ),
                    {"n": name, "u": URL, "s": secret, "e": True, "t": now},
                )
            ids: dict[str, int] = dict(
                s.execute(text("SELECT name, id FROM webhook_endpoints")).all()
            )
            for name in (WEBHOOK_ENDPOINT, "platform"):
                s.execute(
                    text(
                        "INSERT INTO webhook_actions (endpoint_id, kind, case_id, payload, "
                        "status, attempts, next_attempt_at, created_at) VALUES "
                        "(:e, 'take_down_content', 'c', '{}', 'pending', 0, :t, :t)"
                    ),
                    {"e": ids[name], "t": now},
                )
        upgrade(db)
        columns = {c["name"] for c in inspect(db.engine).get_columns("webhook_endpoints")}
        assert "secret" not in columns
        stored = _everything_stored(db)
        assert REVIEW_SECRET not in stored
        assert SECRET not in stored
        rows = _endpoints(db)
        assert rows[WEBHOOK_ENDPOINT][0] == "settings"
        assert check(rows[WEBHOOK_ENDPOINT][1], REVIEW_SECRET)
        assert rows["platform"] == ("unset", None, None)
        # The server starts with the same configured secret: nothing changed, nothing audited.
        queue = _review_queue(db, REVIEW_SECRET)
        queue.webhooks = WebhookService(db, master_key=MASTER_KEY)
        queue.sync()
        with db.session() as s:
            assert s.scalar(select(AuditRecord.seq).limit(1)) is None
        post = Recorder()
        statuses = queue.webhooks.deliver_due(post)
        assert sorted(statuses.values()) == ["delivered", "pending"]
        assert post.verified_with(REVIEW_SECRET) == [True]
        [waiting] = [a for a, status in statuses.items() if status == "pending"]
        assert "set_secret" in (queue.webhooks.get(waiting).last_error or "")
        queue.webhooks.set_secret("platform", SECRET)  # the receiver's secret, now sealed
        later = utcnow() + timedelta(hours=2)
        assert queue.webhooks.deliver_due(post, now=later) == {waiting: "delivered"}
        assert post.verified_with(SECRET)[-1] is True
        with db.engine.begin() as conn:  # down: secrets are not restored, endpoints disabled
            command.downgrade(alembic_config(conn), "0009")
        with db.session() as s:
            back = s.execute(text("SELECT secret, enabled FROM webhook_endpoints")).all()
        assert {(secret, bool(enabled)) for secret, enabled in back} == {("", False)}
    finally:
        db.close()


def test_rewrap_moves_sealed_secrets_to_a_new_master_key(database: Database) -> None:
    WebhookService(database, master_key=MASTER_KEY).add_endpoint("platform", URL, secret=SECRET)
    action_id = _enqueue(WebhookService(database), "platform")
    rotated = WebhookService(database, master_key=OTHER_KEY)
    assert rotated.rewrap(MASTER_KEY) == 1
    assert rotated.rewrap(MASTER_KEY) == 0  # nothing is left under the old key
    post = Recorder()
    assert rotated.deliver_due(post) == {action_id: "delivered"}
    assert post.verified_with(SECRET) == [True]
    with database.session() as s:
        assert s.scalar(select(AuditRecord.action).order_by(AuditRecord.seq.desc())) == (
            "action.delivered"
        )
        assert "webhook.rewrap" in s.scalars(select(AuditRecord.action)).all()
