"""One app's contact service, built on first use from the settings, and its tick.

Shared by the HTTP routes and the console pages through ``app.state.contact``
(:func:`runtime_for`). The server secret is ``SAFESPACE_DETER_SECRET`` (keys are derived from
it per purpose); the policy is ``contact_policy.yaml`` in ``SAFESPACE_DETER_DIR`` when there
is one, else the packaged default. The tick (reload a changed policy, recompute flags, purge
past retention hourly) is the app's ``contact-tick`` task (:mod:`safespace.runtime`), every
``TICK_SECONDS`` once the service is built (:meth:`ContactRuntime.tick`); tests call
:meth:`~safespace.contact._service.ContactService.tick` themselves.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from safespace.config import Settings
from safespace.contact._service import ContactService
from safespace.errors import ConfigError, NotConfigured
from safespace.store import Database

__all__ = ["POLICY_FILE", "TICK_SECONDS", "ContactRuntime", "runtime_for"]

log = logging.getLogger("safespace.contact")
POLICY_FILE = "contact_policy.yaml"
TICK_SECONDS = 5.0
_LOCK = threading.Lock()


class ContactRuntime:
    """One per app: the contact service, built on first use, and its tick."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self._service: ContactService | None = None
        self._lock = threading.Lock()

    def service(self) -> ContactService:
        """The live service; :class:`NotConfigured` (503) without a usable secret or policy."""
        if self._service is None:
            with self._lock:
                if self._service is None:
                    self._service = self._build()
        return self._service

    def _build(self) -> ContactService:
        settings = self.settings
        if settings.deter_secret is None:
            raise NotConfigured(
                "contact decisions are not set up: set SAFESPACE_DETER_SECRET (at least 32 "
                "characters), the server secret their keyed ids derive from"
            )
        secret = settings.deter_secret.get_secret_value().encode("utf-8")
        policy: Path | None = None
        if settings.deter_dir is not None and (settings.deter_dir / POLICY_FILE).is_file():
            policy = settings.deter_dir / POLICY_FILE
        try:
            return ContactService(
                self.db, secret, policy_path=policy, token_seconds=settings.deter_token_seconds
            )
        except ConfigError as exc:
            raise NotConfigured(f"contact decisions are not set up: {exc}") from None

    def tick(self) -> None:
        """One round of the ``contact-tick`` task; nothing until a request built the service.

        A failure (the database may be away) is raised: the task runner logs it and ticks
        again at the next interval."""
        service = self._service
        if service is not None:
            service.tick()


def runtime_for(app_state: Any, settings: Settings, db: Database) -> ContactRuntime:
    """The app's runtime (``app_state.contact``), made on first use."""
    found = getattr(app_state, "contact", None)
    if not isinstance(found, ContactRuntime):
        with _LOCK:
            found = getattr(app_state, "contact", None)
            if not isinstance(found, ContactRuntime):
                found = ContactRuntime(settings, db)
                app_state.contact = found
    return found
