"""The service's routers, one module per area; ``create_app`` takes them as an explicit list."""

from __future__ import annotations

from fastapi import APIRouter

from safespace.api import _metrics as metrics
from safespace.api._routes import (
    banks,
    contact,
    content,
    deter,
    entries,
    evidence,
    exchanges,
    health,
    hma,
    jobs,
    matching,
    reports,
    selfreports,
)
from safespace.web import _banks_console as console_banks
from safespace.web import _console as console
from safespace.web import _contact as console_contact
from safespace.web import _evidence as console_evidence
from safespace.web import _exchanges as console_exchanges
from safespace.web import _review as review
from safespace.web import _selfreport as selfreport
from safespace.web import _wellbeing as console_wellbeing

__all__ = ["DEFAULT_ROUTERS"]

DEFAULT_ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    matching.router,
    content.router,
    banks.router,
    entries.router,
    jobs.router,
    hma.router,
    exchanges.router,
    deter.router,
    contact.router,
    metrics.router,
    reports.router,
    console.router,
    review.router,
    selfreports.router,
    selfreport.router,
    evidence.router,
    console_evidence.router,
    console_contact.router,
    console_exchanges.router,
    console_wellbeing.router,
    console_banks.router,
)
