"""Bank changes through ``/v1`` and the HMA routes: one audit record each, actor ``api-key:ID``.

A change the API refuses writes none; an audit write that fails undoes the change and answers
500 (tests/banks/test_bank_audit.py covers every service operation on its own).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from api_helpers import Api, problem
from fastapi.testclient import TestClient
from sqlalchemy import select

from bank_audit_helpers import created_with_defaults
from safespace.reports import _audit as audit
from safespace.store._models_reports import AuditRecord

MD5 = ["0123456789abcdef" * 2, "fedcba9876543210" * 2]


def _records(api: Api) -> list[tuple[str, str, str, dict[str, Any]]]:
    with api.state.db.session() as s:
        assert audit.verify(s).ok
        rows = s.scalars(select(AuditRecord).order_by(AuditRecord.seq)).all()
        return [(r.actor, r.action, r.subject, json.loads(r.details)) for r in rows]


class _Recorder:
    """Each step's new audit records, checked one step at a time."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.seen = len(_records(api))

    def one(self, response: Any, status: int) -> tuple[str, str, str, dict[str, Any]]:
        assert response.status_code == status, response.text
        rows = _records(self.api)
        new, self.seen = rows[self.seen :], len(rows)
        assert len(new) == 1, new
        return new[0]

    def none(self) -> None:
        assert len(_records(self.api)) == self.seen


def _actor(api: Api) -> str:
    key = api.state.keys.lookup(api.keys["curate"])
    assert key is not None
    return f"api-key:{key.id}"


def test_v1_bank_changes_are_audited_with_the_key(api: Api) -> None:
    me, log = _actor(api), _Recorder(api)
    created = api.post("/v1/banks", "curate", json={"name": "b", "pdq_distance": 20})
    assert log.one(created, 201) == (
        me,
        "bank.create",
        "bank:b",
        created_with_defaults({"kind": "normal", "pdq_distance": 20, "enabled": True}),
    )

    changed = api.patch("/v1/banks/b", "curate", json={"enabled": False})
    assert log.one(changed, 200) == (
        me,
        "bank.update",
        "bank:b",
        {"changes": {"enabled": [True, False]}},
    )

    added = api.post(
        "/v1/banks/b/entries", "curate", json={"entries": [{"signal_type": "md5", "value": MD5[0]}]}
    )
    assert log.one(added, 201) == (me, "bank.entries.add", "bank:b", {"added": 1, "duplicates": 0})
    entry_id = added.json()["entries"][0]["id"]

    off = api.patch(f"/v1/entries/{entry_id}", "curate", json={"enabled": False})
    assert log.one(off, 200) == (me, "bank.entry.disable", "bank:b", {"entry_id": entry_id})

    gone = api.delete(f"/v1/entries/{entry_id}", "curate")
    assert log.one(gone, 204) == (
        me, "bank.entries.remove", "bank:b", {"removed": 1, "entry_ids": [entry_id]}
    )  # fmt: skip

    files = {"file": ("list.txt", f"md5 {MD5[0]}\nmd5 {MD5[1]}\n".encode(), "text/plain")}
    imported = api.post("/v1/banks/b/import", "curate", files=files, data={"format": "hma"})
    assert log.one(imported, 200) == (
        me, "bank.import", "bank:b", {"added": 2, "duplicates": 0, "removed": 0, "rejected": 0}
    )  # fmt: skip

    deleted = api.delete("/v1/banks/b", "curate")
    assert log.one(deleted, 204) == (me, "bank.delete", "bank:b", {"kind": "normal", "entries": 2})


def test_refused_api_changes_write_no_record(api: Api) -> None:
    api.post("/v1/banks", "curate", json={"name": "b"})
    log = _Recorder(api)
    problem(api.post("/v1/banks", "curate", json={"name": "b"}), 409, "bank-exists")
    bad = api.patch("/v1/banks/b", "curate", json={"pdq_distance": 10, "kind": "weird"})
    assert bad.status_code in (400, 422), bad.text
    problem(api.delete("/v1/banks/nope", "curate"), 404, "bank-not-found")
    files = {"file": ("list.txt", b"md5 zz\n", "text/plain")}
    refused = api.post("/v1/banks/b/import", "curate", files=files, data={"format": "hma"})
    problem(refused, 422, "import-rejected")
    log.none()
    assert api.get("/v1/banks/b").json()["pdq_distance"] == 31


def test_hma_bank_changes_are_audited_with_the_key(api: Api) -> None:
    me, log = _actor(api), _Recorder(api)
    created = api.post("/c/banks", "curate", json={"name": "H", "enabled": False})
    assert log.one(created, 201) == (  # one record: created disabled in one transaction
        me,
        "bank.create",
        "bank:H",
        created_with_defaults({"kind": "normal", "pdq_distance": 31, "enabled": False}),
    )

    on = api.client.put("/c/bank/H", headers=api.as_("curate"), json={"enabled_ratio": 1})
    assert log.one(on, 200) == (
        me,
        "bank.update",
        "bank:H",
        {"changes": {"enabled": [False, True]}},
    )

    added = api.post("/c/bank/H/signal", "curate", json={"video_md5": MD5[0]})
    assert log.one(added, 200) == (
        me, "bank.entries.add", "bank:H", {"added": 1, "duplicates": 0}
    )  # fmt: skip

    content_id = added.json()["id"]
    gone = api.delete(f"/c/bank/H/content/{content_id}", "curate")
    assert log.one(gone, 200) == (
        me, "bank.entries.remove", "bank:H", {"removed": 1, "entry_ids": [content_id]}
    )  # fmt: skip
    assert api.delete(f"/c/bank/H/content/{content_id}", "curate").json() == {"deleted": 0}
    log.none()

    deleted = api.delete("/c/bank/H", "curate")
    assert log.one(deleted, 200) == (me, "bank.delete", "bank:H", {"kind": "normal", "entries": 0})
    assert api.delete("/c/bank/H", "curate").json() == {"message": "Done"}
    log.none()


def test_an_audit_failure_undoes_an_api_change(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    api.post("/v1/banks", "curate", json={"name": "b"})
    log = _Recorder(api)

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the audit log cannot be written")

    monkeypatch.setattr(audit, "append", fail)
    quiet = TestClient(api.client.app, raise_server_exceptions=False)
    headers = api.as_("curate")
    answer = quiet.post(
        "/v1/banks/b/entries",
        headers=headers,
        json={"entries": [{"signal_type": "md5", "value": MD5[0]}]},
    )
    assert answer.status_code == 500
    assert quiet.patch("/v1/banks/b", headers=headers, json={"enabled": False}).status_code == 500
    hma = quiet.put("/c/bank/b", headers=headers, json={"enabled": False})
    assert hma.status_code == 500
    quiet.close()
    monkeypatch.undo()
    log.none()
    bank = api.get("/v1/banks/b", "curate").json()
    assert (bank["entry_count"], bank["enabled"]) == (0, True)
