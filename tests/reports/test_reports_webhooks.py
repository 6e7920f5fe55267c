"""Webhook actions: signing, delivery to a real local server, backoff, failing, cancelling."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from safespace.errors import ActionNotFound, Conflict, InvalidInput
from safespace.reports import RetryPolicy, WebhookService, sign, verify_signature
from safespace.reports import _audit as audit
from safespace.reports._webhooks import SIGNATURE_HEADER, httpx_post
from safespace.store import Database
from safespace.store._models_reports import AuditRecord

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SECRET = "whsec_test-secret"
MASTER_KEY = bytes(range(100, 132))  # endpoint secrets are sealed under it


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, object]]
    answer = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        header = self.headers[SIGNATURE_HEADER]
        stamp = int(header.split(",")[0][2:])
        ok = verify_signature(SECRET, body, header, now=stamp + 10)
        type(self).received.append(
            {"ok": ok, "id": self.headers["SafeSpace-Action-Id"], "body": json.loads(body)}
        )
        self.send_response(self.answer if ok else 400)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Handler", (_Receiver,), {"received": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", handler
    server.shutdown()
    server.server_close()


def _service(db: Database, **policy: float) -> WebhookService:
    return WebhookService(
        db,
        RetryPolicy(**policy),  # type: ignore[arg-type]
        rng=random.Random(7),
        master_key=MASTER_KEY,
    )


def _enqueue(service: WebhookService, kind: str = "take_down_content", **target: str) -> int:
    with service.db.transaction() as s:
        return service.enqueue(
            s, "platform", kind, target or {"content_id": "post-9"}, actor="lead-ann",
            case_id="case-42", now=T0,
        )  # fmt: skip


def test_signatures_verify_like_stripes() -> None:
    body = b'{"id":1}'
    header = sign(SECRET, body, 1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert verify_signature(SECRET, body, header, now=1_700_000_100)
    assert not verify_signature(SECRET, body + b" ", header, now=1_700_000_100)
    assert not verify_signature("other", body, header, now=1_700_000_100)
    assert not verify_signature(SECRET, body, header, now=1_700_001_000)  # too old: replay
    assert not verify_signature(SECRET, body, "v1=abc", now=1_700_000_000)


def test_backoff_is_exponential_jittered_and_capped() -> None:
    policy, rng = RetryPolicy(base_seconds=30, cap_seconds=3600), random.Random(1)
    for n in range(1, 40):
        d = min(3600.0, 30.0 * 2 ** (n - 1))
        delays = [policy.delay(n, rng) for _ in range(20)]
        assert all(d / 2 <= x <= d for x in delays)
        assert len(set(delays)) > 1


def test_delivery_to_a_local_server(
    database: Database, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, handler = receiver
    service = _service(database)
    service.add_endpoint("platform", url, secret=SECRET)
    action_id = _enqueue(service, content_id="post-9", reason="confirmed")
    assert service.deliver_due(httpx_post(timeout=5), now=T0) == {action_id: "delivered"}
    assert len(handler.received) == 1
    got = handler.received[0]
    assert got["ok"] is True
    assert got["id"] == str(action_id)
    assert got["body"] == {
        "id": action_id, "kind": "take_down_content", "case_id": "case-42",
        "created_at": T0.isoformat(), "target": {"content_id": "post-9", "reason": "confirmed"},
    }  # fmt: skip
    info = service.get(action_id)
    assert info.status == "delivered"
    assert info.attempts == 1
    assert [a.status_code for a in service.attempts(action_id)] == [200]
    assert service.deliver_due(httpx_post(timeout=5), now=T0 + timedelta(days=1)) == {}
    with database.session() as s:
        actions = list(s.scalars(select(AuditRecord.action).order_by(AuditRecord.seq)))
        assert audit.verify(s).ok
    assert actions == ["action.create", "action.delivered"]


def test_a_failing_endpoint_never_loses_the_action(database: Database) -> None:
    service = _service(database, base_seconds=10, cap_seconds=80, failing_after=4)
    service.add_endpoint("platform", "https://platform.example/hook", secret=SECRET)
    action_id = _enqueue(service, "restrict_account", account_id="user-77")
    calls: list[bytes] = []
    answers: list[int | Exception] = [500, ConnectionError("refused"), 503, 404, 502, 500, 200]

    def post(url: str, body: bytes, headers: Mapping[str, str]) -> int:
        calls.append(body)
        answer = answers[len(calls) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer

    now, statuses, waits = T0, [], []
    while True:
        assert service.deliver_due(post, now=now - timedelta(seconds=1)) == {}  # not due yet
        status = service.deliver_due(post, now=now)[action_id]
        statuses.append(status)
        if status == "delivered":
            break
        info = service.get(action_id)
        waits.append((info.next_attempt_at - now).total_seconds())
        now = info.next_attempt_at
    assert statuses == ["pending"] * 3 + ["failing"] * 3 + ["delivered"]
    assert [5 <= w <= 10 for w in waits[:1]] == [True]
    assert all(40 <= w <= 80 for w in waits[3:])  # capped, still retried while failing
    attempts = service.attempts(action_id)
    assert [a.status_code for a in attempts] == [500, None, 503, 404, 502, 500, 200]
    assert attempts[1].error == "ConnectionError: refused"
    assert len(set(calls)) == 1  # the same body every time


def test_cancel_stops_retries(database: Database) -> None:
    service = _service(database)
    service.add_endpoint("platform", "https://platform.example/hook", secret=SECRET)
    action_id = _enqueue(service, "preserve_evidence", content_id="post-9")
    assert service.deliver_due(lambda u, b, h: 500, now=T0)[action_id] == "pending"
    assert service.cancel(action_id, "lead-ann", "handled by phone").status == "cancelled"
    assert service.deliver_due(lambda u, b, h: 200, now=T0 + timedelta(days=1)) == {}
    other = _enqueue(service)
    service.deliver_due(lambda u, b, h: 204, now=T0)
    with pytest.raises(Conflict, match="already delivered"):
        service.cancel(other, "lead-ann", "late")
    with pytest.raises(ActionNotFound):
        service.cancel(999, "lead-ann", "none")


def test_bad_actions_are_refused(database: Database) -> None:
    service = _service(database)
    service.add_endpoint("platform", "https://platform.example/hook")
    with pytest.raises(Conflict):
        service.add_endpoint("platform", "https://platform.example/other")
    with pytest.raises(InvalidInput, match="http"):
        service.add_endpoint("ftp", "ftp://platform.example/")
    with database.transaction() as s:
        with pytest.raises(InvalidInput, match="unknown action"):
            service.enqueue(s, "platform", "delete_everything", {}, actor="a")
        with pytest.raises(InvalidInput, match="needs account_id"):
            service.enqueue(s, "platform", "restrict_account", {"content_id": "x"}, actor="a")
        with pytest.raises(ActionNotFound, match="endpoint"):
            service.enqueue(s, "nowhere", "take_down_content", {"content_id": "x"}, actor="a")
