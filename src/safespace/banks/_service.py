"""The bank service: every change to banks and their entries goes through here.

Each operation is one write transaction that also appends to the change log, so a matcher
in another process can follow with :meth:`safespace.banks._matching.Matcher.refresh`, and
to the audit log (:mod:`safespace.reports._audit`), so every change says who made it. The
shell passes ``actor`` (``user:NAME``, ``api-key:ID``, ``cli:OS-USER``); work nobody asked
for is ``system``. A change that fails writes neither; an audit record that cannot be
written undoes the change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from sqlalchemy import (
    Table,
    delete,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Session

from safespace.banks import _bulk as bulk
from safespace.banks import formats
from safespace.banks._info import AddResult, BankInfo, EntryInfo, ImportResult, bank_thresholds
from safespace.banks.formats import HashRecord
from safespace.errors import (
    BankExists,
    BankNotFound,
    ImportFormatError,
    InvalidInput,
    InvalidSignal,
    NotFound,
    Reject,
)
from safespace.signals import check_thresholds, effective_thresholds, get_signal_type, normalize
from safespace.store import BANK_KINDS, Bank, BankEntry, BankThreshold, Change, Database
from safespace.store._models import utcnow
from safespace.store._models_values import BankEntryValue

if TYPE_CHECKING:
    from safespace.reports._audit import AuditAction

__all__ = ["SYSTEM_ACTOR", "BankService", "audit_change", "validate_bank_name"]

SYSTEM_ACTOR = "system"  # the same as safespace.reports._audit.SYSTEM_ACTOR

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_MAX_TEXT = 256  # source and category columns
_MAX_DESCRIPTION = 4096
_MAX_PAGE = 10_000

_MAX_LISTED_IDS = 1000  # entry ids named in one audit record; the count is always there

_entries = cast(Table, BankEntry.__table__)
_changes = cast(Table, Change.__table__)


def audit_change(
    s: Session, actor: str, action: AuditAction, bank: str, details: dict[str, Any]
) -> None:
    """Append the audit record of a bank change in the change's own transaction ``s``."""
    from safespace.reports import _audit as audit  # here: safespace.reports imports this package

    audit.append(s, actor, action, f"bank:{bank}", details)


def validate_bank_name(name: str) -> str:
    """Bank names appear in URLs, file names and logs: keep them plain."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(
            f"bad bank name {name!r}: 1-64 letters, digits, '-', '_' or '.', "
            "starting with a letter or digit"
        )
    return name


def _check_kind(kind: str) -> str:
    if kind not in BANK_KINDS:
        raise InvalidInput(f"bad bank kind {kind!r}: use one of {', '.join(BANK_KINDS)}")
    return kind


def _thresholds(
    thresholds: Mapping[str, object] | None, flat: Mapping[str, object]
) -> dict[str, dict[str, int]]:
    """Checked thresholds from ``{type: {name: value}}`` and flat ``<type>_<name>=value``."""
    out = check_thresholds(thresholds or {})
    for kind, values in check_thresholds(flat).items():
        out.setdefault(kind, {}).update(values)
    return out


def flat_thresholds(thresholds: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    """``{"<type>_<name>": value}``: the flat spelling, as audit records show changes."""
    return {
        f"{kind}_{name}": v for kind, values in thresholds.items() for name, v in values.items()
    }


def _check_description(text: str) -> str:
    if len(text) > _MAX_DESCRIPTION:
        raise InvalidInput(f"description too long ({len(text)} > {_MAX_DESCRIPTION} characters)")
    return text


def check_record(record: HashRecord) -> HashRecord | str:
    """The record in canonical form, or why it cannot be stored (no exception: per line)."""
    try:
        kind, value = normalize(record.signal_type, record.value)
    except InvalidSignal as exc:
        return exc.message
    for label, text in (("source", record.source), ("category", record.category)):
        if text is not None and len(text) > _MAX_TEXT:
            return f"{label} longer than {_MAX_TEXT} characters"
    if kind == record.signal_type and value == record.value:
        return record
    return HashRecord(
        kind, value, record.source, record.category, record.note, record.added_at, record.extra
    )


@dataclass(frozen=True)
class PreparedImport:
    """A parsed and checked hash list, ready to write in one transaction."""

    good: list[HashRecord]
    rejects: list[Reject]
    withdrawn: list[tuple[str, str]]  # (signal type, value) the list's owner withdrew


def prepare_import(
    data: bytes, *, fmt: str | None, filename: str | None, skip_invalid: bool
) -> PreparedImport:
    """Parse and check every line (CPU work, outside any transaction).

    Raises :class:`ImportFormatError` listing every rejected line when ``skip_invalid`` is
    off and any line is bad. Withdrawn hashes never come back in with the same list.
    """
    parsed = formats.parse(data, fmt=fmt, filename=filename)
    rejects = list(parsed.rejects)
    good: list[HashRecord] = []
    for line, record in parsed.records:
        result = check_record(record)
        if isinstance(result, str):
            rejects.append(Reject(line, f"{record.signal_type} {record.value}", result))
        else:
            good.append(result)
    rejects.sort(key=lambda r: r.line)
    if rejects and not skip_invalid:
        total = len(good) + len(rejects)
        raise ImportFormatError(
            f"{len(rejects)} of {total} lines rejected; nothing imported", rejects
        )
    withdrawn: set[tuple[str, str]] = set()
    for w in parsed.withdrawn:
        checked = None if w.record is None else check_record(w.record)
        if isinstance(checked, HashRecord):
            withdrawn.add((checked.signal_type, checked.value))
    if withdrawn:
        good = [r for r in good if (r.signal_type, r.value) not in withdrawn]
    return PreparedImport(good, rejects, sorted(withdrawn))


class BankService:
    """Banks and their entries over a :class:`~safespace.store.Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- banks ---------------------------------------------------------------------------

    def create_bank(
        self,
        name: str,
        *,
        kind: str = "normal",
        thresholds: Mapping[str, object] | None = None,
        description: str = "",
        enabled: bool = True,
        actor: str = SYSTEM_ACTOR,
        **flat: int,
    ) -> BankInfo:
        """Create a bank. ``thresholds`` per signal type (``{type: {name: value}}``) or flat
        keywords (``pdq_distance=20``); every threshold not given is stored at its default,
        so a later change of a default does not change existing banks."""
        validate_bank_name(name)
        given = _thresholds(thresholds, flat)
        values = effective_thresholds(given)
        bank = Bank(
            name=name,
            kind=_check_kind(kind),
            enabled=bool(enabled),
            description=_check_description(description),
            thresholds=[
                BankThreshold(signal_type=t, name=n, value=v)
                for t, named in values.items()
                for n, v in named.items()
            ],
        )
        with self.db.transaction() as s:
            if s.scalar(select(Bank.id).where(Bank.name == name)) is not None:
                raise BankExists(f"bank {name!r} already exists")
            s.add(bank)
            s.flush()
            _log(s, "bank-update", bank.id)
            details = {"kind": bank.kind, **flat_thresholds(values)}
            audit_change(s, actor, "bank.create", name, {**details, "enabled": bank.enabled})
            return _bank_info(bank, {})

    def list_banks(self) -> list[BankInfo]:
        with self.db.session() as s:
            counts: dict[int, dict[str, int]] = {}
            rows = s.execute(
                select(BankEntry.bank_id, BankEntry.signal_type, func.count()).group_by(
                    BankEntry.bank_id, BankEntry.signal_type
                )
            )
            for bank_id, signal_type, n in rows:
                counts.setdefault(bank_id, {})[signal_type] = n
            banks = s.scalars(select(Bank).order_by(Bank.name)).all()
            return [_bank_info(b, counts.get(b.id, {})) for b in banks]

    def get_bank(self, name: str) -> BankInfo:
        with self.db.session() as s:
            bank = _find_bank(s, name)
            return _bank_info(bank, _counts(s, bank.id))

    def update_bank(
        self,
        name: str,
        *,
        thresholds: Mapping[str, object] | None = None,
        kind: str | None = None,
        enabled: bool | None = None,
        description: str | None = None,
        actor: str = SYSTEM_ACTOR,
        **flat: int | None,
    ) -> BankInfo:
        """Change what is given; a change writes one ``bank.update`` audit record naming each
        changed field as ``[old, new]`` (a threshold as ``<type>_<name>``, a description only
        as ``"changed"``). Thresholds as in :meth:`create_bank`."""
        given = _thresholds(thresholds, {k: v for k, v in flat.items() if v is not None})
        with self.db.transaction() as s:
            bank = _find_bank(s, name)
            changes: dict[str, Any] = {}
            old = bank_thresholds(bank)
            rows = {(r.signal_type, r.name): r for r in bank.thresholds}
            for signal_type, named in given.items():
                for key, value in named.items():
                    if old[signal_type][key] == value:
                        continue
                    changes[f"{signal_type}_{key}"] = [old[signal_type][key], value]
                    row = rows.get((signal_type, key))
                    if row is None:
                        bank.thresholds.append(
                            BankThreshold(signal_type=signal_type, name=key, value=value)
                        )
                    else:
                        row.value = value
            if kind is not None and bank.kind != _check_kind(kind):
                changes["kind"] = [bank.kind, kind]
                bank.kind = kind
            if enabled is not None and bank.enabled != bool(enabled):
                changes["enabled"] = [bank.enabled, bool(enabled)]
                bank.enabled = bool(enabled)
            if description is not None and bank.description != _check_description(description):
                changes["description"] = "changed"
                bank.description = description
            if changes:
                bank.updated_at = utcnow()
                s.flush()
                _log(s, "bank-update", bank.id)
                audit_change(s, actor, "bank.update", name, {"changes": changes})
            return _bank_info(bank, _counts(s, bank.id))

    def delete_bank(self, name: str, *, actor: str = SYSTEM_ACTOR) -> None:
        """Delete a bank and (by database cascade) all its entries."""
        with self.db.transaction() as s:
            bank = _find_bank(s, name)
            entries = sum(_counts(s, bank.id).values())
            s.execute(delete(Bank).where(Bank.id == bank.id))
            _log(s, "bank-delete", bank.id)
            audit_change(s, actor, "bank.delete", name, {"kind": bank.kind, "entries": entries})

    # --- entries -------------------------------------------------------------------------

    def add_entries(
        self, bank: str, records: Iterable[HashRecord], *, actor: str = SYSTEM_ACTOR
    ) -> AddResult:
        """Add hashes, skipping ones the bank has; raises InvalidSignal before writing anything.

        Adding anything writes one ``bank.entries.add`` audit record (only duplicates: none).
        """
        checked: list[HashRecord] = []
        for record in records:
            result = check_record(record)
            if isinstance(result, str):
                raise InvalidSignal(f"{record.signal_type} {record.value!r}: {result}")
            checked.append(result)
        with self.db.transaction() as s:
            added = bulk.add_records(s, _find_bank(s, bank).id, checked)
            if added.added:
                details = {"added": added.added, "duplicates": added.duplicates}
                audit_change(s, actor, "bank.entries.add", bank, details)
            return added

    def import_data(
        self,
        bank: str,
        data: bytes,
        *,
        fmt: str | None = None,
        filename: str | None = None,
        skip_invalid: bool = False,
        actor: str = SYSTEM_ACTOR,
    ) -> ImportResult:
        """Import a hash-list file in one transaction: all or nothing unless ``skip_invalid``.

        An applied import writes one ``bank.import`` audit record with its counts.
        """
        with self.db.session() as s:
            _find_bank(s, bank)  # fail fast, before parsing a large file
        prepared = prepare_import(data, fmt=fmt, filename=filename, skip_invalid=skip_invalid)
        with self.db.transaction() as s:
            bank_id = _find_bank(s, bank).id
            added = bulk.add_records(s, bank_id, prepared.good)
            removed = bulk.remove_values(s, bank_id, prepared.withdrawn)
            result = ImportResult(added.added, added.duplicates, tuple(prepared.rejects), removed)
            audit_change(s, actor, "bank.import", bank, import_details(result))
        return result

    def export_data(self, bank: str, fmt: str, *, include_disabled: bool = False) -> bytes:
        buf = BytesIO()
        self.export_to(bank, fmt, buf, include_disabled=include_disabled)
        return buf.getvalue()

    def export_to(
        self, bank: str, fmt: str, stream: BinaryIO, *, include_disabled: bool = False
    ) -> None:
        """Stream a bank's entries (enabled ones unless told) in a hash-list format."""
        writer = formats.get_format(fmt)
        with self.db.session() as s:
            b = _find_bank(s, bank)
            e, whole = BankEntry, BankEntryValue  # a digest-stored value is read whole
            value = func.coalesce(whole.value, e.value)
            query = (
                select(e.signal_type, value, e.source, e.category, e.note, e.added_at, e.extra)
                .outerjoin(whole, whole.entry_id == e.id)
                .where(e.bank_id == b.id)
            )
            if not include_disabled:
                query = query.where(e.enabled.is_(True))
            rows = s.execute(query.order_by(e.id).execution_options(yield_per=bulk.CHUNK))
            records = (
                HashRecord(t, v, src, cat, note, added, {str(k): str(x) for k, x in extra.items()})
                for t, v, src, cat, note, added, extra in rows
            )
            writer.write_to(records, stream)

    def list_entries(
        self,
        bank: str,
        *,
        offset: int = 0,
        limit: int = 100,
        signal_type: str | None = None,
    ) -> list[EntryInfo]:
        if offset < 0 or not 1 <= limit <= _MAX_PAGE:
            raise InvalidInput(f"need offset >= 0 and limit 1..{_MAX_PAGE}")
        with self.db.session() as s:
            b = _find_bank(s, bank)
            query = select(BankEntry).where(BankEntry.bank_id == b.id)
            if signal_type is not None:
                kind = get_signal_type(signal_type).name
                query = query.where(BankEntry.signal_type == kind)
            query = query.order_by(BankEntry.id).offset(offset).limit(limit)
            return [_entry_info(e, b.name) for e in s.scalars(query)]

    def get_entry(self, entry_id: int) -> EntryInfo:
        with self.db.session() as s:
            return _entry_or_raise(s, entry_id)

    def set_entry_enabled(
        self, entry_id: int, enabled: bool, *, actor: str = SYSTEM_ACTOR
    ) -> EntryInfo:
        with self.db.transaction() as s:
            row = s.execute(
                select(BankEntry, Bank.name).join(Bank).where(BankEntry.id == entry_id)
            ).first()
            if row is None:
                raise NotFound(f"no bank entry with id {entry_id}")
            entry, bank_name = row
            if entry.enabled != bool(enabled):
                entry.enabled = bool(enabled)
                s.flush()
                _log(s, "enable" if enabled else "disable", entry.bank_id, entry.id)
                action: AuditAction = "bank.entry.enable" if enabled else "bank.entry.disable"
                audit_change(s, actor, action, bank_name, {"entry_id": entry.id})
            return _entry_info(entry, bank_name)

    def remove_entries(
        self, ids: Iterable[int], *, actor: str = SYSTEM_ACTOR, reason: str | None = None
    ) -> int:
        """Delete entries by id; ids that do not exist are ignored. Returns how many went.

        Each bank that loses entries gets one ``bank.entries.remove`` audit record (with the
        ``reason`` when one is given: the console's withdrawal asks for one).
        """
        wanted = sorted(set(ids))
        removed = 0
        with self.db.transaction() as s:
            by_bank: dict[str, list[int]] = {}
            for chunk in bulk.batched(iter(wanted), bulk.CHUNK):
                rows = s.execute(
                    select(Bank.name, BankEntry.id).join(Bank).where(BankEntry.id.in_(chunk))
                )
                for bank_name, entry_id in rows:
                    by_bank.setdefault(bank_name, []).append(int(entry_id))
                removed += bulk.delete_where(s, BankEntry.id.in_(chunk))
            for bank_name, gone in sorted(by_bank.items()):
                details: dict[str, Any] = {
                    "removed": len(gone),
                    "entry_ids": gone[:_MAX_LISTED_IDS],
                }
                if reason is not None:
                    details["reason"] = reason
                audit_change(s, actor, "bank.entries.remove", bank_name, details)
        return removed


# --- helpers -------------------------------------------------------------------------------


def import_details(result: ImportResult, **extra: Any) -> dict[str, Any]:
    """What a ``bank.import`` audit record says: the counts (never the lines themselves)."""
    counts = {
        "added": result.added,
        "duplicates": result.duplicates,
        "removed": result.removed,
        "rejected": len(result.rejects),
    }
    return {**counts, **extra}


def _log(s: Session, op: str, bank_id: int, entry_id: int | None = None) -> None:
    s.execute(insert(_changes).values(bank_id=bank_id, entry_id=entry_id, op=op, at=utcnow()))


def _find_bank(s: Session, name: str) -> Bank:
    bank = s.scalar(select(Bank).where(Bank.name == name)) if isinstance(name, str) else None
    if bank is None:
        raise BankNotFound(f"no bank named {name!r}")
    return bank


def _counts(s: Session, bank_id: int) -> dict[str, int]:
    rows = s.execute(
        select(BankEntry.signal_type, func.count())
        .where(BankEntry.bank_id == bank_id)
        .group_by(BankEntry.signal_type)
    )
    return {str(t): int(n) for t, n in rows}


def _bank_info(b: Bank, counts: dict[str, int]) -> BankInfo:
    return BankInfo(
        b.id, b.name, b.kind, bank_thresholds(b), b.enabled, b.description,
        b.created_at, b.updated_at, dict(sorted(counts.items())),
    )  # fmt: skip


def _entry_info(e: BankEntry, bank_name: str) -> EntryInfo:
    return EntryInfo(
        e.id, bank_name, e.signal_type, e.value, e.enabled, e.source, e.category, e.note,
        e.added_at, dict(e.extra or {}), e.created_at,
    )  # fmt: skip


def _entry_or_raise(s: Session, entry_id: int) -> EntryInfo:
    row = s.execute(select(BankEntry, Bank.name).join(Bank).where(BankEntry.id == entry_id)).first()
    if row is None:
        raise NotFound(f"no bank entry with id {entry_id}")
    return _entry_info(row[0], row[1])
