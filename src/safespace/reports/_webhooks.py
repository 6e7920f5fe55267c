"""Actions by signed webhook: an outbox that never loses an action.

An action is written to the outbox in the same transaction as the decision that caused it,
then delivered by :meth:`WebhookService.deliver_due`, which retries with capped exponential
backoff and jitter until the endpoint answers 2xx. Every attempt is recorded. After
``failing_after`` attempts an action is marked ``failing`` (for dashboards) but is still
retried at the cap interval until it is delivered or cancelled.

Each request carries ``SafeSpace-Signature: t=<unix seconds>,v1=<hex>``, where ``v1`` is
HMAC-SHA256 with the endpoint's secret over ``"<t>." + body`` (the scheme Stripe uses), and
``SafeSpace-Action-Id`` for idempotency: a receiver may see an action more than once.

Secrets are never stored in plain text (see :mod:`safespace.reports._webhook_secrets`): an
endpoint made with :meth:`WebhookService.add_endpoint` keeps its secret sealed under the
evidence master key, and the endpoint the operator configures (:meth:`~WebhookService.
use_configured`) is signed with the secret from the settings, which the database only
verifies. An action whose secret cannot be had is not sent: the attempt records why and the
action is retried like any failed delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safespace.config import Settings
from safespace.errors import (
    ActionNotFound,
    Conflict,
    InvalidInput,
    NotConfigured,
    SafeSpaceError,
)
from safespace.reports import _audit as audit
from safespace.reports._webhook_secrets import SecretBox, check, verifier
from safespace.store import Database
from safespace.store._models import utcnow
from safespace.store._models_reports import (
    ACTION_KINDS,
    WebhookAction,
    WebhookAttempt,
    WebhookEndpoint,
)

__all__ = [
    "ACTION_KINDS",
    "SIGNATURE_HEADER",
    "ActionInfo",
    "AttemptInfo",
    "HttpPost",
    "RetryPolicy",
    "WebhookService",
    "httpx_post",
    "sign",
    "verify_signature",
]

SIGNATURE_HEADER = "SafeSpace-Signature"
# url, body, headers -> HTTP status code; raises on network failure.
HttpPost = Callable[[str, bytes, Mapping[str, str]], int]
_REQUIRED = {
    "take_down_content": ("content_id",),
    "restrict_account": ("account_id",),
    "preserve_evidence": ("content_id",),
}


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header's value for ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str, body: bytes, header: str, *, now: float | None = None, tolerance: int = 300
) -> bool:
    """For receivers: a valid ``v1`` over this body, stamped within ``tolerance`` seconds."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        stamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        return False
    expected = sign(secret, body, stamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def httpx_post(timeout: float = 10.0) -> HttpPost:
    """The production poster: httpx, no redirects followed, a time limit per request."""
    import httpx

    client = httpx.Client(timeout=timeout, follow_redirects=False)

    def post(url: str, body: bytes, headers: Mapping[str, str]) -> int:
        return client.post(url, content=body, headers=dict(headers)).status_code

    return post


@dataclass(frozen=True)
class RetryPolicy:
    """Delay before retry n is ``d = min(cap, base * 2**(n-1))``, jittered into [d/2, d]."""

    base_seconds: float = 30.0
    cap_seconds: float = 3600.0
    failing_after: int = 8
    claim_seconds: float = 300.0  # a claimed action is due again after this (crashed worker)

    def delay(self, attempts: int, rng: random.Random) -> float:
        d = min(self.cap_seconds, self.base_seconds * 2.0 ** min(attempts - 1, 62))
        return d / 2 + rng.uniform(0, d / 2)


@dataclass(frozen=True)
class ActionInfo:
    id: int
    endpoint: str
    kind: str
    case_id: str | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class AttemptInfo:
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass
class _Claim:
    action_id: int
    token: str
    url: str
    secret: str | None
    body: bytes
    problem: str | None = None  # why there is no secret to sign with


def _check_endpoint(name: str, url: str) -> None:
    if not name or len(name) > 64:
        raise InvalidInput("endpoint name must be 1 to 64 characters")
    if not url.startswith(("https://", "http://")) or len(url) > 2048:
        raise InvalidInput(f"endpoint URL must be http(s): {url!r}")


class WebhookService:
    """Endpoints, the action outbox, and delivery."""

    def __init__(
        self,
        db: Database,
        policy: RetryPolicy | None = None,
        rng: random.Random | None = None,
        *,
        master_key: bytes | None = None,
    ) -> None:
        self.db = db
        self.policy = policy or RetryPolicy()
        self.rng = rng or random.Random()
        self._box = SecretBox(master_key)
        self._configured: dict[str, str] = {}  # endpoint name -> secret from the settings
        self._checked: set[tuple[str, str]] = set()  # (verifier, secret) pairs known to agree

    @classmethod
    def from_settings(
        cls, db: Database, settings: Settings, policy: RetryPolicy | None = None
    ) -> WebhookService:
        """With the master key from ``SAFESPACE_EVIDENCE_KEY`` when one is set (checked)."""
        from safespace.reports._evidence import load_master_key

        key = load_master_key(settings.evidence_key) if settings.evidence_key else None
        return cls(db, policy, master_key=key)

    def add_endpoint(self, name: str, url: str, *, secret: str | None = None) -> str:
        """Register an endpoint; returns its signing secret (give it to the receiver).

        The secret is stored sealed: without a master key this is a ConfigError.
        """
        _check_endpoint(name, url)
        secret = secret or "whsec_" + secrets.token_urlsafe(32)
        self._box.require()
        with self.db.transaction() as s:
            if s.scalar(select(WebhookEndpoint.id).where(WebhookEndpoint.name == name)):
                raise Conflict(f"webhook endpoint {name!r} exists")
            ep = WebhookEndpoint(name=name, url=url, secret_source="unset", enabled=True)
            s.add(ep)
            s.flush()
            self._store_sealed(ep, secret)
        return secret

    def set_secret(self, name: str, secret: str | None = None) -> str:
        """Give an endpoint a new sealed secret (rotation, or one left ``unset`` by migration
        0010); returns it. Audited, without the secret."""
        secret = secret or "whsec_" + secrets.token_urlsafe(32)
        with self.db.transaction() as s:
            ep = s.scalar(select(WebhookEndpoint).where(WebhookEndpoint.name == name))
            if ep is None:
                raise ActionNotFound(f"no webhook endpoint {name!r}")
            if ep.secret_source == "settings":
                raise Conflict(
                    f"webhook endpoint {name!r} takes its secret from the server's settings: "
                    "change it there"
                )
            self._store_sealed(ep, secret)
            audit.append(s, "system", "webhook.secret", f"endpoint:{name}", {"source": "sealed"})
        self._configured.pop(name, None)
        return secret

    def rewrap(self, old_master_key: bytes) -> int:
        """After a master key rotation: re-seal every secret sealed under ``old_master_key``
        with this service's key, in one transaction; returns how many. Audited."""
        old = SecretBox(old_master_key)
        self._box.require()
        with self.db.transaction() as s:
            rows = s.scalars(
                select(WebhookEndpoint).where(
                    WebhookEndpoint.secret_source == "sealed",
                    WebhookEndpoint.key_id == old.key_id,
                )
            ).all()
            for ep in rows:
                assert ep.sealed_secret is not None
                self._store_sealed(ep, old.open(ep.id, ep.name, ep.sealed_secret, ep.key_id))
            if rows and old.key_id != self._box.key_id:
                details = {"from": old.key_id, "to": self._box.key_id, "endpoints": len(rows)}
                audit.append(s, "system", "webhook.rewrap", "webhook_endpoints", details)
        return len(rows)

    def _store_sealed(self, ep: WebhookEndpoint, secret: str) -> None:
        ep.sealed_secret = self._box.seal(ep.id, ep.name, secret)
        ep.secret_source, ep.key_id, ep.secret_check = "sealed", self._box.key_id, None

    def use_configured(self, session: Session, name: str, url: str, secret: str) -> bool:
        """The endpoint whose secret lives in the operator's settings, in the caller's write
        transaction: the row keeps its URL and a verifier, and this service signs with
        ``secret``. Returns whether the row changed (a change is audited)."""
        _check_endpoint(name, url)
        if not secret:
            raise InvalidInput(f"webhook endpoint {name!r} needs a secret")
        self._configured[name] = secret
        ep = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.name == name))
        changed: list[str] = []
        if ep is None:
            ep = WebhookEndpoint(name=name, url=url, secret_source="settings", enabled=True)
            session.add(ep)
            changed = ["created"]
        if ep.url != url:
            ep.url = url
            changed.append("url")
        if ep.secret_source != "settings" or not self._agrees(ep.secret_check, secret):
            ep.secret_source, ep.secret_check = "settings", verifier(secret)
            ep.sealed_secret, ep.key_id = None, None
            changed.append("secret")
        if ep.secret_check is not None:
            self._checked.add((ep.secret_check, secret))
        if changed:
            session.flush()
            details = {"source": "settings", "changed": changed, "url": url}
            audit.append(session, "system", "webhook.endpoint", f"endpoint:{name}", details)
        return bool(changed)

    def _agrees(self, stored: str | None, secret: str) -> bool:
        if stored is not None and (stored, secret) in self._checked:
            return True  # scrypt once per process and secret, not on every sync
        return check(stored, secret)

    def _secret(self, ep: WebhookEndpoint) -> str:
        """The secret to sign with; a SafeSpaceError saying why there is none."""
        if ep.secret_source == "settings":
            found = self._configured.get(ep.name)
            if found is None:
                raise NotConfigured(
                    f"webhook endpoint {ep.name!r} is signed with a secret from the server's "
                    "settings, and this process was not given one"
                )
            return found
        if ep.secret_source == "sealed" and ep.sealed_secret is not None:
            return self._box.open(ep.id, ep.name, ep.sealed_secret, ep.key_id)
        raise NotConfigured(
            f"webhook endpoint {ep.name!r} has no secret (a plaintext one was removed by the "
            "upgrade to schema 0010): give it one with WebhookService.set_secret"
        )

    def enqueue(
        self,
        session: Session,
        endpoint: str,
        kind: str,
        target: Mapping[str, Any],
        *,
        actor: str,
        case_id: str | None = None,
        now: datetime | None = None,
    ) -> int:
        """Put an action in the outbox inside the caller's write transaction; its id."""
        if kind not in ACTION_KINDS:
            raise InvalidInput(f"unknown action {kind!r}; one of {', '.join(ACTION_KINDS)}")
        missing = [k for k in _REQUIRED[kind] if not target.get(k)]
        if missing:
            raise InvalidInput(f"{kind} needs {', '.join(missing)} in its target")
        ep = session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.name == endpoint))
        if ep is None:
            raise ActionNotFound(f"no webhook endpoint {endpoint!r}")
        now = now or utcnow()
        row = WebhookAction(
            endpoint_id=ep.id,
            kind=kind,
            case_id=case_id,
            payload="{}",
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(row)
        session.flush()
        body = {"id": row.id, "kind": kind, "case_id": case_id, "created_at": now.isoformat()}
        body["target"] = dict(target)
        try:
            row.payload = json.dumps(body, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"action target must be plain JSON: {exc}") from None
        subject = f"action:{row.id}"
        audit.append(session, actor, "action.create", subject, {"kind": kind, "endpoint": endpoint})
        return row.id

    def cancel(self, action_id: int, actor: str, reason: str) -> ActionInfo:
        """Stop retrying an undelivered action (audited)."""
        with self.db.transaction() as s:
            row = s.get(WebhookAction, action_id)
            if row is None:
                raise ActionNotFound(f"no action {action_id}")
            if row.status == "delivered":
                raise Conflict(f"action {action_id} was already delivered")
            row.status, row.claim_token = "cancelled", None
            audit.append(s, actor, "action.cancel", f"action:{action_id}", {"reason": reason})
        return self.get(action_id)

    def deliver_due(
        self, http_post: HttpPost, now: datetime | None = None, *, limit: int = 100
    ) -> dict[int, str]:
        """Send every due action once; returns ``{action id: new status}``.

        Claims are short transactions and the HTTP requests run outside any transaction,
        so a slow endpoint never holds the database's write lock.
        """
        results: dict[int, str] = {}
        for claim in self._claim(now or utcnow(), limit):
            when = now or utcnow()
            if claim.secret is None:  # nothing to sign with: retried like a failed delivery
                problem = claim.problem or "no secret"
                results[claim.action_id] = self._record(claim, when, None, problem, 0)
                continue
            headers = {
                "Content-Type": "application/json",
                "SafeSpace-Action-Id": str(claim.action_id),
                SIGNATURE_HEADER: sign(claim.secret, claim.body, int(when.timestamp())),
            }
            started = time.monotonic()
            code: int | None = None
            error: str | None = None
            try:
                code = int(http_post(claim.url, claim.body, headers))
                if not 200 <= code < 300:
                    error = f"HTTP {code}"
            except Exception as exc:  # any failure of the endpoint is retried, never raised
                error = f"{type(exc).__name__}: {exc}"[:500]
            duration_ms = int((time.monotonic() - started) * 1000)
            results[claim.action_id] = self._record(claim, when, code, error, duration_ms)
        return results

    def _claim(self, now: datetime, limit: int) -> list[_Claim]:
        with self.db.transaction() as s:
            rows = s.execute(
                select(WebhookAction, WebhookEndpoint)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookAction.endpoint_id)
                .where(
                    WebhookAction.status.in_(("pending", "failing")),
                    WebhookAction.next_attempt_at <= now,
                    WebhookEndpoint.enabled.is_(True),
                )
                .order_by(WebhookAction.next_attempt_at, WebhookAction.id)
                .limit(limit)
            ).all()
            claims = []
            resolved: dict[int, tuple[str | None, str | None]] = {}
            for action, ep in rows:
                if ep.id not in resolved:
                    try:
                        resolved[ep.id] = (self._secret(ep), None)
                    except SafeSpaceError as exc:
                        resolved[ep.id] = (None, f"{type(exc).__name__}: {exc}"[:500])
                secret, problem = resolved[ep.id]
                action.claim_token = secrets.token_hex(16)
                action.next_attempt_at = now + timedelta(seconds=self.policy.claim_seconds)
                body = action.payload.encode()
                claims.append(_Claim(action.id, action.claim_token, ep.url, secret, body, problem))
            return claims

    def _record(
        self, claim: _Claim, when: datetime, code: int | None, error: str | None, ms: int
    ) -> str:
        with self.db.transaction() as s:
            s.add(
                WebhookAttempt(
                    action_id=claim.action_id,
                    at=when,
                    status_code=code,
                    error=error,
                    duration_ms=ms,
                )
            )
            row = s.get(WebhookAction, claim.action_id)
            assert row is not None
            if row.claim_token != claim.token:  # cancelled meanwhile: keep its status
                return row.status
            row.attempts += 1
            row.claim_token = None
            subject = f"action:{row.id}"
            if error is None:
                row.status, row.delivered_at, row.last_error = "delivered", when, None
                audit.append(s, "system", "action.delivered", subject, {"attempts": row.attempts})
                return row.status
            row.last_error = error
            delay = self.policy.delay(row.attempts, self.rng)
            row.next_attempt_at = when + timedelta(seconds=delay)
            if row.attempts >= self.policy.failing_after and row.status != "failing":
                row.status = "failing"
                audit.append(s, "system", "action.failing", subject, {"last_error": error})
            return row.status

    def get(self, action_id: int) -> ActionInfo:
        with self.db.session() as s:
            found = s.execute(
                select(WebhookAction, WebhookEndpoint.name)
                .join(WebhookEndpoint, WebhookEndpoint.id == WebhookAction.endpoint_id)
                .where(WebhookAction.id == action_id)
            ).first()
            if found is None:
                raise ActionNotFound(f"no action {action_id}")
            a, name = found
            return ActionInfo(
                a.id,
                name,
                a.kind,
                a.case_id,
                a.status,
                a.attempts,
                a.next_attempt_at,
                a.last_error,
                a.delivered_at,
                json.loads(a.payload),
            )

    def attempts(self, action_id: int) -> list[AttemptInfo]:
        with self.db.session() as s:
            rows = s.scalars(
                select(WebhookAttempt)
                .where(WebhookAttempt.action_id == action_id)
                .order_by(WebhookAttempt.id)
            )
            return [AttemptInfo(r.at, r.status_code, r.error, r.duration_ms) for r in rows]
