"""The API's typed dependencies, in one place: the caller's key by scope, and the app's parts.

Routes name what they need in their signatures (``key: CurateKey``, ``state: State``,
``review: Review``) instead of calling :func:`~safespace.api._auth.require` or reading
``request.app.state`` themselves. Each key dependency is made once here, so it keeps the
scope marker that :func:`~safespace.api._auth.required_scope` reads: the body-limit
middleware checks a route's key before it reads a large body.

What ``create_app`` keeps on ``app.state`` (the typed app context):

- ``safespace``: :class:`~safespace.api._state.ServiceState` (settings, database, bank and
  key services, the matcher) -> :data:`State`
- ``import_jobs``: :class:`~safespace.api._runtimes.ImportRuntime` -> :data:`Imports`
- ``review``: :class:`~safespace.api._runtimes.ReviewRuntime` -> :data:`Review`
- ``deter``: :class:`~safespace.api._runtimes.DeterRuntime` -> :data:`Deter`
- ``tasks``: :class:`~safespace.runtime.TaskRunner`, the app's background tasks (started and
  stopped with the app; routes never start threads)
- ``metrics``: :class:`~safespace.api._metrics.ServiceMetrics` (the metrics module's own)
- ``accounts``: :class:`~safespace.accounts.Accounts` (the console's)
- ``contact``, ``self_reports``: built on first use by their routes' own dependencies
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from safespace.access import KeyInfo
from safespace.api._auth import require
from safespace.api._runtimes import DeterRuntime, ImportRuntime, ReviewRuntime
from safespace.api._state import ServiceState, get_state

__all__ = [
    "AdminKey",
    "ContactKey",
    "CurateKey",
    "Deter",
    "ExchangeKey",
    "Imports",
    "MatchKey",
    "Review",
    "State",
    "admin_key",
    "contact_key",
    "curate_key",
    "deter_runtime",
    "exchange_key",
    "import_runtime",
    "match_key",
    "review_runtime",
]

# The key checks, one per scope; also callable by hand where a route accepts another
# credential instead (the metrics token, the Deter widget's token).
match_key = require("match")
curate_key = require("curate")
admin_key = require("admin")
contact_key = require("contact")
exchange_key = require("exchange")

MatchKey = Annotated[KeyInfo, Depends(match_key)]
"""The caller's API key, which allows ``match`` (hashing and matching)."""
CurateKey = Annotated[KeyInfo, Depends(curate_key)]
"""The caller's API key, which allows ``curate`` (banks, imports, reports, evidence)."""
AdminKey = Annotated[KeyInfo, Depends(admin_key)]
"""The caller's API key, which allows ``admin`` (metrics, experiment reports)."""
ContactKey = Annotated[KeyInfo, Depends(contact_key)]
"""The caller's API key, which allows ``contact`` (contact decisions and signal events)."""
ExchangeKey = Annotated[KeyInfo, Depends(exchange_key)]
"""The caller's API key, which allows ``exchange`` (a peer's feed of a bank, its opinions)."""


def import_runtime(request: Request) -> ImportRuntime:
    found = request.app.state.import_jobs
    assert isinstance(found, ImportRuntime)
    return found


def review_runtime(request: Request) -> ReviewRuntime:
    found = request.app.state.review
    assert isinstance(found, ReviewRuntime)
    return found


def deter_runtime(request: Request) -> DeterRuntime:
    found = request.app.state.deter
    assert isinstance(found, DeterRuntime)
    return found


State = Annotated[ServiceState, Depends(get_state)]
"""This app's settings, database, bank and key services, limits and matcher."""
Imports = Annotated[ImportRuntime, Depends(import_runtime)]
"""The import-job store and this worker's job runner."""
Review = Annotated[ReviewRuntime, Depends(review_runtime)]
"""The review queue, its evidence store (None without a key) and its thread."""
Deter = Annotated[DeterRuntime, Depends(deter_runtime)]
"""Deter's live configuration, events and widget tokens."""
