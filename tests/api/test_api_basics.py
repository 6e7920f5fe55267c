"""The service shell: health, readiness, OpenAPI, and problem responses for framework errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api_helpers import Api, problem
from fastapi import APIRouter
from fastapi.testclient import TestClient

from safespace.api import create_app
from safespace.api._routes import health
from safespace.config import Settings
from safespace.errors import SafeSpaceError


def test_health_and_readiness_need_no_key(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_not_ready_until_the_matcher_is_built(tmp_path: Path) -> None:
    # Without the lifespan (no `with`), the matcher thread never starts: the app stays unready.
    app = create_app(Settings(data_dir=tmp_path))
    client = TestClient(app)
    key = app.state.safespace.keys.create("match")[1]
    try:
        assert client.get("/healthz").status_code == 200
        body = problem(client.get("/readyz"), 503, "unavailable")
        assert "loading" in body["detail"]
        response = client.post(
            "/v1/match",
            json={"signals": {"md5": "0" * 32}},
            headers={"Authorization": f"Bearer {key}"},
        )
        problem(response, 503, "unavailable")
        assert response.headers["retry-after"] == "2"
    finally:
        app.state.safespace.db.close()


def test_openapi_31_and_docs(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    paths = spec["paths"]
    for path in (
        "/v1/hash",
        "/v1/match",
        "/v1/banks",
        "/v1/banks/{name}",
        "/v1/banks/{name}/entries",
        "/v1/banks/{name}/import",
        "/v1/entries/{entry_id}",
        "/healthz",
        "/readyz",
    ):
        assert path in paths, path
    match_body = paths["/v1/match"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(match_body)
    assert "$ref" not in str(match_body)  # schemas are inlined, so they resolve
    assert "ApiKey" in spec["components"]["securitySchemes"]
    docs = api.client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


def test_unknown_route_and_method_are_problems(api: Api) -> None:
    problem(api.client.get("/nowhere"), 404, "not-found")
    problem(api.get("/v1/nowhere"), 404, "not-found")
    response = api.client.put("/v1/banks", headers=api.as_("admin"))
    problem(response, 405, "method-not-allowed")
    assert "GET" in response.headers["allow"]


def test_validation_errors_are_422_problems_without_echoing_input(api: Api) -> None:
    secret = "do-not-echo-" + "x" * 50
    body = problem(
        api.post("/v1/banks", json={"name": "ok", "pdq_distance": secret}), 422, "invalid-request"
    )
    assert body["errors"][0]["loc"] == ["body", "pdq_distance"]
    assert secret not in str(body)
    problem(api.client.post("/v1/banks", content=b"{not json"), 401, "unauthenticated")
    response = api.client.post(
        "/v1/banks",
        content=b"{not json",
        headers={**api.as_("admin"), "content-type": "application/json"},
    )
    problem(response, 422, "invalid-request")
    problem(api.get("/v1/entries/abc"), 422, "invalid-request")
    problem(api.get("/v1/entries/0"), 422, "invalid-request")
    problem(api.get("/v1/entries/99999999999999999999"), 422, "invalid-request")


def test_routers_are_explicit(tmp_path: Path) -> None:
    """create_app takes its routers as a list: a later feature plugs in without globals."""
    extra = APIRouter()

    @extra.get("/extra")
    def _extra() -> dict[str, bool]:
        return {"extra": True}

    app = create_app(Settings(data_dir=tmp_path), routers=[health.router, extra])
    try:
        with TestClient(app) as client:
            assert client.get("/extra").json() == {"extra": True}
            assert client.get("/v1/banks").status_code == 404
    finally:
        app.state.safespace.db.close()


def test_every_error_class_maps_to_its_own_problem_type() -> None:
    import inspect

    from safespace import errors
    from safespace.api._problems import problem_response

    for cls in vars(errors).values():
        if inspect.isclass(cls) and issubclass(cls, SafeSpaceError):
            args: tuple[Any, ...] = ("why",)
            if cls is errors.RateLimited:
                args = ("why", 3)
            response = problem_response(cls(*args))
            assert response.status_code == cls.status
            assert f"/problems/{cls.code}".encode() in response.body


def test_docs_list_every_problem_type() -> None:
    import inspect

    from safespace import errors

    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    # Raised only by the CLI or by domain code no endpoint calls yet (evidence, referrals,
    # webhooks): each gets a row in api.md when an endpoint can return it.
    cli_only = {
        "error", "config-error", "index-format", "user-not-found", "user-exists",
        "referral-invalid", "evidence-not-found", "action-not-found", "integrity-failure",
    }  # fmt: skip
    for cls in vars(errors).values():
        if inspect.isclass(cls) and issubclass(cls, SafeSpaceError) and cls.code not in cli_only:
            assert f"`/problems/{cls.code}` | {cls.status} |" in text, cls.code


def test_database_trouble_is_503_or_409_not_500(tmp_path: Path) -> None:
    from sqlalchemy.exc import IntegrityError, OperationalError

    router = APIRouter()

    @router.get("/down")
    def _down() -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    @router.get("/race")
    def _race() -> None:
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    app = create_app(Settings(data_dir=tmp_path), routers=[router])
    try:
        with TestClient(app) as client:
            down = client.get("/down")
            body = problem(down, 503, "unavailable")
            assert "connection refused" not in body["detail"]
            assert down.headers["retry-after"] == "2"
            problem(client.get("/race"), 409, "conflict")
    finally:
        app.state.safespace.db.close()
