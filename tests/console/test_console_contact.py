"""Contact flags in the console: a lead sees flagged adults (keyed ids) with the events
behind each flag, clears one (audited), and opens a prompt experiment's report."""

from __future__ import annotations

from console_helpers import Console, MakeConsole, form_token
from sqlalchemy import select

from safespace.contact import Account
from safespace.contact._runtime import ContactRuntime, runtime_for
from safespace.reports import _audit as audit
from safespace.store._models_reports import AuditRecord

SECRET = "5b7e0c2f91d84a63be27f0c4d8a1e96f3c5b2a70"
ADULT = Account("platform-adult-42", "18-plus", True)


def _runtime(console: Console) -> ContactRuntime:
    state = console.app.state.safespace
    return runtime_for(console.app.state, state.settings, state.db)


def _flag_someone(console: Console) -> str:
    service = _runtime(console).service()
    service.event("block", Account("kid-1", "13-15"), ADULT)
    service.event("report", Account("kid-2", "under-13"), ADULT)
    service.event("request_sent", ADULT, Account("kid-3", "16-17"))
    return service.signals.key_for(ADULT.id)


def test_a_lead_sees_the_flag_and_its_events_and_clears_it(make_console: MakeConsole) -> None:
    console = make_console(deter_secret=SECRET)
    subject = _flag_someone(console)
    lead = console.signed_in("lena", "lead")
    page = lead.get("/console/contact")
    assert page.status_code == 200, page.text
    assert subject[:16] in page.text
    assert "blocked_or_reported_by_children" in page.text
    assert "platform-adult-42" not in page.text
    assert "kid-1" not in page.text
    detail = lead.get(f"/console/contact/flags/{subject}")
    assert detail.status_code == 200, detail.text
    for kind in ("block", "report", "request_sent"):
        assert f"<td>{kind}</td>" in detail.text
    cleared = lead.post(
        f"/console/contact/flags/{subject}/clear",
        data={"csrf_token": form_token(detail.text), "note": "reviewed: a parent's account"},
    )
    assert cleared.status_code == 303, cleared.text
    assert subject[:16] not in lead.get("/console/contact").text
    assert not _runtime(console).service().signals.is_flagged(subject)
    db = console.app.state.safespace.db
    with db.session() as s:
        assert audit.verify(s).ok
        rows = s.scalars(
            select(AuditRecord).where(AuditRecord.action == "contact.flag-clear")
        ).all()
        assert [(r.actor, r.subject) for r in rows] == [("user:lena", f"contact:{subject}")]
        assert "a parent's account" in rows[0].details


def test_reviewers_cannot_see_flags_and_forms_need_the_token(make_console: MakeConsole) -> None:
    console = make_console(deter_secret=SECRET)
    subject = _flag_someone(console)
    reviewer = console.signed_in("rita", "reviewer")
    assert reviewer.get("/console/contact").status_code == 403
    lead = console.signed_in("lena", "lead")
    refused = lead.post(f"/console/contact/flags/{subject}/clear", data={"note": "x"})
    assert refused.status_code == 403
    assert _runtime(console).service().signals.is_flagged(subject)
    assert lead.get("/console/contact/flags/not-a-keyed-id").status_code == 400


def test_a_prompt_experiment_report_opens_for_a_lead(make_console: MakeConsole) -> None:
    console = make_console(deter_secret=SECRET)
    lead = console.signed_in("lena", "lead")
    page = lead.get("/console/contact")
    assert "contact-prompts-example" in page.text
    report = lead.get("/console/contact/experiments/contact-prompts-example")
    assert report.status_code == 200, report.text
    assert "Contact prompt experiment contact-prompts-example" in report.text
    assert lead.get("/console/contact/experiments/nope").status_code == 404
