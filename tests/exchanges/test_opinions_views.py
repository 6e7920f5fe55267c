"""Where a reviewer and a platform see the opinions a decision queued: the console's item
page and ``GET /v1/cases/{id}/opinions``."""

from __future__ import annotations

import sys
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import update

from app_factory import AppStarter
from safespace.access import record_matches
from safespace.banks._match_results import Match
from safespace.banks.formats._base import HashRecord
from safespace.store._models_exchanges import ExchangeEntry, ExchangeSource
from safespace.store._models_opinions import ExchangeOpinion

sys.path.insert(0, str(Path(__file__).parents[1] / "review"))
from review_helpers import ReviewApp, fast_passwords

MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def test_the_item_page_and_the_api_show_each_opinion_and_its_delivery(
    start_app: AppStarter,
) -> None:
    started = start_app(wait_matcher=False, matcher_snapshots=False, review_poll_seconds=3600)
    started.app.state.accounts.passwords = fast_passwords()
    app = ReviewApp(started.app, start_app.clients)
    state = app.app.state.safespace
    state.banks.create_bank("from-ncmec")
    state.banks.add_entries("from-ncmec", [HashRecord("md5", MD5)])
    entry_id = state.banks.list_entries("from-ncmec")[0].id
    with state.db.transaction() as s:
        row = ExchangeSource(
            name="ncmec-industry", type="ncmec", bank_id=state.banks.get_bank("from-ncmec").id,
            config={}, paused=True, consecutive_failures=0, interval_seconds=300, fetched=0,
            removed=0, pages=0,
        )  # fmt: skip
        s.add(row)
        s.flush()
        s.add(ExchangeEntry(source_id=row.id, upstream_id="42/e1/md5", entry_id=entry_id))
    match = Match("from-ncmec", "normal", entry_id, "md5", MD5, 0)
    record_matches(state.db, "post-1", [match], None)
    queue = app.app.state.review.queue
    queue.sync()
    (item,) = [i.id for i in queue.list_items()]
    queue.claim(item, "ann", "lead")
    queue.decide(item, "ann", "lead", "false-positive", "a benign photo")

    api = TestClient(app.app)
    app.clients.append(api)
    assert api.get(f"/v1/cases/{item}/opinions", headers=app.api_key("match")).status_code == 403
    assert api.get("/v1/cases/999999/opinions", headers=app.api_key()).status_code == 404
    body = api.get(f"/v1/cases/{item}/opinions", headers=app.api_key()).json()
    assert body["decision"] == "false-positive"
    (opinion,) = body["opinions"]
    assert opinion["source"] == "ncmec-industry"
    assert opinion["upstream_id"] == "42/e1/md5"
    assert opinion["verdict"] == "false_positive"
    assert opinion["status"] in ("pending", "rejected")  # the app's task may have tried

    page = app.signed_in("bob", "lead").get(f"/console/items/{item}").text
    assert "Opinions sent to bank sources" in page
    assert "ncmec-industry (ncmec)" in page
    assert "42/e1/md5" in page
    with state.db.transaction() as s:
        s.execute(update(ExchangeOpinion).values(status="sent", sent_at=s.scalar(
            ExchangeOpinion.__table__.select().with_only_columns(ExchangeOpinion.created_at)
        )))  # fmt: skip
    assert "opinion-sent" in app.signed_in("cy", "lead").get(f"/console/items/{item}").text
    assert api.get(f"/v1/cases/{item}/opinions", headers=app.api_key()).json()["opinions"][0][
        "sent_at"
    ]
