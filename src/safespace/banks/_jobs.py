"""Asynchronous hash-list imports: submit a file, run it later in a worker thread, report.

A job's upload is stored in the database with the job (so any server sharing the database
can run it) and deleted in the very transaction that writes the job's entries and result:
an import is all or nothing *and* exactly once. A worker claims a job with a lease it
renews while it works; a job whose lease ran out (its server stopped or died) is claimed
again by the next worker that looks, up to ``max_attempts`` times, then marked failed.
Because the result is committed with the entries, running a job again never imports twice.
The ``bank.import`` audit record is committed with them too, its actor the key that submitted
the job (``api-key:ID``), or ``system``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from safespace.banks import _bulk as bulk
from safespace.banks import formats
from safespace.banks._info import ImportResult
from safespace.banks._service import (
    SYSTEM_ACTOR,
    audit_change,
    import_details,
    prepare_import,
    validate_bank_name,
)
from safespace.banks.formats import HashRecord
from safespace.errors import (
    BankNotFound,
    EmptyMedia,
    ImportFormatError,
    InvalidInput,
    JobNotFound,
    Reject,
)
from safespace.reports._audit import api_key_actor
from safespace.store import Bank, Database, ImportJob, ImportJobFile, ImportJobReject
from safespace.store._models import utcnow
from safespace.store._models_jobs import JOB_STATUSES

__all__ = ["JOB_STATUSES", "ImportJobs", "JobInfo", "JobRunner"]

log = logging.getLogger("safespace.jobs")

MAX_STORED_REJECTS = 100_000
_MAX_TEXT = 512
_rejects = cast(Table, ImportJobReject.__table__)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class JobInfo:
    """What a client sees of a job."""

    id: int
    bank: str
    status: str
    format: str | None
    filename: str | None
    skip_invalid: bool
    size_bytes: int
    added: int
    duplicates: int
    removed: int
    rejected: int
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    def to_dict(self) -> dict[str, Any]:
        duration = None
        if self.started_at is not None and self.finished_at is not None:
            duration = round((self.finished_at - self.started_at).total_seconds(), 3)
        return {
            "id": self.id,
            "bank": self.bank,
            "status": self.status,
            "format": self.format,
            "filename": self.filename,
            "skip_invalid": self.skip_invalid,
            "size_bytes": self.size_bytes,
            "counts": {
                "added": self.added,
                "duplicates": self.duplicates,
                "removed": self.removed,
                "rejected": self.rejected,
            },
            "error": self.error,
            "attempts": self.attempts,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "duration_seconds": duration,
        }


def _info(j: ImportJob) -> JobInfo:
    return JobInfo(
        j.id, j.bank, j.status, j.format, j.filename, j.skip_invalid, j.size_bytes, j.added,
        j.duplicates, j.removed, j.rejected, j.error, j.attempts, j.created_at, j.started_at,
        j.finished_at,
    )  # fmt: skip


@dataclass(frozen=True)
class _Claim:
    job_id: int
    token: str


@dataclass
class _Outcome:
    good: list[HashRecord]
    rejects: list[Reject]
    withdrawn: list[tuple[str, str]]
    error: str | None = None


class ImportJobs:
    """Import jobs over a :class:`~safespace.store.Database`."""

    def __init__(
        self,
        db: Database,
        *,
        lease_seconds: float = 60.0,
        max_attempts: int = 3,
        max_stored_rejects: int = MAX_STORED_REJECTS,
    ) -> None:
        self.db = db
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.max_stored_rejects = max_stored_rejects

    # --- clients -------------------------------------------------------------------------

    def submit(
        self,
        bank: str,
        data: bytes,
        *,
        fmt: str | None = None,
        filename: str | None = None,
        skip_invalid: bool = False,
        api_key_id: int | None = None,
    ) -> JobInfo:
        """Queue an import. Fails now for what can be told now: unknown bank or format, an
        empty file, a file whose format cannot be told; line errors come with the job."""
        validate_bank_name(bank)
        if not data:
            raise EmptyMedia("the hash-list file is empty")
        chosen = formats.get_format(fmt) if fmt else formats.detect_format(data, filename)
        with self.db.transaction() as s:
            if s.scalar(select(Bank.id).where(Bank.name == bank)) is None:
                raise BankNotFound(f"no bank named {bank!r}")
            job = ImportJob(
                bank=bank,
                status="queued",
                format=chosen.name,
                filename=(filename or None) and filename[:256],
                skip_invalid=skip_invalid,
                size_bytes=len(data),
                added=0,
                duplicates=0,
                removed=0,
                rejected=0,
                attempts=0,
                api_key_id=api_key_id,
            )
            s.add(job)
            s.flush()
            s.add(ImportJobFile(job_id=job.id, data=data))
            s.flush()
            return _info(job)

    def get(self, job_id: int) -> JobInfo:
        with self.db.session() as s:
            job = s.get(ImportJob, job_id)
            if job is None:
                raise JobNotFound(f"no import job with id {job_id}")
            return _info(job)

    def list_jobs(
        self, *, limit: int = 20, bank: str | None = None, status: str | None = None
    ) -> list[JobInfo]:
        """Most recent first."""
        if status is not None and status not in JOB_STATUSES:
            raise InvalidInput(f"bad job status {status!r}: use one of {', '.join(JOB_STATUSES)}")
        query = select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)
        if bank is not None:
            query = query.where(ImportJob.bank == bank)
        if status is not None:
            query = query.where(ImportJob.status == status)
        with self.db.session() as s:
            return [_info(j) for j in s.scalars(query)]

    def rejects(
        self, job_id: int, *, offset: int = 0, limit: int = 100
    ) -> tuple[int, list[Reject]]:
        """``(stored count, page)`` of a job's rejected lines, by line number."""
        r = ImportJobReject
        with self.db.session() as s:
            if s.get(ImportJob, job_id) is None:
                raise JobNotFound(f"no import job with id {job_id}")
            total = s.scalar(select(func.count()).where(r.job_id == job_id)) or 0
            rows = s.execute(
                select(r.line, r.text, r.reason)
                .where(r.job_id == job_id)
                .order_by(r.line, r.id)
                .offset(offset)
                .limit(limit)
            )
            return int(total), [Reject(int(line), text, reason) for line, text, reason in rows]

    def counts_by_status(self) -> dict[str, int]:
        with self.db.session() as s:
            rows = s.execute(select(ImportJob.status, func.count()).group_by(ImportJob.status))
            found = {str(k): int(n) for k, n in rows}
        return {status: found.get(status, 0) for status in JOB_STATUSES}

    # --- workers -------------------------------------------------------------------------

    def claim_next(self) -> _Claim | None:
        """Take the oldest queued job, or a running one whose lease expired."""
        now = utcnow()
        j = ImportJob
        with self.db.session() as s:
            candidates = s.scalars(
                select(j.id)
                .where(or_(j.status == "queued", (j.status == "running") & (j.lease_until < now)))
                .order_by(j.id)
                .limit(5)
            ).all()
        for job_id in candidates:
            token = uuid.uuid4().hex
            with self.db.transaction() as s:
                job = s.get(ImportJob, job_id)
                if job is None or not _claimable(job, now):
                    continue
                if job.attempts >= self.max_attempts:
                    _finish(s, job, "failed", error=_gave_up(job.attempts))
                    continue
                job.status, job.token, job.attempts = "running", token, job.attempts + 1
                job.lease_until = now + timedelta(seconds=self.lease_seconds)
                job.started_at = now
                return _Claim(job_id, token)
        return None

    def renew(self, claim: _Claim) -> bool:
        """Extend the lease; False when the job is no longer this claim's."""
        until = utcnow() + timedelta(seconds=self.lease_seconds)
        with self.db.transaction() as s:
            result = s.execute(
                update(ImportJob)
                .where(ImportJob.id == claim.job_id, ImportJob.token == claim.token)
                .where(ImportJob.status == "running")
                .values(lease_until=until)
            )
            return bool(getattr(result, "rowcount", 0))

    def run(self, claim: _Claim) -> JobInfo | None:
        """Run a claimed job to its end; None when another worker took it over meanwhile."""
        with self.db.session() as s:
            job = s.get(ImportJob, claim.job_id)
            blob = s.get(ImportJobFile, claim.job_id)
            if job is None or job.token != claim.token:
                return None
            data = None if blob is None else bytes(blob.data)
            fmt, filename, skip = job.format, job.filename, job.skip_invalid
        outcome = _prepare(data, fmt, filename, skip)
        with self.db.transaction() as s:
            job = s.get(ImportJob, claim.job_id)
            if job is None or job.token != claim.token or job.status != "running":
                return None
            bank_id = s.scalar(select(Bank.id).where(Bank.name == job.bank))
            if outcome.error is None and bank_id is None:
                outcome.error = f"bank {job.bank!r} was deleted before the import ran"
            if outcome.error is not None:
                self._store_rejects(s, job.id, outcome.rejects)
                job.rejected = len(outcome.rejects)
                _finish(s, job, "failed", error=outcome.error)
                return _info(job)
            assert bank_id is not None
            added = bulk.add_records(s, bank_id, outcome.good)
            job.removed = bulk.remove_values(s, bank_id, sorted(set(outcome.withdrawn)))
            job.added, job.duplicates = added.added, added.duplicates
            job.rejected = len(outcome.rejects)
            self._store_rejects(s, job.id, outcome.rejects)
            result = ImportResult(job.added, job.duplicates, tuple(outcome.rejects), job.removed)
            actor = SYSTEM_ACTOR if job.api_key_id is None else api_key_actor(job.api_key_id)
            audit_change(s, actor, "bank.import", job.bank, import_details(result, job_id=job.id))
            _finish(s, job, "succeeded")
            return _info(job)

    def fail(self, claim: _Claim, message: str) -> None:
        """Record an unexpected failure (a bug or a database error) against the attempt."""
        with self.db.transaction() as s:
            job = s.get(ImportJob, claim.job_id)
            if job is not None and job.token == claim.token and job.status == "running":
                _finish(s, job, "failed", error=message)

    def _store_rejects(self, s: Session, job_id: int, rejects: list[Reject]) -> None:
        rows = [
            {"job_id": job_id, "line": r.line, "text": r.text[:_MAX_TEXT], "reason": r.reason}
            for r in rejects[: self.max_stored_rejects]
        ]
        for start in range(0, len(rows), bulk.CHUNK):
            s.execute(insert(_rejects), rows[start : start + bulk.CHUNK])


def _claimable(job: ImportJob, now: datetime) -> bool:
    if job.status == "queued":
        return True
    return job.status == "running" and job.lease_until is not None and job.lease_until < now


def _gave_up(attempts: int) -> str:
    return (
        f"interrupted {attempts} times (the server stopped while it ran); "
        "nothing was imported: submit the file again"
    )


def _finish(s: Session, job: ImportJob, status: str, *, error: str | None = None) -> None:
    job.status, job.error, job.token, job.lease_until = status, error, None, None
    job.finished_at = utcnow()
    if job.started_at is None:
        job.started_at = job.finished_at
    s.execute(delete(ImportJobFile).where(ImportJobFile.job_id == job.id))
    s.flush()


def _prepare(data: bytes | None, fmt: str | None, filename: str | None, skip: bool) -> _Outcome:
    """Parse and check every line, outside any transaction (it is CPU work)."""
    if data is None:
        return _Outcome([], [], [], "the uploaded file is gone; submit it again")
    try:
        prepared = prepare_import(data, fmt=fmt, filename=filename, skip_invalid=skip)
    except ImportFormatError as exc:
        return _Outcome([], list(exc.rejects), [], exc.message)
    except InvalidInput as exc:
        return _Outcome([], [], [], exc.message)
    return _Outcome(prepared.good, prepared.rejects, prepared.withdrawn)


class JobRunner:
    """Claims jobs and runs them, one at a time: the app's ``import-jobs`` task
    (:mod:`safespace.runtime`) calls :meth:`run_pending` every ``poll_seconds``, which is
    also how it finds jobs left by a stopped server.

    ``poke()`` asks for a run at once (after a submit through this process): it calls
    ``on_poke``, which the app points at its task runner. ``on_done`` is called after each
    finished job (the service refreshes its matcher).
    """

    def __init__(
        self,
        jobs: ImportJobs,
        *,
        poll_seconds: float = 2.0,
        on_done: Callable[[JobInfo], None] | None = None,
    ) -> None:
        self.jobs = jobs
        self.poll_seconds = poll_seconds
        self.on_done = on_done
        self.on_poke: Callable[[], None] | None = None

    def poke(self) -> None:
        if self.on_poke is not None:
            self.on_poke()

    def run_pending(self, stop: Callable[[], bool] = lambda: False) -> int:
        """Run queued jobs until none is left (or ``stop()`` says so); how many ran.

        If the process exits while a job runs, its lease runs out and another worker runs
        it again."""
        ran = 0
        while not stop() and self.run_one():
            ran += 1
        return ran

    def run_one(self) -> bool:
        """Claim and run one job; False when there was none."""
        claim = self.jobs.claim_next()
        if claim is None:
            return False
        done = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(claim, done), name="safespace-import-lease", daemon=True
        )
        beat.start()
        try:
            info = self.jobs.run(claim)
        except Exception as exc:
            log.exception("import job %d failed unexpectedly", claim.job_id)
            self.jobs.fail(claim, f"internal error ({type(exc).__name__}); it has been logged")
            info = None
        finally:
            done.set()
            beat.join(1.0)
        if info is not None:
            log.info("import job %d %s: %s", info.id, info.status, info.error or "ok")
            if self.on_done is not None:
                self.on_done(info)
        return True

    def _heartbeat(self, claim: _Claim, done: threading.Event) -> None:
        interval = max(0.05, self.jobs.lease_seconds / 4)
        while not done.wait(interval):
            try:
                if not self.jobs.renew(claim):
                    return
            except Exception as exc:
                log.warning("import job %d: lease renewal failed: %s", claim.job_id, exc)
