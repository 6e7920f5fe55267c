"""The long-lived parts of one app besides :class:`~safespace.api._state.ServiceState`.

Built by ``create_app``, started and stopped with it, kept on ``app.state`` and handed to
routes by the dependencies of :mod:`safespace.api._deps`: the import-job runner
(:class:`ImportRuntime`), the review queue (:class:`ReviewRuntime`: feeds, webhook delivery,
hourly evidence expiry) and Deter's reloadable configuration (:class:`DeterRuntime`: changed
data files, events past retention). What runs them periodically is :mod:`safespace.runtime`.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from safespace.api._state import ServiceState
from safespace.banks._jobs import ImportJobs, JobInfo, JobRunner
from safespace.config import Settings
from safespace.deter import DeterLoader
from safespace.deter._events import DeterEvents, WidgetTokens, check_secret
from safespace.deter._experiments import Experiment
from safespace.deter._loading import load_data
from safespace.errors import ConfigError, NotConfigured, NotFound
from safespace.reports._evidence import EvidenceStore
from safespace.reports._queue import ReviewQueue
from safespace.reports._webhooks import HttpPost, httpx_post
from safespace.store import Database

__all__ = [
    "EVIDENCE_PURGE_SECONDS",
    "PURGE_SECONDS",
    "RELOAD_SECONDS",
    "DeterRuntime",
    "ImportRuntime",
    "ReviewRuntime",
    "deter_runtime_for",
]

# Logged under the names the routes that held these classes used.
deter_log = logging.getLogger("safespace.api")
review_log = logging.getLogger("safespace.api._routes.reports")

RELOAD_SECONDS = 5.0
PURGE_SECONDS = 3600.0
EVIDENCE_PURGE_SECONDS = 3600.0


@dataclass
class ImportRuntime:
    """This process's view of import jobs: the store and its worker thread."""

    jobs: ImportJobs
    runner: JobRunner

    @classmethod
    def build(cls, state: ServiceState) -> ImportRuntime:
        settings = state.settings
        jobs = ImportJobs(state.db, lease_seconds=settings.import_job_lease_seconds)

        def refresh(info: JobInfo) -> None:
            if info.status == "succeeded":
                state.matcher.refresh_now()

        runner = JobRunner(jobs, poll_seconds=settings.import_job_poll_seconds, on_done=refresh)
        return cls(jobs, runner)


@dataclass
class ReviewRuntime:
    """The queue and its background thread (feeds, webhook delivery, evidence expiry).

    ``evidence`` is None when no ``SAFESPACE_EVIDENCE_KEY`` is set; a key that is set but
    unusable, or review media kept without a key, stops the app at start-up.
    """

    queue: ReviewQueue
    interval: float
    post: HttpPost | None = None
    evidence: EvidenceStore | None = None
    purge_seconds: float = EVIDENCE_PURGE_SECONDS
    _next_purge: float = 0.0

    @classmethod
    def build(cls, state: ServiceState) -> ReviewRuntime:
        settings = state.settings
        queue = ReviewQueue.from_settings(state.db, settings)
        evidence = None
        if settings.evidence_key is not None:
            evidence = EvidenceStore.from_settings(state.db, settings)
        return cls(queue, settings.review_poll_seconds, evidence=evidence)

    def purge_due(self, *, force: bool = False) -> list[str]:
        """Destroy expired evidence not on hold, at most every ``purge_seconds`` unless forced."""
        if self.evidence is None:
            return []
        now = time.monotonic()
        if not force and now < self._next_purge:
            return []
        self._next_purge = now + self.purge_seconds
        purged = self.evidence.purge_expired()
        if purged:
            review_log.info("evidence purge: %d expired item(s) destroyed", len(purged))
        return purged

    def run_once(self) -> None:
        """One round of the ``review-queue`` task (:mod:`safespace.runtime`)."""
        try:  # expiry is a legal duty: a failing feed or delivery must not hold it up
            self.purge_due()
        except Exception:
            review_log.exception("evidence purge")
        self.queue.sync()
        if self.post is None:
            self.post = httpx_post()
        self.queue.webhooks.deliver_due(self.post)


class DeterRuntime:
    """One per app: the live :class:`DeterLoader` (built on first use), events and tokens."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.events = DeterEvents(db)
        self._loader: DeterLoader | None = None
        self._tokens: WidgetTokens | None = None
        self._lock = threading.Lock()
        self._warmed = False
        self._next_purge = 0.0
        self.last_purged: int | None = None

    def loader(self) -> DeterLoader:
        """The live configuration; :class:`NotConfigured` (503) when the operator's settings
        or data files cannot be used."""
        if self._loader is None:
            with self._lock:
                if self._loader is None:
                    try:
                        secret = check_secret(_secret(self.settings))
                        loader = DeterLoader(
                            self.settings.deter_dir,
                            secret,
                            store_query_text=self.settings.deter_store_query_text,
                        )
                    except ConfigError as exc:
                        raise NotConfigured(f"Deter is not set up: {exc}") from None
                    self._tokens = WidgetTokens(secret, self.settings.deter_token_seconds)
                    self._loader = loader
        return self._loader

    def tokens(self) -> WidgetTokens:
        self.loader()
        assert self._tokens is not None
        return self._tokens

    def experiment(self, name: str) -> Experiment:
        """From the live configuration, or the data files when the secret is not set."""
        data = self._loader.current.data if self._loader else load_data(self.settings.deter_dir)
        for exp in data.experiments.experiments:
            if exp.id == name:
                return exp
        raise NotFound(f"no experiment {name!r} in the Deter data")

    # --- background work (the ``deter-data`` task of :mod:`safespace.runtime`) ---------------

    def warm(self) -> None:
        """Once: build the live configuration when a secret is set (a problem is logged)."""
        if self._warmed:
            return
        self._warmed = True
        if self.settings.deter_secret is not None:
            try:
                self.loader()
            except NotConfigured as exc:
                deter_log.warning("%s", exc)

    def tick(self, now: float | None = None) -> None:
        """Reload changed data files (a bad file keeps the old configuration); purge hourly."""
        now = time.monotonic() if now is None else now
        loader = self._loader
        if loader is not None:
            try:
                if loader.reload_if_changed():
                    deter_log.info("deter: data files reloaded")
            except ConfigError as exc:
                deter_log.warning("deter: data files not reloaded, keeping the old ones: %s", exc)
        if now >= self._next_purge:
            self._next_purge = now + PURGE_SECONDS
            try:
                self.last_purged = self.events.purge(self.settings.deter_retention_days)
                if self.last_purged:
                    deter_log.info("deter: deleted %d events past retention", self.last_purged)
            except Exception as exc:  # the database may be down: try again next hour
                deter_log.warning("deter: purge failed: %s", exc)


def _secret(settings: Settings) -> str | None:
    return settings.deter_secret.get_secret_value() if settings.deter_secret else None


def deter_runtime_for(state: ServiceState) -> DeterRuntime:
    """Built by ``create_app``; started and stopped with the app."""
    return DeterRuntime(state.settings, state.db)
