"""The console's bank enable/disable: one audit record, written with the change or not at all."""

from __future__ import annotations

import json
from typing import Any

from console_helpers import Console
from sqlalchemy import select

from safespace.reports import _audit as audit
from safespace.store._models_reports import AuditRecord


def _bank_records(console: Console) -> list[tuple[str, str, str, dict[str, Any]]]:
    with console.accounts.db.session() as s:
        assert audit.verify(s).ok
        rows = s.scalars(
            select(AuditRecord).where(AuditRecord.action.like("bank.%")).order_by(AuditRecord.seq)
        ).all()
        return [(r.actor, r.action, r.subject, json.loads(r.details)) for r in rows]


def _toggle(console: Console, client: Any, enabled: str) -> Any:
    form = {"enabled": enabled, "confirm": "yes", "csrf_token": console.csrf(client)}
    return client.post("/console/banks/demo/enabled", data=form)


def test_disabling_a_bank_writes_one_record_with_the_user(console: Console) -> None:
    banks = console.app.state.safespace.banks
    banks.create_bank("demo")
    lead = console.signed_in("leo", "lead")
    assert _toggle(console, lead, "false").status_code == 303
    assert not banks.get_bank("demo").enabled
    assert _bank_records(console)[1:] == [
        ("user:leo", "bank.update", "bank:demo", {"changes": {"enabled": [True, False]}})
    ]
    assert _toggle(console, lead, "false").status_code == 303  # already off: no change
    assert _toggle(console, lead, "true").status_code == 303
    assert _bank_records(console)[1:] == [
        ("user:leo", "bank.update", "bank:demo", {"changes": {"enabled": [True, False]}}),
        ("user:leo", "bank.update", "bank:demo", {"changes": {"enabled": [False, True]}}),
    ]


def test_a_refused_toggle_writes_no_record(console: Console) -> None:
    console.app.state.safespace.banks.create_bank("demo")
    reviewer = console.signed_in("rita", "reviewer")
    assert _toggle(console, reviewer, "false").status_code == 403
    records = _bank_records(console)
    assert [r[:3] for r in records] == [("system", "bank.create", "bank:demo")]
    assert records[0][3]["enabled"] is True
