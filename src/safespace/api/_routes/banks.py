"""``/v1/banks``: create, read, change and delete banks; add, list and import entries.

Scope ``curate``. Every write refreshes this worker's matcher before it answers, so a client
that adds a hash and then matches through the same worker sees it at once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from safespace.api._deps import CurateKey, Imports, State
from safespace.api._lookups import entries_for
from safespace.api._problems import MAX_LISTED_REJECTS, PROBLEM_RESPONSES
from safespace.api._schemas import BankCreate, BankUpdate, EntriesAdd, bank_thresholds
from safespace.api._state import ServiceState
from safespace.api._uploads import form_bool, is_multipart, json_body, openapi_body, read_upload
from safespace.banks.formats import FORMATS, HashRecord
from safespace.errors import RequestTooLarge
from safespace.reports._audit import api_key_actor
from safespace.signals import SIGNAL_TYPES, get_signal_type, hash_bytes, normalize

_FORMAT_HELP = (
    f"{', '.join(FORMATS)}; default: from the file name's extension (a line list) or content."
)

__all__ = ["router"]

router = APIRouter(prefix="/v1/banks", tags=["banks"], responses=PROBLEM_RESPONSES)
_MAX_OFFSET = 2**62
_META_FIELDS = {"source": "Where the hash comes from.", "category": "A label.", "note": "Text."}


@router.get("", summary="List banks with their sizes")
def list_banks(state: State, key: CurateKey) -> dict[str, Any]:
    return {"banks": [b.to_dict() for b in state.banks.list_banks()]}


@router.post("", status_code=201, summary="Create a bank")
def create_bank(
    body: BankCreate, state: State, key: CurateKey, response: Response
) -> dict[str, Any]:
    bank = state.banks.create_bank(
        body.name,
        kind=body.kind,
        thresholds=bank_thresholds(body),
        description=body.description,
        actor=api_key_actor(key.id),
    )
    state.matcher.refresh_now()
    response.headers["Location"] = f"/v1/banks/{bank.name}"
    return bank.to_dict()


@router.get("/{name}", summary="One bank")
def get_bank(name: str, state: State, key: CurateKey) -> dict[str, Any]:
    return state.banks.get_bank(name).to_dict()


@router.patch("/{name}", summary="Change a bank's thresholds, kind, description or enabled flag")
def update_bank(name: str, body: BankUpdate, state: State, key: CurateKey) -> dict[str, Any]:
    bank = state.banks.update_bank(
        name,
        thresholds=bank_thresholds(body),
        kind=body.kind,
        enabled=body.enabled,
        description=body.description,
        actor=api_key_actor(key.id),
    )
    state.matcher.refresh_now()
    return bank.to_dict()


@router.delete("/{name}", status_code=204, summary="Delete a bank and all its entries")
def delete_bank(name: str, state: State, key: CurateKey) -> Response:
    state.banks.delete_bank(name, actor=api_key_actor(key.id))
    state.matcher.refresh_now()
    return Response(status_code=204)


# --- entries ---------------------------------------------------------------------------


def _add(state: ServiceState, bank: str, records: list[HashRecord], actor: str) -> dict[str, Any]:
    result = state.banks.add_entries(bank, records, actor=actor)
    state.matcher.refresh_now()
    pairs = [normalize(r.signal_type, r.value) for r in records]  # valid: add_entries checked
    return {
        "bank": bank,
        "added": result.added,
        "duplicates": result.duplicates,
        "entries": [e.to_dict() for e in entries_for(state.db, bank, pairs)],
    }


def _add_file(
    state: ServiceState, bank: str, data: bytes, meta: dict[str, str | None], actor: str
) -> Any:
    state.banks.get_bank(bank)  # an unknown bank fails before the work of hashing
    signals = hash_bytes(data, limits=state.limits)
    records: list[HashRecord] = []
    skipped: list[dict[str, str]] = []
    fields: dict[str, Any] = {k: v for k, v in meta.items() if v is not None}
    minimum = state.settings.min_pdq_quality
    for kind in SIGNAL_TYPES.values():  # every type the file gives
        value = kind.compute(signals)
        if value is None:
            continue
        quality = kind.quality(signals)
        if kind.quality_field is not None and (quality is None or quality < minimum):
            reason = f"{kind.name.upper()} quality {quality} is below {minimum}"
            skipped.append({"signal_type": kind.name, "reason": reason})
            continue
        records.append(HashRecord(kind.name, value, **fields))
    out = _add(state, bank, records, actor)
    return {**out, "signals": signals.as_dict(), "skipped": skipped}


@router.post(
    "/{name}/entries",
    status_code=201,
    summary="Add hashes (JSON), or the hashes of an uploaded file",
    openapi_extra=openapi_body(json_model=EntriesAdd, form=_META_FIELDS),
)
async def add_entries(name: str, request: Request, state: State, key: CurateKey) -> dict[str, Any]:
    """JSON adds the listed hashes (all or nothing: one malformed hash refuses the batch).
    A file upload adds every signal it gives (PDQ unless low quality, MD5, SHA-256)."""
    if is_multipart(request):
        upload = await read_upload(request, allowed=set(_META_FIELDS))
        meta = {k: upload.get(k) for k in _META_FIELDS}
        result: dict[str, Any] = await run_in_threadpool(
            _add_file, state, name, upload.data, meta, api_key_actor(key.id)
        )
        return result
    body = await json_body(request, EntriesAdd)
    records = [
        HashRecord(e.signal_type, e.value, e.source, e.category, e.note, e.added_at, dict(e.extra))
        for e in body.entries
    ]
    return await run_in_threadpool(_add, state, name, records, api_key_actor(key.id))


@router.get("/{name}/entries", summary="Page through a bank's entries")
def list_entries(
    name: str,
    state: State,
    key: CurateKey,
    offset: Annotated[int, Query(ge=0, le=_MAX_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    signal_type: Annotated[str | None, Query(description="pdq, md5 or sha256")] = None,
) -> dict[str, Any]:
    kind = get_signal_type(signal_type).name if signal_type is not None else None
    bank = state.banks.get_bank(name)
    total = bank.entry_count if kind is None else bank.entry_counts.get(kind, 0)
    entries = state.banks.list_entries(name, offset=offset, limit=limit, signal_type=kind)
    return {
        "bank": name,
        "total": total,
        "offset": offset,
        "limit": limit,
        "entries": [e.to_dict() for e in entries],
    }


def _import(
    state: ServiceState,
    bank: str,
    data: bytes,
    fmt: str | None,
    name: str | None,
    skip: bool,
    actor: str,
) -> dict[str, Any]:
    result = state.banks.import_data(
        bank, data, fmt=fmt, filename=name, skip_invalid=skip, actor=actor
    )
    state.matcher.refresh_now()
    return {
        "bank": bank,
        **result.to_dict(),
        "rejects": [
            {"line": r.line, "text": r.text, "reason": r.reason}
            for r in result.rejects[:MAX_LISTED_REJECTS]
        ],
    }


@router.post(
    "/{name}/import",
    summary="Import a hash-list file (HMA, CSV, StopNCII, NCMEC)",
    openapi_extra=openapi_body(
        form={
            "format": _FORMAT_HELP,
            "skip_invalid": "true: import the valid lines, list the rejected ones. "
            "Default: one bad line refuses the whole file (422, with every reject).",
        }
    ),
)
async def import_list(name: str, request: Request, state: State, key: CurateKey) -> dict[str, Any]:
    """Synchronous and all-or-nothing: on refusal nothing is written."""
    upload = await read_upload(request, allowed={"format", "skip_invalid"})
    limit = state.settings.max_import_bytes
    if len(upload.data) > limit:
        raise RequestTooLarge(f"file is over the limit of {limit} bytes (max_import_bytes)")
    skip = form_bool(upload.get("skip_invalid"), "skip_invalid")
    fmt = upload.get("format") or None
    result: dict[str, Any] = await run_in_threadpool(
        _import, state, name, upload.data, fmt, upload.filename, skip, api_key_actor(key.id)
    )
    return result


@router.post(
    "/{name}/imports",
    status_code=202,
    summary="Queue an import of a hash-list file as a job",
    openapi_extra=openapi_body(
        form={
            "format": _FORMAT_HELP,
            "skip_invalid": "true: import the valid lines, keep the rejected ones with the job. "
            "Default: one bad line fails the job and nothing is written.",
        }
    ),
)
async def submit_import(
    name: str, request: Request, state: State, runtime: Imports, key: CurateKey, response: Response
) -> dict[str, Any]:
    """202 with the job (``Location: /v1/import-jobs/{id}``); poll it for the result."""
    upload = await read_upload(request, allowed={"format", "skip_invalid"})
    limit = state.settings.max_import_bytes
    if len(upload.data) > limit:
        raise RequestTooLarge(f"file is over the limit of {limit} bytes (max_import_bytes)")
    skip = form_bool(upload.get("skip_invalid"), "skip_invalid")
    info = await run_in_threadpool(
        lambda: runtime.jobs.submit(
            name,
            upload.data,
            fmt=upload.get("format") or None,
            filename=upload.filename,
            skip_invalid=skip,
            api_key_id=key.id,
        )
    )
    runtime.runner.poke()
    response.headers["Location"] = f"/v1/import-jobs/{info.id}"
    return info.to_dict()
