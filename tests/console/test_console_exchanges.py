"""Exchanges in the console: the sources with what ``/v1/exchanges`` shows, a page per source,
"Fetch now" for leads (CSRF, audited, shows what changed or the error) and the flood guard's
quarantined entries with their release."""

from __future__ import annotations

import os
from pathlib import Path

from console_helpers import Console, MakeConsole, form_token
from sqlalchemy import select

from safespace.banks import BankService
from safespace.banks.formats import HashRecord
from safespace.exchanges import ExchangeService
from safespace.reports import _audit as audit
from safespace.store._models import utcnow
from safespace.store._models_opinions import EntryQuarantine
from safespace.store._models_reports import AuditRecord

A, B = "a" * 32, "b" * 32


def _list_source(console: Console, path: Path) -> ExchangeService:
    db = console.app.state.safespace.db
    BankService(db).create_bank("lists")
    service = ExchangeService(db, master_key=os.urandom(32))
    service.add(
        "nightly", type="list", bank="lists", config={"url": str(path)}, paused=True
    )  # no background fetch
    return service


def test_a_lead_fetches_a_source_now_and_sees_what_changed(
    make_console: MakeConsole, tmp_path: Path
) -> None:
    console = make_console()
    path = tmp_path / "list.txt"
    path.write_text(f"video_md5 {A}\nvideo_md5 {B}\n")
    _list_source(console, path)
    lead = console.signed_in("lena", "lead")
    index = lead.get("/console/exchanges")
    assert index.status_code == 200, index.text
    assert 'href="/console/exchanges/nightly"' in index.text
    assert "badge-paused" in index.text
    assert "No entry is quarantined." in index.text
    assert 'href="/console/exchanges" aria-current="page"' in index.text  # in the navigation
    page = lead.get("/console/exchanges/nightly")
    assert page.status_code == 200, page.text
    assert 'id="fetch-now"' in page.text
    done = lead.post("/console/exchanges/nightly/fetch", data={"csrf_token": form_token(page.text)})
    assert done.status_code == 303, done.text
    shown = lead.get(done.headers["location"])
    assert "2 entries added, 0 updated, 0 removed." in shown.text, shown.text[-3000:]
    assert '<dd id="source-entries">2</dd>' in shown.text
    db = console.app.state.safespace.db
    assert BankService(db).get_bank("lists").entry_count == 2
    with db.session() as s:
        assert audit.verify(s).ok
        rows = s.scalars(select(AuditRecord).where(AuditRecord.action == "exchange.fetch")).all()
        assert [(r.actor, r.subject) for r in rows] == [("user:lena", "exchange:nightly")]
        assert '"added":2' in rows[0].details
    path.unlink()  # the next fetch fails: the page says so, with the error
    failed = lead.post(
        "/console/exchanges/nightly/fetch", data={"csrf_token": form_token(shown.text)}
    )
    shown = lead.get(failed.headers["location"])
    assert 'id="fetch-error"' in shown.text
    assert "source-unavailable" in shown.text


def test_reviewers_see_sources_but_cannot_fetch_and_posts_need_the_token(
    make_console: MakeConsole, tmp_path: Path
) -> None:
    console = make_console()
    path = tmp_path / "list.txt"
    path.write_text(f"video_md5 {A}\n")
    service = _list_source(console, path)
    reviewer = console.signed_in("rita", "reviewer")
    page = reviewer.get("/console/exchanges/nightly")
    assert page.status_code == 200, page.text
    assert 'id="fetch-now"' not in page.text
    refused = reviewer.post(
        "/console/exchanges/nightly/fetch", data={"csrf_token": form_token(page.text)}
    )
    assert refused.status_code == 403
    lead = console.signed_in("lena", "lead")
    assert lead.post("/console/exchanges/nightly/fetch", data={}).status_code == 403
    assert service.get("nightly").last_fetch_at is None  # nothing was fetched
    assert lead.get("/console/exchanges/missing").status_code == 404
    assert lead.get("/console/exchanges/Not%20A%20Name").status_code in (400, 404, 422)
    assert console.client().get("/console/exchanges").status_code in (302, 303)


def test_a_lead_releases_a_quarantined_entry(make_console: MakeConsole) -> None:
    console = make_console()
    db = console.app.state.safespace.db
    banks = BankService(db)
    banks.create_bank("lists")
    banks.add_entries("lists", [HashRecord("md5", A)])
    (entry,) = [e.id for e in banks.list_entries("lists")]
    with db.transaction() as s:
        s.add(
            EntryQuarantine(
                entry_id=entry, bank="lists", matches=300, usual=2, window_minutes=60,
                status="quarantined", quarantined_at=utcnow(),
            )
        )  # fmt: skip
    banks.set_entry_enabled(entry, False, actor="system")
    reviewer = console.signed_in("rita", "reviewer")
    seen = reviewer.get("/console/exchanges")
    assert f'<th scope="row">{entry}</th>' in seen.text
    assert "a lead releases it" in seen.text
    denied = reviewer.post(
        f"/console/exchanges/quarantine/{entry}/release", data={"csrf_token": form_token(seen.text)}
    )
    assert denied.status_code == 403
    lead = console.signed_in("lena", "lead")
    index = lead.get("/console/exchanges")
    assert f"/console/exchanges/quarantine/{entry}/release" in index.text
    done = lead.post(
        f"/console/exchanges/quarantine/{entry}/release",
        data={"csrf_token": form_token(index.text)},
    )
    assert done.status_code == 303, done.text
    after = lead.get(done.headers["location"])
    assert f"Entry {entry} was released" in after.text
    assert "No entry is quarantined." in after.text
    assert banks.get_entry(entry).enabled
