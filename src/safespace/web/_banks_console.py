"""Bank management in the console (issue 11): a bank's page with entry search and paging,
where its entries came from, one entry's provenance, and for leads and admins adding one
entry, withdrawing one (confirmed, with a reason), uploading a hash list as an import job,
and downloading the bank in each export format.

Every change goes through the services the API uses: :class:`~safespace.banks.BankService`
(``add_entries``, ``remove_entries``, ``export_to``, audited there with ``user:NAME``) and the
import-job queue of ``POST /v1/banks/{name}/imports``; matching picks a change up at once
(this worker's matcher is refreshed, as the API does). The search is read-only; values are
normalised by the signal types' own ``normalize`` from :mod:`safespace.signals`' registry.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Annotated, Any, BinaryIO, cast
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from sqlalchemy.sql.elements import ColumnElement
from starlette.concurrency import run_in_threadpool

from safespace.api._lookups import entries_for
from safespace.api._uploads import form_bool, read_upload
from safespace.banks import EntryInfo
from safespace.banks._bulk import pairs_condition, stored_pairs
from safespace.banks.formats import FORMATS, HashRecord
from safespace.errors import InvalidInput, InvalidSignal, NotFound, SafeSpaceError
from safespace.reports._audit import user_actor
from safespace.reports._item_context import entry_provenance
from safespace.signals import SIGNAL_TYPES, normalize
from safespace.store import Bank, BankEntry, Database
from safespace.store._models_values import BankEntryValue
from safespace.web._console import (
    _SECURITY_HEADERS,
    ConsoleRoute,
    CsrfField,
    _banks,
    _check_post,
    _jobs,
    _need,
    _redirect,
    _render,
    _signed_in,
)

__all__ = ["ENTRIES_PER_PAGE", "router"]

router = APIRouter(prefix="/console/banks", include_in_schema=False, route_class=ConsoleRoute)

ENTRIES_PER_PAGE = 50
MAX_REASON = 1000
_MAX_NOTE = 4096
_TOP_SOURCES = 20
_SPOOL_BYTES = 8 * 1024 * 1024

BankName = Annotated[str, PathParam(min_length=1, max_length=64)]
EntryId = Annotated[int, PathParam(ge=1, le=2**63 - 1)]
Page = Annotated[int, Query(ge=1, le=1_000_000)]
SearchText = Annotated[str, Query(max_length=2048)]
FilterText = Annotated[str, Query(max_length=256)]


def _db(request: Request) -> Database:
    db = request.app.state.safespace.db
    assert isinstance(db, Database)
    return db


def _refresh_matcher(request: Request) -> None:
    """This worker matches the change at once (other workers follow the change log)."""
    request.app.state.safespace.matcher.refresh_now()


def _bank_url(name: str, **query: Any) -> str:
    wanted = {k: v for k, v in query.items() if v not in (None, "")}
    tail = f"?{urlencode(wanted)}" if wanted else ""
    return f"/console/banks/{quote(name, safe='')}{tail}"


def _signal_names() -> list[str]:
    return sorted(SIGNAL_TYPES)


# --- search -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Search:
    """The bank page's filters, as typed (kept in the page's GET parameters)."""

    value: str = ""
    signal_type: str = ""
    source: str = ""
    category: str = ""
    note: str = ""

    @property
    def active(self) -> bool:
        return any((self.value, self.signal_type, self.source, self.category, self.note))

    def query(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


def _value_pairs(search: Search) -> list[tuple[str, str]]:
    """The (signal type, canonical value) pairs the typed value may be: each type's own
    normalisation; with a type chosen, that type's only (its refusal is the answer)."""
    value = search.value.strip()
    if search.signal_type:
        return [normalize(search.signal_type, value)]
    pairs = []
    for name in _signal_names():
        try:
            pairs.append(normalize(name, value))
        except InvalidSignal:
            continue
    if not pairs:
        raise InvalidInput(f"no signal type accepts the value {value!r}")
    return sorted(set(pairs))


def _conditions(search: Search, bank_id: int) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [BankEntry.bank_id == bank_id]
    if search.signal_type:
        kind = SIGNAL_TYPES.get(search.signal_type)
        if kind is None:
            raise InvalidInput(f"unknown signal type {search.signal_type!r}")
        where.append(BankEntry.signal_type == kind.name)
    if search.value.strip():
        stored = stored_pairs(_value_pairs(search))  # a digest-stored type keeps a digest
        where.append(pairs_condition(stored))
    for column, text in ((BankEntry.source, search.source), (BankEntry.category, search.category)):
        if text.strip():
            where.append(func.lower(column) == text.strip().lower())
    if search.note.strip():
        where.append(
            func.lower(BankEntry.note).contains(search.note.strip().lower(), autoescape=True)
        )
    return where


def search_entries(
    db: Database, bank: str, search: Search, *, offset: int, limit: int
) -> tuple[int, list[EntryInfo]]:
    """How many entries of ``bank`` the filters find, and one page of them in id order."""
    with db.session() as s:
        bank_id = s.scalar(select(Bank.id).where(Bank.name == bank))
        if bank_id is None:
            raise NotFound(f"no bank named {bank!r}")
        where = _conditions(search, bank_id)
        total = int(s.scalar(select(func.count()).select_from(BankEntry).where(*where)) or 0)
        e, whole = BankEntry, BankEntryValue
        rows = s.execute(
            select(e, func.coalesce(whole.value, e.value))
            .outerjoin(whole, whole.entry_id == e.id)
            .where(*where)
            .order_by(e.id)
            .offset(offset)
            .limit(limit)
        )
        found = [
            EntryInfo(
                x.id,
                bank,
                x.signal_type,
                value,
                x.enabled,
                x.source,
                x.category,
                x.note,
                x.added_at,
                dict(x.extra or {}),
                x.created_at,
            )
            for x, value in rows
        ]
    return total, found


def _sources(db: Database, bank: str) -> list[tuple[str | None, int]]:
    """The bank's entries counted by source list, the largest first."""
    with db.session() as s:
        rows = s.execute(
            select(BankEntry.source, func.count())
            .join(Bank, Bank.id == BankEntry.bank_id)
            .where(Bank.name == bank)
            .group_by(BankEntry.source)
            .order_by(func.count().desc(), BankEntry.source)
            .limit(_TOP_SOURCES)
        )
        return [(src, int(n)) for src, n in rows]


# --- the bank page --------------------------------------------------------------------------


@router.get("/{name}")
def bank_page(
    request: Request,
    name: BankName,
    page: Page = 1,
    value: SearchText = "",
    signal_type: FilterText = "",
    source: FilterText = "",
    category: FilterText = "",
    note: FilterText = "",
    withdrawn: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    session = _signed_in(request)
    banks = _banks(request)
    bank = banks.get_bank(name)
    search = Search(value, signal_type, source, category, note)
    total, entries = search_entries(
        _db(request), name, search, offset=(page - 1) * ENTRIES_PER_PAGE, limit=ENTRIES_PER_PAGE
    )
    pages = max(1, math.ceil(total / ENTRIES_PER_PAGE))
    return _render(
        request,
        "bank.html",
        session=session,
        title=f"Bank {bank.name}",
        bank=bank,
        entries=entries,
        page=page,
        pages=pages,
        total=total,
        search=search,
        page_url=_bank_url(name, **search.query()),
        signal_types=_signal_names(),
        export_formats=_export_formats(),
        sources=_sources(_db(request), name),
        jobs=_jobs(request).list_jobs(limit=10, bank=name),
        notice=f"Entry {withdrawn} was withdrawn: it no longer matches." if withdrawn else None,
    )


def _export_formats() -> list[tuple[str, str]]:
    return [(f.name, f.description) for f in FORMATS.values()]


# --- one entry: provenance, add, withdraw -----------------------------------------------------


def _entry_in_bank(request: Request, name: str, entry_id: int) -> EntryInfo:
    """The entry, its value whole (a digest-stored type's column holds a digest)."""
    entry = _banks(request).get_entry(entry_id)
    if entry.bank != name:
        raise NotFound(f"bank {name!r} has no entry {entry_id}")
    with _db(request).session() as s:
        whole = s.get(BankEntryValue, entry.id)
        if whole is not None:
            entry = replace(entry, value=whole.value)
    return entry


@dataclass(frozen=True)
class EntryForm:
    signal_type: str = ""
    value: str = ""
    source: str = ""
    category: str = ""
    note: str = ""


def _entry_form(
    request: Request, name: str, form: EntryForm, *, error: str = "", status: int = 200
) -> Response:
    session = _signed_in(request)
    return _render(
        request,
        "banks/add_entry.html",
        status=status,
        session=session,
        title=f"Add an entry to {name}",
        bank=_banks(request).get_bank(name),
        form=form,
        error=error,
        signal_types=_signal_names(),
    )


@router.get("/{name}/entries/new")
def add_entry_page(request: Request, name: BankName) -> Response:
    _need(_signed_in(request), "lead")
    return _entry_form(request, name, EntryForm())


Text256 = Annotated[str, Form(max_length=256)]


@router.post("/{name}/entries")
def add_entry(
    request: Request,
    name: BankName,
    signal_type: Text256 = "",
    value: Annotated[str, Form(max_length=8192)] = "",
    source: Text256 = "",
    category: Text256 = "",
    note: Annotated[str, Form(max_length=_MAX_NOTE)] = "",
    csrf_token: CsrfField = None,
) -> Response:
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    _need(session, "lead")
    banks = _banks(request)
    banks.get_bank(name)
    typed = EntryForm(signal_type, value, source, category, note)
    if signal_type not in SIGNAL_TYPES:
        return _entry_form(request, name, typed, error="Choose a signal type.", status=400)
    if not value.strip():
        return _entry_form(request, name, typed, error="Enter the value to add.", status=400)
    try:
        kind, canonical = normalize(signal_type, value.strip())
    except InvalidSignal as exc:
        return _entry_form(request, name, typed, error=exc.message, status=400)
    record = HashRecord(
        kind,
        canonical,
        source=source.strip() or None,
        category=category.strip() or None,
        note=note.strip() or None,
    )
    try:
        result = banks.add_entries(name, [record], actor=user_actor(session.user.name))
    except InvalidSignal as exc:
        return _entry_form(request, name, typed, error=exc.message, status=400)
    _refresh_matcher(request)
    found = entries_for(_db(request), name, [(kind, canonical)])
    if not found:  # withdrawn between the add and this look-up
        return _redirect(_bank_url(name))
    query = "added=1" if result.added else "duplicate=1"
    return _redirect(f"{_bank_url(name)}/entries/{found[0].id}?{query}")


@router.get("/{name}/entries/{entry_id}")
def entry_page(
    request: Request,
    name: BankName,
    entry_id: EntryId,
    added: Annotated[int, Query(ge=0, le=1)] = 0,
    duplicate: Annotated[int, Query(ge=0, le=1)] = 0,
) -> Response:
    session = _signed_in(request)
    entry = _entry_in_bank(request, name, entry_id)
    notice = None
    if added:
        notice = "The entry was added: it matches from now on."
    elif duplicate:
        notice = "The bank already had this value: nothing was added. This is that entry."
    return _render(
        request,
        "banks/entry.html",
        session=session,
        title=f"Entry {entry.id} of {name}",
        bank=_banks(request).get_bank(name),
        entry=entry,
        provenance=entry_provenance(_db(request), entry.id),
        notice=notice,
    )


def _withdraw_form(
    request: Request, name: str, entry: EntryInfo, *, reason: str = "", error: str = "",
    status: int = 200,
) -> Response:  # fmt: skip
    return _render(
        request,
        "banks/withdraw.html",
        status=status,
        session=_signed_in(request),
        title=f"Withdraw entry {entry.id}",
        bank=_banks(request).get_bank(name),
        entry=entry,
        reason=reason,
        error=error,
        max_reason=MAX_REASON,
    )


@router.get("/{name}/entries/{entry_id}/withdraw")
def withdraw_page(request: Request, name: BankName, entry_id: EntryId) -> Response:
    _need(_signed_in(request), "lead")
    return _withdraw_form(request, name, _entry_in_bank(request, name, entry_id))


@router.post("/{name}/entries/{entry_id}/withdraw")
def withdraw_entry(
    request: Request,
    name: BankName,
    entry_id: EntryId,
    reason: Annotated[str, Form(max_length=4 * MAX_REASON)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
    csrf_token: CsrfField = None,
) -> Response:
    session = _signed_in(request)
    _check_post(request, session.csrf_token, csrf_token)
    _need(session, "lead")
    entry = _entry_in_bank(request, name, entry_id)
    reason = reason.strip()
    error = ""
    if not reason:
        error = "Say why this entry is withdrawn: the reason is kept in the audit log."
    elif len(reason) > MAX_REASON:
        error = f"The reason is {len(reason)} characters; at most {MAX_REASON}."
    elif confirm != "yes":
        error = "Tick 'Yes, withdraw this entry' to confirm: nothing was changed."
    if error:
        return _withdraw_form(request, name, entry, reason=reason, error=error, status=400)
    actor = user_actor(session.user.name)
    _banks(request).remove_entries([entry.id], actor=actor, reason=reason)
    _refresh_matcher(request)
    return _redirect(_bank_url(name, withdrawn=entry.id))


# --- imports and exports ----------------------------------------------------------------------


def _import_form(
    request: Request, name: str, *, fmt: str = "", skip_invalid: bool = False, error: str = "",
    status: int = 200,
) -> Response:  # fmt: skip
    settings = request.app.state.safespace.settings
    return _render(
        request,
        "banks/import.html",
        status=status,
        session=_signed_in(request),
        title=f"Import into {name}",
        bank=_banks(request).get_bank(name),
        formats=[(f.name, f.description) for f in FORMATS.values()],
        chosen=fmt,
        skip_invalid=skip_invalid,
        error=error,
        max_bytes=settings.max_import_bytes,
    )


@router.get("/{name}/import")
def import_page(request: Request, name: BankName) -> Response:
    _need(_signed_in(request), "lead")
    return _import_form(request, name)


@router.post("/{name}/import")
async def submit_import(request: Request, name: BankName) -> Response:
    """The job ``POST /v1/banks/{name}/imports`` queues, then its page."""
    session = _signed_in(request)
    _need(session, "lead")
    _banks(request).get_bank(name)
    upload = await read_upload(request, allowed={"format", "skip_invalid", "csrf_token"})
    _check_post(request, session.csrf_token, upload.get("csrf_token"))
    fmt = (upload.get("format") or "").strip().lower()
    skip = form_bool(upload.get("skip_invalid"), "skip_invalid")
    limit = request.app.state.safespace.settings.max_import_bytes
    error = ""
    if fmt and fmt not in FORMATS:
        error = f"SafeSpace cannot read the format {fmt!r}. Choose one of the list."
    elif not upload.data:
        error = "Choose a hash-list file to upload: none was sent, or it was empty."
    elif len(upload.data) > limit:
        error = f"The file is {len(upload.data):,} bytes, over the limit of {limit:,} bytes."
    if error:
        return _import_form(request, name, fmt=fmt, skip_invalid=skip, error=error, status=400)
    runtime = request.app.state.import_jobs
    try:
        job = await run_in_threadpool(
            lambda: _jobs(request).submit(
                name, upload.data, fmt=fmt or None, filename=upload.filename, skip_invalid=skip
            )
        )
    except SafeSpaceError as exc:  # an undetectable format, a whole-file problem
        return _import_form(
            request, name, fmt=fmt, skip_invalid=skip, error=exc.message, status=exc.status
        )
    runtime.runner.poke()
    return _redirect(f"/console/imports/{job.id}")


def _chunks(spool: Any) -> Iterator[bytes]:
    try:
        spool.seek(0)
        while chunk := spool.read(64 * 1024):
            yield chunk
    finally:
        spool.close()


@router.get("/{name}/export/{fmt}")
def export_bank(
    request: Request, name: BankName, fmt: Annotated[str, PathParam(max_length=32)]
) -> Response:
    """The bank's enabled entries in one format, as a download (leads and admins: a whole
    list leaves the server). Written by the service's exporter into a spool that stays in
    memory up to 8 MiB and goes to a temporary file beyond, then streamed."""
    _need(_signed_in(request), "lead")
    if fmt not in FORMATS:
        raise InvalidInput(f"unknown export format {fmt!r} (known: {', '.join(FORMATS)})")
    banks = _banks(request)
    banks.get_bank(name)
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 (closed by _chunks)
    try:
        banks.export_to(name, fmt, cast(BinaryIO, spool))
    except BaseException:
        spool.close()
        raise
    extension = (FORMATS[fmt].extensions or (".txt",))[0]
    headers = {
        **_SECURITY_HEADERS,
        "Content-Disposition": f'attachment; filename="{name}-{fmt}{extension}"',
    }
    return StreamingResponse(_chunks(spool), media_type="application/octet-stream", headers=headers)
