"""Bank management in the console (issue 11): entry search with paging and totals, adding one
entry (errors keep what was typed), withdrawing one (confirmed, with a reason in the audit
log), uploading an import that becomes a job, exports, and where entries came from; leads
and admins change, reviewers only look."""

from __future__ import annotations

import json
import time
from typing import Any

from console_helpers import Console, form_token
from sqlalchemy import select

from safespace.api._limits import MULTIPART_SLACK
from safespace.banks.formats import FORMATS, HashRecord
from safespace.reports import _audit as audit
from safespace.store._models_reports import AuditRecord
from waiting import WAIT_SECONDS

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def _md5(i: int) -> str:
    return f"{i:032x}"


def _bank(console: Console, name: str = "demo", count: int = 0) -> Any:
    banks = console.app.state.safespace.banks
    banks.create_bank(name)
    records = [
        HashRecord(
            "md5",
            _md5(i),
            source="list A" if i % 2 else "List B",
            category="cat-1" if i % 3 == 0 else None,
            note=f"note {i} 100%_sure" if i % 5 == 0 else None,
        )
        for i in range(count)
    ]
    if records:
        banks.add_entries(name, records)
    return banks


def _records(console: Console, action: str) -> list[tuple[str, str, dict[str, Any]]]:
    with console.accounts.db.session() as s:
        assert audit.verify(s).ok
        rows = s.scalars(
            select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.seq)
        ).all()
        return [(r.actor, r.subject, json.loads(r.details)) for r in rows]


def _wait_job(console: Console, job_id: int) -> str:
    jobs = console.app.state.import_jobs.jobs
    deadline = time.monotonic() + WAIT_SECONDS
    while (status := jobs.get(job_id).status) not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, "import job did not finish"
        time.sleep(0.05)
    return status


# --- search ---------------------------------------------------------------------------------


def test_search_by_value_normalises_and_keeps_filters_in_the_address(console: Console) -> None:
    _bank(console, count=120)
    client = console.signed_in("rita", "reviewer")
    upper = _md5(7).upper()  # the signal type's normalisation lowercases hex
    page = client.get("/console/banks/demo", params={"value": f"  {upper} "})
    assert page.status_code == 200, page.text
    assert "1 of 120 entries match." in page.text
    assert _md5(7) in page.text
    assert _md5(8) not in page.text
    assert f'name="value" value="  {upper} "' in page.text  # the form keeps what was typed
    typed = client.get("/console/banks/demo", params={"value": _md5(7), "signal_type": "md5"})
    assert "1 of 120 entries match." in typed.text
    missing = client.get("/console/banks/demo", params={"value": _md5(500)})
    assert "0 of 120 entries match." in missing.text
    assert "No entry matches this search." in missing.text


def test_search_by_source_category_and_note_pages_with_totals(console: Console) -> None:
    _bank(console, count=120)
    client = console.signed_in("rita", "reviewer")
    page = client.get("/console/banks/demo", params={"source": "list a"}).text
    assert "60 of 120 entries match." in page
    assert "Page 1 of 2" in page
    assert 'href="/console/banks/demo?source=list+a&amp;page=2"' in page
    second = client.get("/console/banks/demo", params={"source": "list a", "page": 2}).text
    assert _md5(119) in second
    assert _md5(118) not in second  # list B
    assert 'rel="prev" href="/console/banks/demo?source=list+a&amp;page=1"' in second
    cat = client.get("/console/banks/demo", params={"category": "CAT-1"}).text
    assert "40 of 120 entries match." in cat
    # A note search is a substring search, LIKE's wildcards taken literally.
    note = client.get("/console/banks/demo", params={"note": "100%_SURE"}).text
    assert "24 of 120 entries match." in note
    assert "0 of 120" in client.get("/console/banks/demo", params={"note": "0%x"}).text
    both = client.get("/console/banks/demo", params={"note": "note 1", "source": "List B"})
    assert "3 of 120 entries match." in both.text  # 10, 100, 110 (note 1, 11.. have none)


def test_bad_search_input_is_the_consoles_400_page(console: Console) -> None:
    _bank(console, count=3)
    client = console.signed_in("rita", "reviewer")
    for params in (
        {"value": "not a hash", "signal_type": "md5"},
        {"signal_type": "no-such-type"},
        {"page": "0"},
        {"source": "x" * 300},
    ):
        bad = client.get("/console/banks/demo", params=params)
        assert bad.status_code == 400, params
        assert bad.headers["content-type"].startswith("text/html")
        assert "<h1>Bad request</h1>" in bad.text


# --- add ------------------------------------------------------------------------------------


def test_a_lead_adds_an_entry_audited_with_their_name(console: Console) -> None:
    banks = _bank(console)
    lead = console.signed_in("leo", "lead")
    form = lead.get("/console/banks/demo/entries/new")
    assert form.status_code == 200
    for t in ("md5", "pdq"):
        assert f'<option value="{t}"' in form.text
    data = {
        "signal_type": "pdq",
        "value": PDQ.upper(),
        "source": "hotline",
        "category": "A1",
        "note": "seen twice",
        "csrf_token": form_token(form.text),
    }
    added = lead.post("/console/banks/demo/entries", data=data)
    assert added.status_code == 303, added.text
    [entry] = banks.list_entries("demo")
    assert (entry.value, entry.source, entry.category, entry.note) == (
        PDQ,
        "hotline",
        "A1",
        "seen twice",
    )
    assert added.headers["location"] == f"/console/banks/demo/entries/{entry.id}?added=1"
    page = lead.get(added.headers["location"]).text
    assert "The entry was added" in page
    assert "hotline" in page
    assert _records(console, "bank.entries.add") == [
        ("user:leo", "bank:demo", {"added": 1, "duplicates": 0})
    ]
    again = lead.post("/console/banks/demo/entries", data=data)
    assert again.headers["location"].endswith("?duplicate=1")
    assert len(_records(console, "bank.entries.add")) == 1


def test_a_refused_entry_shows_the_error_and_keeps_what_was_typed(console: Console) -> None:
    banks = _bank(console)
    lead = console.signed_in("leo", "lead")
    token = console.csrf(lead)
    data = {
        "signal_type": "md5",
        "value": "zz-not-hex",
        "source": "my <list>",
        "note": "typed note",
        "csrf_token": token,
    }
    bad = lead.post("/console/banks/demo/entries", data=data)
    assert bad.status_code == 400
    assert 'role="alert"' in bad.text
    assert "zz-not-hex</textarea>" in bad.text
    assert 'value="my &lt;list&gt;"' in bad.text
    assert "typed note</textarea>" in bad.text
    assert '<option value="md5" selected>' in bad.text
    no_type = lead.post("/console/banks/demo/entries", data={**data, "signal_type": ""})
    assert no_type.status_code == 400
    assert "Choose a signal type." in no_type.text
    assert banks.list_entries("demo") == []


def test_reviewers_see_but_do_not_change(console: Console) -> None:
    banks = _bank(console, count=1)
    entry = banks.list_entries("demo")[0]
    reviewer = console.signed_in("rita", "reviewer")
    page = reviewer.get("/console/banks/demo").text
    assert "Add an entry" not in page
    assert "/export/" not in page
    assert reviewer.get(f"/console/banks/demo/entries/{entry.id}").status_code == 200
    token = console.csrf(reviewer)
    for url in (
        "/console/banks/demo/entries/new",
        f"/console/banks/demo/entries/{entry.id}/withdraw",
        "/console/banks/demo/import",
        "/console/banks/demo/export/csv",
    ):
        assert reviewer.get(url).status_code == 403, url
    add = {"signal_type": "md5", "value": _md5(9), "csrf_token": token}
    assert reviewer.post("/console/banks/demo/entries", data=add).status_code == 403
    gone = {"reason": "x", "confirm": "yes", "csrf_token": token}
    url = f"/console/banks/demo/entries/{entry.id}/withdraw"
    assert reviewer.post(url, data=gone).status_code == 403
    assert len(banks.list_entries("demo")) == 1


def test_changes_need_the_csrf_token(console: Console) -> None:
    banks = _bank(console, count=1)
    entry = banks.list_entries("demo")[0]
    lead = console.signed_in("leo", "lead")
    add = {"signal_type": "md5", "value": _md5(9), "csrf_token": "wrong"}
    assert lead.post("/console/banks/demo/entries", data=add).status_code == 403
    url = f"/console/banks/demo/entries/{entry.id}/withdraw"
    assert lead.post(url, data={"reason": "x", "confirm": "yes"}).status_code == 403
    files = {"file": ("list.csv", b"signal_type,value\n", "text/csv")}
    upload = lead.post("/console/banks/demo/import", files=files, data={"csrf_token": "x"})
    assert upload.status_code == 403
    assert len(banks.list_entries("demo")) == 1


# --- withdraw -------------------------------------------------------------------------------


def test_withdrawing_needs_a_reason_and_a_confirm_and_is_audited(console: Console) -> None:
    banks = _bank(console, count=2)
    entry = banks.list_entries("demo")[0]
    lead = console.signed_in("leo", "lead")
    url = f"/console/banks/demo/entries/{entry.id}/withdraw"
    confirm = lead.get(url)
    assert confirm.status_code == 200
    assert "Withdraw entry" in confirm.text
    token = form_token(confirm.text)
    no_reason = lead.post(url, data={"reason": "  ", "confirm": "yes", "csrf_token": token})
    assert no_reason.status_code == 400
    assert "Say why" in no_reason.text
    unconfirmed = lead.post(url, data={"reason": "wrong list", "csrf_token": token})
    assert unconfirmed.status_code == 400
    assert "wrong list</textarea>" in unconfirmed.text  # kept
    assert len(banks.list_entries("demo")) == 2
    done = lead.post(url, data={"reason": "wrong list", "confirm": "yes", "csrf_token": token})
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/banks/demo?withdrawn={entry.id}"
    assert [e.id for e in banks.list_entries("demo")] != [entry.id]
    assert len(banks.list_entries("demo")) == 1
    assert "no longer matches" in lead.get(done.headers["location"]).text
    assert _records(console, "bank.entries.remove") == [
        (
            "user:leo",
            "bank:demo",
            {"removed": 1, "entry_ids": [entry.id], "reason": "wrong list"},
        )
    ]
    assert lead.get(f"/console/banks/demo/entries/{entry.id}").status_code == 404


def test_an_entry_of_another_bank_is_not_found(console: Console) -> None:
    _bank(console, "one", count=1)
    other = _bank(console, "two", count=1).list_entries("two")[0]
    lead = console.signed_in("leo", "lead")
    assert lead.get(f"/console/banks/one/entries/{other.id}").status_code == 404
    data = {"reason": "x", "confirm": "yes", "csrf_token": console.csrf(lead)}
    url = f"/console/banks/one/entries/{other.id}/withdraw"
    assert lead.post(url, data=data).status_code == 404


# --- import and export ------------------------------------------------------------------------


def test_an_upload_starts_an_import_job_and_shows_its_page(console: Console) -> None:
    banks = _bank(console)
    lead = console.signed_in("leo", "lead")
    form = lead.get("/console/banks/demo/import")
    assert form.status_code == 200
    assert 'value="">Detect from the file' in form.text
    for name in FORMATS:
        assert f'<option value="{name}"' in form.text
    body = f"signal_type,value\nmd5,{_md5(1)}\nmd5,{_md5(2)}\n".encode()
    files = {"file": ("list.csv", body, "text/csv")}
    data = {"format": "", "csrf_token": form_token(form.text)}
    sent = lead.post("/console/banks/demo/import", files=files, data=data)
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"].startswith("/console/imports/")
    job_id = int(sent.headers["location"].rsplit("/", 1)[1])
    assert _wait_job(console, job_id) == "succeeded"
    assert console.app.state.import_jobs.jobs.get(job_id).format == "csv"
    assert len(banks.list_entries("demo")) == 2
    page = lead.get(sent.headers["location"]).text
    assert "list.csv" in page
    bank_page = lead.get("/console/banks/demo").text
    assert f'href="/console/imports/{job_id}"' in bank_page  # in "Recent imports"


def test_refused_uploads_say_why(console: Console) -> None:
    _bank(console)
    lead = console.signed_in("leo", "lead")
    token = console.csrf(lead)
    files = {"file": ("list.csv", b"signal_type,value\n", "text/csv")}
    odd = lead.post(
        "/console/banks/demo/import", files=files, data={"format": "docx", "csrf_token": token}
    )
    assert odd.status_code == 400
    assert "cannot read the format" in odd.text
    empty = {"file": ("list.csv", b"", "text/csv")}
    nothing = lead.post("/console/banks/demo/import", files=empty, data={"csrf_token": token})
    assert nothing.status_code == 400
    assert "Choose a hash-list file" in nothing.text
    blob = {"file": ("what.bin", b"\x00\x01 nothing readable", "application/octet-stream")}
    unknown = lead.post("/console/banks/demo/import", files=blob, data={"csrf_token": token})
    assert unknown.status_code in (400, 415, 422)
    assert 'role="alert"' in unknown.text
    assert console.app.state.import_jobs.jobs.list_jobs(bank="demo") == []


def test_an_upload_over_the_apis_import_limit_is_refused(make_console: Any) -> None:
    console = make_console(max_import_bytes=64)
    _bank(console)
    lead = console.signed_in("leo", "lead")
    body = b"signal_type,value\n" + b"".join(f"md5,{_md5(i)}\n".encode() for i in range(5))
    files = {"file": ("list.csv", body, "text/csv")}
    big = lead.post(
        "/console/banks/demo/import", files=files, data={"csrf_token": console.csrf(lead)}
    )
    assert big.status_code == 400
    assert "over the limit of 64 bytes" in big.text


def test_exports_download_in_every_format(console: Console) -> None:
    banks = _bank(console, count=3)
    lead = console.signed_in("leo", "lead")
    page = lead.get("/console/banks/demo").text
    for name in FORMATS:
        assert f'href="/console/banks/demo/export/{name}"' in page
        download = lead.get(f"/console/banks/demo/export/{name}")
        assert download.status_code == 200, (name, download.text)
        assert download.headers["content-disposition"].startswith('attachment; filename="demo-')
    csv = lead.get("/console/banks/demo/export/csv")
    assert csv.status_code == 200
    assert csv.headers["content-disposition"] == 'attachment; filename="demo-csv.csv"'
    again = FORMATS["csv"].parse(csv.content)
    assert sorted(r.value for _, r in again.records) == sorted(
        e.value for e in banks.list_entries("demo")
    )
    assert lead.get("/console/banks/demo/export/docx").status_code == 400
    assert lead.get("/console/banks/nothing/export/csv").status_code == 404


# --- provenance -------------------------------------------------------------------------------


def test_the_allow_bank_shows_where_its_entries_came_from(console: Console) -> None:
    banks = console.app.state.safespace.banks
    banks.create_bank("allow", kind="allow")
    jobs = console.app.state.import_jobs.jobs
    body = f"signal_type,value,source,note\nmd5,{_md5(5)},partner list,known benign\n".encode()
    job = jobs.submit("allow", body, fmt="csv", filename="benign.csv")
    console.app.state.import_jobs.runner.poke()
    assert _wait_job(console, job.id) == "succeeded"
    banks.add_entries("allow", [HashRecord("md5", _md5(6), source="by hand")])
    client = console.signed_in("rita", "reviewer")
    page = client.get("/console/banks/allow").text
    assert "Entries by source list" in page
    assert 'href="/console/banks/allow?source=partner%20list"' in page
    assert f'href="/console/imports/{job.id}"' in page
    imported = client.get("/console/banks/allow", params={"value": _md5(5)}).text
    entry_id = banks.list_entries("allow")[0].id
    assert f'href="/console/banks/allow/entries/{entry_id}"' in imported
    entry = client.get(f"/console/banks/allow/entries/{entry_id}").text
    assert "partner list" in entry
    assert "known benign" in entry
    assert f"import job #{job.id}" in entry
    assert "benign.csv" in entry
    assert "(allow)" in entry


def test_only_a_signed_in_lead_gets_the_import_size_for_an_upload(make_console: Any) -> None:
    """The body guard lets a lead's console upload past the media size up to the import size;
    anyone else keeps the media size (and a reviewer is refused the upload anyway)."""
    console = make_console(max_media_bytes=1024, max_import_bytes=1_000_000)
    banks = _bank(console)
    body = b"signal_type,value\n" + b"".join(f"md5,{_md5(i)}\n".encode() for i in range(2000))
    assert 1024 + MULTIPART_SLACK < len(body) < 1_000_000  # over the media size, with its slack
    files = {"file": ("list.csv", body, "text/csv")}
    lead = console.signed_in("leo", "lead")
    sent = lead.post(
        "/console/banks/demo/import", files=files, data={"csrf_token": console.csrf(lead)}
    )
    assert sent.status_code == 303, sent.text
    assert _wait_job(console, int(sent.headers["location"].rsplit("/", 1)[1])) == "succeeded"
    assert sum(banks.get_bank("demo").entry_counts.values()) == 2000
    reviewer = console.signed_in("rita", "reviewer")
    refused = reviewer.post(
        "/console/banks/demo/import", files=files, data={"csrf_token": console.csrf(reviewer)}
    )
    assert refused.status_code in (403, 413)  # the role check or the body guard, first
    assert len(console.app.state.import_jobs.jobs.list_jobs(bank="demo")) == 1
    anonymous = console.client().post(
        "/console/banks/demo/import",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert anonymous.status_code == 413  # refused by its declared length, body unread
    assert "max_media_bytes" in anonymous.text
