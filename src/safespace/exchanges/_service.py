"""Bank sources over the database: add, list, pause, remove, and fetch them.

:meth:`ExchangeService.fetch_once` applies the pages a source yields in transactions of one
or more whole pages (grouped up to 100,000 changes or one second): their entries through the
bank service's bulk path (so the change log tells every matcher), the upstream-id mapping and
the last page's checkpoint, together. A crash (kill -9 included) between transactions leaves
the last committed checkpoint, and the next fetch resumes from it: nothing lost, nothing
applied twice. A fault is recorded on the source (last error, consecutive failures) and the
next try is put off with exponential backoff.
"""

from __future__ import annotations

import builtins
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from json.encoder import encode_basestring_ascii
from typing import Any, TypeVar, cast

import httpx
from sqlalchemy import Connection, Table, delete, func, select, update
from sqlalchemy.orm import Session

from safespace._gc import gc_paused
from safespace.banks import _bulk as bulk
from safespace.banks.formats import HashRecord
from safespace.errors import (
    BankNotFound,
    Conflict,
    InvalidInput,
    SafeSpaceError,
    SourceError,
    SourceExists,
    SourceNotFound,
    StaleCheckpoint,
)
from safespace.exchanges._registry import get_source_type
from safespace.exchanges._sealing import CredentialBox
from safespace.exchanges._source import (
    FETCHED_AT,
    BankSource,
    FetchPage,
    Opinion,
    SourceEntry,
    close_pages,
)
from safespace.signals import get_signal_type
from safespace.store import Bank, BankEntry, Database
from safespace.store._models import utcnow
from safespace.store._models_exchanges import ExchangeEntry, ExchangeSource

__all__ = [
    "BACKOFF_MAX",
    "GROUP_CHANGES",
    "GROUP_SECONDS",
    "ExchangeService",
    "FetchReport",
    "SourceInfo",
    "backoff",
    "entry_exchange_extra",
]

log = logging.getLogger("safespace.exchanges")
_Item = TypeVar("_Item")

BACKOFF_MAX = timedelta(hours=6)
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")
_IN_CHUNK = 900  # ids per IN (...) (SQLite allows 999 parameters)
_STAGE = "safespace_exchange_stage"
# Changes (upserts and removals) a fetch applies in one transaction: consecutive pages are
# grouped up to this many, or for at most GROUP_SECONDS after a group's first page arrived
# (so a slow source's pages still commit about once a second). With 100,000, a peer fetch of
# 1,000,000 entries ran 1.51x as fast as with one transaction per page of 10,000 (SQLite,
# bench/bench_exchange.py, docs/exchanges.md); the entries of a group become matchable when
# it commits, a few seconds after its first page arrived at most.
GROUP_CHANGES = 100_000
GROUP_SECONDS = 1.0
_mapping = cast(Table, ExchangeEntry.__table__)


def backoff(failures: int, interval: timedelta) -> timedelta:
    """How long to wait after ``failures`` consecutive failures: doubling, at most 6 hours."""
    if failures <= 0:
        return interval
    base = min(interval, timedelta(minutes=1))
    wait: timedelta = base * (2 ** min(failures - 1, 20))
    return min(wait, BACKOFF_MAX)


@dataclass(frozen=True)
class SourceInfo:
    """A source as the API, the CLI and the console show it (never its credentials)."""

    name: str
    type: str
    bank: str
    config: dict[str, Any]
    credential_names: tuple[str, ...]
    paused: bool
    checkpoint: dict[str, Any] | None
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    consecutive_failures: int
    next_run_at: datetime | None
    interval_seconds: int
    fetched: int
    removed: int
    pages: int
    entries: int

    @property
    def status(self) -> str:
        """``paused``, ``failing`` (the last try failed), ``ok`` or ``new`` (never fetched)."""
        if self.paused:
            return "paused"
        if self.consecutive_failures:
            return "failing"
        return "ok" if self.last_success_at else "new"

    def to_dict(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.isoformat().replace("+00:00", "Z") if value else None

        return {
            "name": self.name,
            "type": self.type,
            "bank": self.bank,
            "status": self.status,
            "config": self.config,
            "credentials": list(self.credential_names),
            "paused": self.paused,
            "checkpoint": self.checkpoint,
            "last_fetch_at": when(self.last_fetch_at),
            "last_success_at": when(self.last_success_at),
            "last_error": self.last_error,
            "consecutive_failures": self.consecutive_failures,
            "next_run_at": when(self.next_run_at),
            "interval_seconds": self.interval_seconds,
            "counts": {
                "entries": self.entries,
                "fetched": self.fetched,
                "removed": self.removed,
                "pages": self.pages,
            },
        }


@dataclass
class FetchReport:
    """What one :meth:`ExchangeService.fetch_once` did."""

    source: str
    pages: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0
    restarted: bool = False  # the checkpoint was stale: fetched from the start
    error: str | None = None
    error_code: str | None = None
    added_values: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "ok": self.ok,
            "pages": self.pages,
            "added": self.added,
            "updated": self.updated,
            "removed": self.removed,
            "restarted": self.restarted,
            "error": self.error,
            "error_code": self.error_code,
        }


@dataclass
class _Applied:
    """The source's checkpoint as one fetch last saw it stored: when it began, then after each
    group it applied. A group applies only while it is still the stored one."""

    checkpoint: dict[str, Any] | None


def entry_exchange_extra(source: str, entry: SourceEntry) -> dict[str, Any]:
    """What a bank entry keeps (in ``extra``) about where it came from."""
    extra: dict[str, Any] = {
        "exchange": source,
        "upstream_id": entry.upstream_id,
        "categories": list(entry.categories),
        "opinions": {str(k): int(v) for k, v in entry.opinions.items()},
        "metadata": dict(entry.metadata),
    }
    if entry.origin is not None:  # a peer's entry: where it began, served on to others
        extra["origin"] = entry.origin
    return extra


def _check_name(name: str) -> str:
    if not (1 <= len(name) <= 64) or not set(name) <= _NAME_CHARS or name[0] in "-_.":
        raise InvalidInput(
            f"source name {name!r}: 1-64 of a-z, 0-9, '-', '_', '.', starting with a letter or "
            "digit"
        )
    return name


HttpFactory = Callable[[], httpx.Client]


def _default_http() -> httpx.Client:
    return httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0), follow_redirects=False)


class ExchangeService:
    """Bank sources over a :class:`~safespace.store.Database`.

    ``master_key`` seals credentials (``SAFESPACE_EVIDENCE_KEY``; needed only by sources that
    have credentials); ``http`` builds the HTTP client a source uses (tests pass their own);
    ``clock`` is the time (tests move it). A fetch applies its pages in groups of up to
    ``group_changes`` changes, or what arrived within ``group_seconds`` of a group's first
    page (``group_changes=1``: one transaction a page).
    """

    def __init__(
        self,
        db: Database,
        *,
        master_key: bytes | None = None,
        http: HttpFactory | None = None,
        clock: Callable[[], datetime] | None = None,
        group_changes: int = GROUP_CHANGES,
        group_seconds: float = GROUP_SECONDS,
    ) -> None:
        self.db = db
        self.box = CredentialBox(master_key)
        self._http = http or _default_http
        self._clock = clock or utcnow
        self._group = (max(1, group_changes), timedelta(seconds=group_seconds))

    # --- sources ---------------------------------------------------------------------------

    def add(
        self,
        name: str,
        *,
        type: str,
        bank: str,
        config: Mapping[str, Any] | None = None,
        credentials: Mapping[str, str] | None = None,
        interval_seconds: int = 300,
        paused: bool = False,
    ) -> SourceInfo:
        """Add a source filling ``bank`` (which must exist); settings checked by its type."""
        _check_name(name)
        cls = get_source_type(type)
        parsed = cls.parse_config(config or {})
        creds = dict(credentials or {})
        missing = [c for c in cls.credential_names if not creds.get(c)]
        if missing:
            raise InvalidInput(f"a {type} source needs credentials: {', '.join(missing)}")
        unknown = sorted(set(creds) - set(cls.credential_names))
        if unknown:
            raise InvalidInput(f"a {type} source takes no credential {', '.join(unknown)}")
        if not 1 <= interval_seconds <= 7 * 86400:
            raise InvalidInput("interval_seconds must be 1..604800")
        sealed = self.box.seal(name, creds) if creds else None
        with self.db.transaction() as s:
            bank_id = s.scalar(select(Bank.id).where(Bank.name == bank))
            if bank_id is None:
                raise BankNotFound(f"no bank named {bank!r}")
            if s.scalar(select(ExchangeSource.id).where(ExchangeSource.name == name)):
                raise SourceExists(f"source {name!r} already exists")
            row = ExchangeSource(
                name=name,
                type=type,
                bank_id=bank_id,
                config=parsed.model_dump(mode="json"),
                credentials=sealed,
                credentials_key_id=self.box.key_id if sealed else None,
                paused=paused,
                checkpoint=None,
                consecutive_failures=0,
                interval_seconds=interval_seconds,
                next_run_at=self._clock(),
                fetched=0,
                removed=0,
                pages=0,
            )
            s.add(row)
            s.flush()
            return self._info(s, row)

    def list(self) -> list[SourceInfo]:
        with self.db.session() as s:
            rows = s.scalars(select(ExchangeSource).order_by(ExchangeSource.name)).all()
            return [self._info(s, r) for r in rows]

    def get(self, name: str) -> SourceInfo:
        with self.db.session() as s:
            return self._info(s, _find(s, name))

    def pause(self, name: str) -> SourceInfo:
        return self._set(name, paused=True)

    def resume(self, name: str) -> SourceInfo:
        return self._set(name, paused=False, next_run_at=self._clock())

    def remove(self, name: str, *, keep_entries: bool = False) -> int:
        """Remove a source; its entries go too (logged) unless ``keep_entries``. Returns how
        many entries were removed."""
        with self.db.transaction() as s:
            row = _find(s, name)
            removed = 0
            if not keep_entries:
                ids = select(ExchangeEntry.entry_id).where(ExchangeEntry.source_id == row.id)
                others = select(ExchangeEntry.entry_id).where(ExchangeEntry.source_id != row.id)
                removed = bulk.delete_where(
                    s,
                    (BankEntry.bank_id == row.bank_id)
                    & BankEntry.id.in_(ids)
                    & BankEntry.id.not_in(others),
                )
            s.execute(delete(ExchangeSource).where(ExchangeSource.id == row.id))
            return removed

    def _set(self, name: str, **values: Any) -> SourceInfo:
        with self.db.transaction() as s:
            row = _find(s, name)
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = self._clock()
            s.flush()
            return self._info(s, row)

    def _info(self, s: Session, row: ExchangeSource) -> SourceInfo:
        bank = s.scalar(select(Bank.name).where(Bank.id == row.bank_id)) or ""
        entries = s.scalar(
            select(func.count()).select_from(ExchangeEntry).where(ExchangeEntry.source_id == row.id)
        )
        try:
            names = get_source_type(row.type).credential_names
        except (InvalidInput, ModuleNotFoundError):
            names = ()
        return SourceInfo(
            name=row.name,
            type=row.type,
            bank=bank,
            config=dict(row.config or {}),
            credential_names=tuple(names),
            paused=row.paused,
            checkpoint=dict(row.checkpoint) if row.checkpoint is not None else None,
            last_fetch_at=row.last_fetch_at,
            last_success_at=row.last_success_at,
            last_error=row.last_error,
            consecutive_failures=row.consecutive_failures,
            next_run_at=row.next_run_at,
            interval_seconds=row.interval_seconds,
            fetched=row.fetched,
            removed=row.removed,
            pages=row.pages,
            entries=int(entries or 0),
        )

    # --- building a source -----------------------------------------------------------------

    def open_source(self, name: str) -> tuple[BankSource, dict[str, Any] | None, int]:
        """The source's client, its stored checkpoint and its row id."""
        with self.db.session() as s:
            row = _find(s, name)
            cls = get_source_type(row.type)
            config = cls.parse_config(row.config or {})
            creds: dict[str, str] = {}
            if row.credentials:
                creds = self.box.open(row.name, row.credentials, row.credentials_key_id)
            checkpoint = dict(row.checkpoint) if row.checkpoint is not None else None
            return cls(config, creds, self._http()), checkpoint, row.id

    def due(self, now: datetime | None = None) -> builtins.list[str]:
        """Names of the sources whose next run has come (paused ones never)."""
        now = now or self._clock()
        with self.db.session() as s:
            rows = s.execute(
                select(ExchangeSource.name, ExchangeSource.next_run_at).where(
                    ExchangeSource.paused.is_(False)
                )
            ).all()
        return sorted(n for n, when in rows if when is None or when <= now)

    # --- fetching --------------------------------------------------------------------------

    def fetch_due(
        self, now: datetime | None = None, stopping: Callable[[], bool] = lambda: False
    ) -> builtins.list[FetchReport]:
        """Fetch every source whose next run has come, one after another (the periodic
        task's step); a fault of one is recorded on it and the others still run."""
        reports = []
        for name in self.due(now):
            if stopping():
                break
            try:
                reports.append(self.fetch_once(name))
            except (Conflict, SourceNotFound) as exc:  # fetched or removed meanwhile
                log.info("source %s skipped: %s", name, exc)
        return reports

    def fetch_once(self, name: str, *, keep_values: bool = False) -> FetchReport:
        """Fetch ``name`` until it has no more pages, a group of whole pages a transaction.

        :class:`~safespace.errors.SourceNotFound` if there is no such source;
        :class:`~safespace.errors.Conflict` if another fetch of it applied pages meanwhile
        (this one stops; what both applied stays, once). A fault is recorded on the source
        and reported (``error``), not raised: the pages before it stay applied, the next
        fetch resumes after the last of them.
        """
        report = FetchReport(name)
        started = self._clock()
        try:
            source, checkpoint, source_id = self.open_source(name)
        except SourceNotFound:
            raise
        except SafeSpaceError as exc:
            self._failed(name, started, exc, report)
            return report
        applied = _Applied(checkpoint)
        try:
            with source.http:
                if checkpoint is not None and source.is_stale(checkpoint, started):
                    report.restarted = True
                    checkpoint = None
                try:
                    self._pages(source, source_id, checkpoint, applied, report, keep_values)
                except StaleCheckpoint:
                    report.restarted = True
                    self._pages(source, source_id, None, applied, report, keep_values)
        except Conflict:  # another fetch of this source is applying: not this source's fault
            raise
        except SafeSpaceError as exc:
            self._failed(name, started, exc, report)
            return report
        except (httpx.HTTPError, OSError, ValueError) as exc:  # a source's slip: still a fault
            self._failed(name, started, SourceError(f"{type(exc).__name__}: {exc}"), report)
            return report
        with self.db.transaction() as s:
            row = _find(s, name)
            now = self._clock()
            row.last_fetch_at = started
            row.last_success_at = now
            row.last_error = None
            row.consecutive_failures = 0
            row.next_run_at = now + timedelta(seconds=row.interval_seconds)
        return report

    def _pages(
        self,
        source: BankSource,
        source_id: int,
        checkpoint: Mapping[str, Any] | None,
        applied: _Applied,
        report: FetchReport,
        keep_values: bool,
    ) -> None:
        """Fetch from ``checkpoint`` (None: from the start) and apply the pages in groups."""
        with self.db.session() as s:  # nothing mapped yet: only this fetch's own ids can be
            mine: set[str] | None = None if _maps_any(s, source_id) else set()
        group: list[FetchPage] = []
        changes = 0
        most, wait = self._group
        began = self._clock()

        def flush() -> None:
            nonlocal changes
            applied.checkpoint = self.apply_pages(
                source_id, group, expected=applied.checkpoint, report=report,
                keep_values=keep_values, mapped=mine,
            )  # fmt: skip
            group.clear()
            changes = 0

        pages = iter(source.fetch(checkpoint))
        try:
            while True:
                try:
                    page = next(pages)
                except StopIteration:
                    break
                except BaseException:
                    if group:  # the pages before a fault stay applied
                        flush()
                    raise
                if page.complete and group:  # a whole copy is applied on its own
                    flush()
                if not group:
                    began = self._clock()
                group.append(page)
                changes += len(page.upserts) + len(page.removals)
                late = self._clock() - began >= wait
                if changes >= most or late or page.complete or not page.more:
                    flush()
            if group:
                flush()
        finally:  # a source reading ahead stops now, while its HTTP client is still open
            close_pages(pages)

    def apply_pages(
        self,
        source_id: int,
        pages: Sequence[FetchPage],
        *,
        expected: Mapping[str, Any] | None,
        report: FetchReport | None = None,
        keep_values: bool = False,
        mapped: set[str] | None = None,
    ) -> dict[str, Any]:
        """Apply consecutive pages, in order, and the last one's checkpoint in one transaction;
        returns the stored checkpoint.

        A fetch groups its pages (:data:`GROUP_CHANGES`, :data:`GROUP_SECONDS`), and a group's
        consecutive pages are applied as one (:func:`_merge_runs`): each commit writes every
        index page the entries touched and each apply has its own fixed cost, so fewer, larger
        ones apply a large list faster. The counts are then net: an entry added and removed
        again within the group counts as neither.

        ``expected`` is the checkpoint stored when the caller last looked (a fetch: when it
        began, then after each group it applied), also when the pages start again from the
        beginning: if another fetch of the same source committed meanwhile, nothing is applied
        (409 ``conflict``), so pages never double and two first fetches never both apply.
        ``mapped``, when given, holds every upstream id the source has mapped (a fetch
        that began with none collects its own here): only those are looked up in the database.
        """
        if not pages:
            raise InvalidInput("no pages to apply")
        report = report or FetchReport("")
        checkpoint = dict(pages[-1].checkpoint)
        checkpoint.setdefault(FETCHED_AT, self._clock().isoformat())
        checkpoint = dict(json.loads(json.dumps(checkpoint, allow_nan=False)))
        totals = [0, 0, 0]
        home = self.db.instance_id() + "/"  # how this instance's own entries' origins begin
        # bulk: the group's commit does not checkpoint SQLite's log; the fetch's own last
        # write (its status, at the end of fetch_once) does, once for several groups
        with self.db.transaction(bulk=True) as s:
            row = s.get(ExchangeSource, source_id)
            if row is None:
                raise SourceNotFound("the source was removed during the fetch")
            stored = None if row.checkpoint is None else dict(row.checkpoint)
            if stored != (None if expected is None else dict(expected)):
                raise Conflict(
                    f"source {row.name!r} was fetched by someone else meanwhile (what that "
                    "fetch applied stays); fetch again to go on from there"
                )
            with gc_paused():  # a group's rows are many and acyclic: see gc_paused
                for page in _merge_runs(pages):
                    changed = _apply(s, row, page, report if keep_values else None, mapped, home)
                    totals = [a + b for a, b in zip(totals, changed, strict=True)]
            added, updated, removed = totals
            row.checkpoint = checkpoint
            row.pages += len(pages)
            row.fetched += added + updated
            row.removed += removed
            row.updated_at = self._clock()
        report.pages += len(pages)
        report.added += added
        report.updated += updated
        report.removed += removed
        return checkpoint

    def _failed(
        self, name: str, started: datetime, exc: SafeSpaceError, report: FetchReport
    ) -> None:
        report.error, report.error_code = exc.message, exc.code
        log.warning("source %s: fetch failed: %s (%s)", name, exc.message, exc.code)
        try:
            with self.db.transaction() as s:
                row = _find(s, name)
                row.last_fetch_at = started
                row.last_error = f"{exc.code}: {exc.message}"[:2000]
                row.consecutive_failures += 1
                wait = backoff(row.consecutive_failures, timedelta(seconds=row.interval_seconds))
                row.next_run_at = self._clock() + wait
        except SourceNotFound:
            pass

    # --- opinions --------------------------------------------------------------------------

    def send_opinion(self, name: str, opinion: Opinion) -> None:
        """Send one opinion to source ``name`` now (raises the source's errors)."""
        source, _, _ = self.open_source(name)
        with source.http:
            source.send_opinion(opinion)

    def sources_of_entry(self, entry_id: int) -> builtins.list[tuple[str, str]]:
        """(source name, upstream id) of every source that listed bank entry ``entry_id``."""
        with self.db.session() as s:
            rows = s.execute(
                select(ExchangeSource.name, ExchangeEntry.upstream_id)
                .join(ExchangeSource, ExchangeSource.id == ExchangeEntry.source_id)
                .where(ExchangeEntry.entry_id == entry_id)
                .order_by(ExchangeSource.name)
            ).all()
        return [(str(n), str(u)) for n, u in rows]


def _find(s: Session, name: str) -> ExchangeSource:
    row = s.scalar(select(ExchangeSource).where(ExchangeSource.name == name))
    if row is None:
        raise SourceNotFound(f"no source named {name!r}")
    return row


def _stored(signal_type: str, value: str) -> str:
    return get_signal_type(signal_type).stored_value(value)


def _merge_runs(pages: Sequence[FetchPage]) -> Iterator[FetchPage]:
    """The pages with each run of consecutive partial pages merged into one, which leaves
    the bank as applying them in turn would: for each upstream id its last change wins (a
    removal undoes an earlier upsert, an upsert an earlier removal). A complete page (a
    whole copy) stays on its own, as it removes whatever it does not list."""
    run: list[FetchPage] = []
    for page in pages:
        if page.complete:
            if run:
                yield _merged(run)
                run = []
            yield page
        else:
            run.append(page)
    if run:
        yield _merged(run)


def _merged(run: Sequence[FetchPage]) -> FetchPage:
    if len(run) == 1:
        return run[0]
    last = run[-1]
    if not any(page.removals for page in run):  # a listing: most often no id twice either
        entries = [entry for page in run for entry in page.upserts]
        if len({entry.upstream_id for entry in entries}) == len(entries):
            # each id once: the loop below gives the same page
            return FetchPage(entries, [], last.checkpoint, last.more)
    upserts: dict[str, SourceEntry] = {}
    removals: dict[str, None] = {}
    for page in run:  # within a page no id is both upserted and removed (FetchPage)
        for upstream_id in page.removals:
            upserts.pop(upstream_id, None)
            removals[upstream_id] = None
        for entry in page.upserts:
            removals.pop(entry.upstream_id, None)
            upserts.pop(entry.upstream_id, None)  # re-inserted: keeps the order of arrival
            upserts[entry.upstream_id] = entry
    return FetchPage(list(upserts.values()), list(removals), last.checkpoint, last.more)


def _chunks(items: Sequence[_Item]) -> Iterable[Sequence[_Item]]:
    for i in range(0, len(items), _IN_CHUNK):
        yield items[i : i + _IN_CHUNK]


def _apply(
    s: Session,
    row: ExchangeSource,
    page: FetchPage,
    report: FetchReport | None,
    mapped: set[str] | None = None,
    home: str = "",
) -> tuple[int, int, int]:
    """The page's changes on the bank and the mapping; (added, updated, removed).

    ``mapped``: see :meth:`ExchangeService.apply_pages` (updated here, so a page rolled back
    leaves ids in it that are not mapped: they are looked up and not found, which is safe).
    ``home``: how the origins of this instance's own entries begin (``"<instance id>/"``).
    """
    upserts = {entry.upstream_id: entry for entry in page.upserts}  # the last of an id wins
    if home:
        for upstream_id in _gone_echoes(s, upserts, home):
            del upserts[upstream_id]
    removals = [u for u in dict.fromkeys(page.removals) if u not in upserts]
    if page.complete:  # a whole copy: what the last copy had and this one lacks goes
        seen = set(removals)
        listed = s.scalars(
            select(ExchangeEntry.upstream_id).where(ExchangeEntry.source_id == row.id)
        )
        removals.extend(u for u in listed if u not in upserts and u not in seen)
    # nothing mapped yet (a first fetch): no upstream id of the page can be known
    if mapped is not None:
        ids = [u for u in (*upserts, *removals) if u in mapped] if mapped else []
        mapped.update(upserts)
    else:
        ids = [*upserts, *removals] if _maps_any(s, row.id) else []
    # upstream id -> (entry id, signal type, stored value, extra)
    known: dict[str, tuple[int, str, str, dict[str, Any]]] = {}
    for upstream_id, entry_id, signal_type, value, extra in _mapped(s, row.id, ids):
        if isinstance(extra, str):  # SQLite hands the JSON column over as text
            extra = json.loads(extra)
        known[str(upstream_id)] = (int(entry_id), signal_type, value, dict(extra or {}))
    to_add: list[SourceEntry] = []
    unmap: list[str] = []  # upstream ids whose mapping goes (removed, or the value changed)
    updates: list[tuple[int, SourceEntry]] = []
    if not known:
        to_add = list(upserts.values())
    for upstream_id, entry in upserts.items() if known else ():
        have = known.get(upstream_id)
        if have is None:
            to_add.append(entry)
        elif (have[1], have[2]) != (entry.signal_type, _stored(entry.signal_type, entry.value)):
            unmap.append(upstream_id)
            to_add.append(entry)
        elif have[3].get("exchange") == row.name and have[3] != {
            **have[3],
            **entry_exchange_extra(row.name, entry),
        }:
            updates.append((have[0], entry))
    unmap.extend(u for u in removals if u in known)
    removed = 0
    if unmap:
        gone = sorted({known[u][0] for u in unmap})
        for chunk in _chunks(unmap):
            s.execute(
                delete(ExchangeEntry).where(
                    ExchangeEntry.source_id == row.id, ExchangeEntry.upstream_id.in_(chunk)
                )
            )
        for start in range(0, len(gone), _IN_CHUNK):
            part = gone[start : start + _IN_CHUNK]
            still = select(ExchangeEntry.entry_id).where(ExchangeEntry.entry_id.in_(part))
            removed += bulk.delete_where(s, BankEntry.id.in_(part) & BankEntry.id.not_in(still))
    for entry_id, entry in updates:
        s.execute(
            update(BankEntry)
            .where(BankEntry.id == entry_id)
            .values(
                category=_category(entry),
                extra=entry_exchange_extra(row.name, entry),
            )
        )
    added = 0
    if to_add and not any(get_signal_type(t).digest_stored for t in {e.signal_type
                                                                     for e in to_add}):  # fmt: skip
        # narrow rows straight to one staging table, the upstream id beside each entry; the
        # bank's rows, their change log and the mapping are then INSERT .. SELECTs from it
        # a plain entry's extra is left for the database to write around its upstream id
        # (``extra_around``); an id with other than ASCII is written here, as json.dumps would
        name = row.name
        staged = [
            (e.signal_type, e.value, None, None, e.upstream_id)
            if not (e.categories or e.opinions or e.metadata or e.origin)
            and e.upstream_id.isascii()
            else (e.signal_type, e.value, _category(e), _extra_json(name, e), e.upstream_id)
            for e in to_add
        ]
        source_id, bank_id = int(row.id), int(row.bank_id)

        def map_staged(conn: Connection, stage: str, moved: bulk.Moved) -> None:
            head = f"INSERT INTO {_mapping.name} (source_id, upstream_id, entry_id) "
            if moved.first is not None:  # every staged row is a new entry, in staging order
                conn.exec_driver_sql(
                    head + f"SELECT {source_id}, upstream_id, {moved.first - 1} + rowid "
                    f"FROM {stage}"
                )
                return
            # one index probe a row, never a join that PostgreSQL may plan as a hash of the
            # whole bank (see banks._bulk._IS_NEW_PROBED); every staged value is in the bank
            # now, so the probe always finds one
            probe = (
                f"(SELECT e.id FROM {BankEntry.__tablename__} AS e WHERE e.bank_id = "
                f"{bank_id} AND e.signal_type = st.signal_type AND e.value = st.value)"
            )
            if moved.table is not None:  # the new entries from their own small table; the
                # bank is probed only for values it had before
                conn.exec_driver_sql(
                    head + f"SELECT {source_id}, st.upstream_id, COALESCE(m.id, {probe}) "
                    f"FROM {stage} AS st LEFT JOIN {moved.table} AS m "
                    "ON m.signal_type = st.signal_type AND m.value = st.value"
                )
                return
            conn.exec_driver_sql(
                head + f"SELECT {source_id}, st.upstream_id, {probe} FROM {stage} AS st"
            )

        added = bulk.add_narrow_rows(
            s, bank_id, staged, source=name, columns=[("upstream_id", "VARCHAR(256)")],
            then=map_staged,
            extra_around=(_EXTRA_PLAIN[0] % _quote(name), "upstream_id", _EXTRA_PLAIN[1]),
        )  # fmt: skip
        if report is not None:
            report.added_values.extend((e.signal_type, e.value) for e in to_add)
    elif to_add:
        records = [
            HashRecord(
                e.signal_type,
                e.value,
                source=row.name,
                category=_category(e),
                extra=cast(Mapping[str, str], entry_exchange_extra(row.name, e)),
            )
            for e in to_add
        ]
        added = bulk.add_records(s, row.bank_id, records).added
        _map(s, row, to_add)
        if report is not None:
            report.added_values.extend((e.signal_type, e.value) for e in to_add)
    return added, len(updates), removed


def _gone_echoes(s: Session, upserts: Mapping[str, SourceEntry], home: str) -> list[str]:
    """The upstream ids of upserts that are copies of this instance's own entries (their
    origin begins with ``home``) whose original is gone or disabled.

    Such an echo is left out: taking it in would bring back an entry removed here after the
    peer copied it, and the removal, reaching the peer, would undo the copy and send the
    entry round again, for ever. An echo of an entry still here is taken as any entry is (it
    finds the entry by its value and maps it).
    """
    echoes = {
        upstream_id: entry.origin[len(home) :]
        for upstream_id, entry in upserts.items()
        if entry.origin is not None and entry.origin.startswith(home)
    }
    if not echoes:
        return []
    wanted = sorted({int(x) for x in echoes.values() if x.isdigit() and len(x) < 19})
    alive: set[str] = set()
    for chunk in _chunks(wanted):
        alive.update(
            str(entry_id)
            for entry_id in s.scalars(
                select(BankEntry.id).where(BankEntry.id.in_(chunk), BankEntry.enabled.is_(True))
            )
        )
    gone = [u for u, origin_id in echoes.items() if origin_id not in alive]
    if gone:
        log.info("left out %d echoes of entries removed here since a peer copied them",
                  len(gone))  # fmt: skip
    return gone


def _mapped(s: Session, source_id: int, ids: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """(upstream id, entry id, signal type, stored value, extra) of those of ``ids`` the
    source has mapped: plain driver queries (a page's thousands of ids), one per page on
    PostgreSQL (``= ANY``), one per :data:`_IN_CHUNK` ids on SQLite."""
    if not ids:
        return
    conn = s.connection()
    head = (
        f"SELECT m.upstream_id, e.id, e.signal_type, e.value, e.extra FROM {_mapping.name} "
        f"AS m JOIN {BankEntry.__tablename__} AS e ON e.id = m.entry_id "
        f"WHERE m.source_id = {int(source_id)} AND m.upstream_id "
    )
    if conn.dialect.name == "postgresql":
        yield from conn.exec_driver_sql(head + "= ANY(%s)", (list(ids),))
        return
    for chunk in _chunks(ids):
        yield from conn.exec_driver_sql(head + f"IN ({','.join('?' * len(chunk))})", tuple(chunk))


def _maps_any(s: Session, source_id: int) -> bool:
    """Whether the source has mapped any upstream id yet."""
    found = s.execute(
        select(ExchangeEntry.upstream_id).where(ExchangeEntry.source_id == source_id).limit(1)
    ).first()
    return found is not None


def _category(entry: SourceEntry) -> str | None:
    if not entry.categories:
        return None
    text = ",".join(entry.categories)
    return text[:256] or None


_quote = encode_basestring_ascii  # json.dumps' own string writer


# ``extra`` of an entry with no categories, opinions or metadata: head % source, id, tail
# (then, for an entry from a peer, its origin and the closing brace)
_EXTRA_PLAIN = (
    '{"exchange": %s, "upstream_id": ',
    ', "categories": [], "opinions": {}, "metadata": {}}',
)
_EXTRA_ORIGIN = _EXTRA_PLAIN[1][:-1] + ', "origin": '  # the tail, left open for the origin


def _extra_json(source: str, entry: SourceEntry) -> str:
    """``json.dumps(entry_exchange_extra(source, entry))``, written directly for the common
    entry with no categories, opinions or metadata (a page of thousands: several times
    faster)."""
    if entry.categories or entry.opinions or entry.metadata:
        return json.dumps(entry_exchange_extra(source, entry))
    head = _EXTRA_PLAIN[0] % _quote(source) + _quote(entry.upstream_id)
    if entry.origin is None:
        return head + _EXTRA_PLAIN[1]
    return head + _EXTRA_ORIGIN + _quote(entry.origin) + "}"


def _map(s: Session, row: ExchangeSource, entries: Sequence[SourceEntry]) -> None:
    """Map each entry's upstream id to the bank entry with its value (new or already there)."""
    conn = s.connection()
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_STAGE}")
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE {_STAGE} (upstream_id VARCHAR(256), signal_type VARCHAR(16), "
        "value VARCHAR(256))"
    )
    names = ("upstream_id", "signal_type", "value")
    rows = [(e.upstream_id, e.signal_type, _stored(e.signal_type, e.value)) for e in entries]
    for start in range(0, len(rows), bulk.CHUNK):
        bulk.insert_chunk(conn, _STAGE, names, rows[start : start + bulk.CHUNK])
    conn.exec_driver_sql(
        f"INSERT INTO {_mapping.name} (source_id, upstream_id, entry_id) "
        f"SELECT {int(row.id)}, st.upstream_id, e.id FROM {_STAGE} AS st "
        f"JOIN bank_entries AS e ON e.bank_id = {int(row.bank_id)} "
        "AND e.signal_type = st.signal_type AND e.value = st.value"
    )
    conn.exec_driver_sql(f"DROP TABLE {_STAGE}")
