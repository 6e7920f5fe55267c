"""Evidence in the console, end to end: the platform uploads for a confirmed case, a lead
opens it (audited), a reviewer is refused (audited), a legal hold stops the purge, and after
release the purge destroys the file. Also: sealed reviewer media still shows in the console."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from review_helpers import BENIGN_IMAGE, EVIDENCE_KEY, csrf
from sqlalchemy import select

from safespace.errors import ConfigError
from safespace.reports import EvidenceStore
from safespace.reports._queue import ReviewQueue, UserReport
from safespace.store._models import utcnow
from safespace.store._models_queue import ReviewMedia
from safespace.store._models_reports import AuditRecord

# Benign stand-in for a confirmed file: generated noise, never real material.
DATA = os.urandom(5000)


def _confirmed(app: Any) -> int:
    queue: ReviewQueue = app.app.state.review.queue
    item, _ = queue.report(UserReport("post-1", "reported"))
    queue.claim(item.id, "ann", "reviewer")
    queue.decide(item.id, "ann", "reviewer", "confirm", "clearly", "A1")
    return item.id


def _audit(app: Any, action: str) -> list[tuple[str, dict[str, Any]]]:
    with app.app.state.safespace.db.session() as s:
        rows = s.scalars(select(AuditRecord).where(AuditRecord.action == action))
        return [(r.actor, json.loads(r.details)) for r in rows]


def test_evidence_from_upload_to_purge(make_app: Any) -> None:
    app = make_app(evidence_key=EVIDENCE_KEY)
    item_id = _confirmed(app)
    api = TestClient(app.app)
    sent = api.post(
        f"/v1/cases/review-{item_id}/evidence",
        headers=app.api_key("curate"),
        files={"file": ("e.png", DATA, "image/png")},
        data={"media_type": "image/png"},
    )
    assert sent.status_code == 201, sent.text
    eid = sent.json()["id"]
    page_url, open_url = f"/console/items/{item_id}", f"/console/items/{item_id}/evidence/{eid}"

    ann, lee = app.signed_in("ann"), app.signed_in("lee", "lead")
    # everyone who sees the item sees the metadata; only leads get the Open link and holds
    ann_page = ann.get(page_url).text
    assert 'id="evidence-heading"' in ann_page
    assert sent.json()["sha256"] in ann_page
    assert open_url not in ann_page
    assert f"/evidence/{eid}/hold" not in ann_page
    lee_page = lee.get(page_url).text
    assert open_url in lee_page
    assert f"/evidence/{eid}/hold" in lee_page

    opened = lee.get(open_url)
    assert opened.status_code == 200
    assert opened.content == DATA
    assert opened.headers["content-disposition"].startswith("attachment;")
    assert ".png" in opened.headers["content-disposition"]
    assert opened.headers["cache-control"] == "no-store"
    assert opened.headers["x-content-type-options"] == "nosniff"
    assert opened.headers["content-type"] == "application/octet-stream"
    assert _audit(app, "evidence.open") == [
        ("user:lee", {"role": "lead", "sha256": sent.json()["sha256"]})
    ]

    refused = ann.get(open_url)
    assert refused.status_code == 403
    assert DATA[:16] not in refused.content
    assert _audit(app, "evidence.refused") == [
        ("user:ann", {"role": "reviewer", "wanted": "evidence.open"})
    ]
    # another case's page does not open this item
    assert lee.get(f"/console/items/{item_id + 1000}/evidence/{eid}").status_code == 404

    hold_url = f"{open_url}/hold"
    assert lee.post(hold_url, data={"reason": "court", "csrf_token": "forged"}).status_code == 403
    assert lee.post(hold_url, data={"reason": " ", "csrf_token": csrf(lee)}).status_code == 400
    assert ann.post(hold_url, data={"reason": "x", "csrf_token": csrf(ann)}).status_code == 403
    held = lee.post(hold_url, data={"reason": "court order 7", "csrf_token": csrf(lee)})
    assert held.status_code == 303
    assert "court order 7" in lee.get(page_url).text
    assert f"/evidence/{eid}/release" in lee.get(page_url).text

    store: EvidenceStore = app.app.state.review.evidence
    later = utcnow() + timedelta(days=400)
    assert store.purge_expired(now=later) == []  # on hold: kept past its date
    path = store.directory / eid[:2] / f"{eid}.bin"
    assert path.exists()
    release = {"reason": "order lifted", "csrf_token": csrf(lee)}
    assert lee.post(f"{open_url}/release", data=release).status_code == 303
    assert store.purge_expired(now=later) == [eid]
    assert not path.exists()
    assert lee.get(open_url).status_code == 404
    listed = api.get(f"/v1/cases/review-{item_id}/evidence", headers=app.api_key("curate"))
    assert listed.json()["items"][0]["purged_at"] is not None
    assert "purged" in lee.get(page_url).text


def test_without_a_key_the_page_says_so(make_app: Any) -> None:
    app = make_app()
    item_id = _confirmed(app)
    lee = app.signed_in("lee", "lead")
    assert "Evidence storage is not configured" in lee.get(f"/console/items/{item_id}").text
    assert lee.get(f"/console/items/{item_id}/evidence/{'a' * 32}").status_code == 503


def test_sealed_reviewer_media_still_shows(make_app: Any) -> None:
    app = make_app(review_store_media=True, evidence_key=EVIDENCE_KEY)
    original = BENIGN_IMAGE.read_bytes()
    sent = TestClient(app.app).post(
        "/v1/reports",
        headers=app.api_key(),
        files={"file": ("a.jpg", original, "image/jpeg")},
        data={"content_id": "img-1", "reason": "reported"},
    )
    assert sent.status_code == 201, sent.text
    item_id = sent.json()["item_id"]
    with app.app.state.safespace.db.session() as s:
        row = s.scalars(select(ReviewMedia).where(ReviewMedia.item_id == item_id)).one()
        assert row.data != original
        assert original[:256] not in row.data
        assert row.key_id is not None
        assert row.wrapped_key is not None
    shown = app.signed_in("ann").get(f"/console/items/{item_id}/media")
    assert shown.status_code == 200
    assert shown.content == original


def test_media_kept_without_a_key_stops_the_app(make_app: Any) -> None:
    with pytest.raises(ConfigError, match="REVIEW_STORE_MEDIA=true needs a usable"):
        make_app(review_store_media=True)
