"""Assembling the service: ``create_app(settings)`` builds one app from explicit routers.

No module-level app: every worker (uvicorn factory mode) and every test builds its own, with
its own database handle, matcher, key cache and rate-limit buckets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from safespace import __version__
from safespace.accounts import Accounts
from safespace.api import _docs as api_docs
from safespace.api._auth import log_keyless_networks
from safespace.api._hotpath import HotPathMiddleware
from safespace.api._limits import BodyLimitMiddleware, limits_from_settings
from safespace.api._metrics import MetricsMiddleware, ServiceMetrics
from safespace.api._problems import install_problem_handlers
from safespace.api._routes import DEFAULT_ROUTERS, matching
from safespace.api._runtimes import ImportRuntime, ReviewRuntime, deter_runtime_for
from safespace.api._state import ServiceState
from safespace.config import Settings
from safespace.runtime import TASKS, AppContext, Leases, TaskRunner
from safespace.store import open_database
from safespace.web._console import STATIC_DIR

__all__ = ["SafeHeadersMiddleware", "create_app", "create_app_from_env"]

_DESCRIPTION = """\
Detect known abuse imagery by hash: hash uploads, match them against hash banks, and curate
the banks. Every `/v1` endpoint needs an API key (`Authorization: Bearer KEY`); errors are
`application/problem+json`. See docs/api.md.
"""


def create_app(
    settings: Settings | None = None,
    *,
    routers: Sequence[APIRouter] = DEFAULT_ROUTERS,
    serving: bool = False,
) -> FastAPI:
    """A ready-to-serve app. Opens (and migrates) the database now; the matcher loads in the
    background once the app starts, and ``/readyz`` answers 200 when it has.

    ``serving`` tunes the process for serving (the garbage collector); tests leave it off.
    """
    settings = settings or Settings()
    log_keyless_networks(settings)  # refuses a public range; warns loudly when on
    if settings.database_url is None:
        settings.make_data_dir()
    db = open_database(settings.resolved_database_url(), pool_size=settings.database_pool_size)
    state = ServiceState.build(settings, db, serving=serving)
    imports = ImportRuntime.build(state)
    review = ReviewRuntime.build(state)
    metrics = ServiceMetrics(state, imports.jobs.counts_by_status)
    deter = deter_runtime_for(state)
    context = AppContext(state, imports, review, deter)
    tasks = TaskRunner(
        [task.configured(settings) for task in TASKS],
        context,
        leases=Leases(db),
        lock_dir=settings.data_dir / "runtime",
    )
    context.stopping = tasks.stopping
    imports.runner.on_poke = lambda: tasks.trigger("import-jobs")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks.start()
        try:
            yield
        finally:
            tasks.stop()
            state.limiter.close()
            db.close()

    app = FastAPI(
        title="SafeSpace",
        version=__version__,
        description=_DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,  # /docs and /redoc are api/_docs.py's: no CDN, no third party
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.safespace = state
    app.state.import_jobs = imports
    app.state.review = review
    app.state.metrics = metrics
    app.state.deter = deter
    app.state.tasks = tasks
    context.app_state = app.state
    app.state.accounts = Accounts.from_settings(db, settings)
    install_problem_handlers(app)
    if matching.router in routers:
        # Innermost first: the hot path answers JSON /v1/match below routing, inside limits.
        app.add_middleware(HotPathMiddleware)
    app.state.routes = [route for router in routers for route in router.routes]
    app.add_middleware(
        BodyLimitMiddleware, limits=limits_from_settings(settings), routes=app.state.routes
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(SafeHeadersMiddleware)  # outermost: on every answer, 413s included
    for router in routers:
        app.include_router(router)
    app.include_router(api_docs.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _document_problems(app)
    return app


# The problems a route can answer beyond the shared ones, by what the route takes.
_BODY_PROBLEMS = {413: "The body is over its limit", 415: "The body's Content-Type is refused"}
_SCRIPT_TYPES = {
    "/v1/deter/widget.js": "application/javascript",
    "/v1/deter/widget.css": "text/css",
    "/v1/contact/widget.js": "application/javascript",
    "/v1/contact/widget.css": "text/css",
}
_NO_CONFLICT = ("/v1/match", "/v1/hash", "/h/", "/m/")  # lookups: nothing to clash with


def _document_problems(app: FastAPI) -> None:
    """The OpenAPI document lists 404 on routes with a path parameter, 409 on writes, 413 and
    415 on routes with a body, and 503 (database unavailable) on every API route, each a
    problem+json; and the widget's files with their real media types."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for path, operations in schema.get("paths", {}).items():
            for method, op in operations.items():
                responses = op.setdefault("responses", {})
                wanted: dict[int, str] = {}
                if path in _SCRIPT_TYPES:
                    ok = responses.setdefault("200", {"description": "The file"})
                    ok["content"] = {_SCRIPT_TYPES[path]: {"schema": {"type": "string"}}}
                    continue
                if not path.startswith(("/v1/", "/h/", "/m/", "/c/")):
                    continue
                wanted[503] = "The database is unavailable or cannot save; see Retry-After"
                if "{" in path:
                    wanted[404] = "No such resource"
                if method in ("post", "put", "patch") and not path.startswith(_NO_CONFLICT):
                    wanted[409] = "The change clashes with the current state"
                if "requestBody" in op:
                    wanted.update(_BODY_PROBLEMS)
                for status, text in wanted.items():
                    responses.setdefault(str(status), _problem_response(text))
                for status, response in responses.items():
                    content = response.get("content", {})
                    if status >= "4" and "application/problem+json" in content:
                        # the schema belongs to problem+json, the only type errors have
                        moved = content.pop("application/json", {}).get("schema")
                        if moved and not content["application/problem+json"]:
                            content["application/problem+json"] = {"schema": moved}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _problem_response(description: str) -> dict[str, Any]:
    ref = {"$ref": "#/components/schemas/Problem"}
    return {"description": description, "content": {"application/problem+json": {"schema": ref}}}


_NOSNIFF = (b"x-content-type-options", b"nosniff")
_NO_STORE = (b"cache-control", b"no-store")


class SafeHeadersMiddleware:
    """``X-Content-Type-Options: nosniff`` on every response, and ``Cache-Control: no-store``
    on every response that sets no caching of its own (the widget's script and the static
    files keep theirs): answers about hashes, keys and cases are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                if _NOSNIFF[0] not in names:
                    headers.append(_NOSNIFF)
                if _NO_STORE[0] not in names and not static:
                    headers.append(_NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app_from_env() -> FastAPI:
    """A uvicorn factory with settings from SAFESPACE_* variables (``uvicorn --factory``)."""
    return create_app(Settings(), serving=True)
