"""The API's dependencies live in one module (``safespace.api._deps``): routes name them.

A route module that makes its own ``Annotated[KeyInfo, Depends(require(...))]``, calls
``require`` itself or reads ``request.app.state`` is caught here, before the copies drift.
"""

from __future__ import annotations

import ast
from pathlib import Path

from fastapi.routing import APIRoute

from safespace.api import _deps
from safespace.api._auth import required_scope
from safespace.api._routes import DEFAULT_ROUTERS

API = Path(_deps.__file__).resolve().parent
# The modules that define the dependencies; every other API module uses them.
_DEFINERS = {API / "_auth.py", API / "_deps.py"}


def _api_modules() -> list[Path]:
    return sorted(p for p in API.rglob("*.py") if p not in _DEFINERS)


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _own_key_dependencies(path: Path) -> list[str]:
    """``Annotated[KeyInfo, ...]`` anywhere, and any call of ``require``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Subscript)
            and "Annotated" in _names(node.value)
            and "KeyInfo" in _names(node.slice)
        ):
            found.append(f"{path.name}:{node.lineno}: Annotated[KeyInfo, ...]")
        if isinstance(node, ast.Call) and _names(node.func) & {"require"}:
            found.append(f"{path.name}:{node.lineno}: require(...)")
    return found


def _app_state_reads(path: Path) -> list[str]:
    """``request.app.state`` read directly instead of through a dependency."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Attribute)
            and node.attr == "state"
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "app"
        ):
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_api_module_defines_its_own_key_dependency() -> None:
    modules = _api_modules()
    assert any(p.parent.name == "_routes" for p in modules)
    found = [hit for path in modules for hit in _own_key_dependencies(path)]
    assert found == [], "use MatchKey, CurateKey or AdminKey from safespace.api._deps"


def test_the_checker_sees_a_key_dependency_made_by_hand(tmp_path: Path) -> None:
    module = tmp_path / "route.py"
    module.write_text(
        "from typing import Annotated\n"
        "from fastapi import Depends\n"
        "Curator = Annotated[KeyInfo, Depends(require('curate'))]\n"
        "def f(key: typing.Annotated[KeyInfo, Depends(x)]) -> None: ...\n",
        encoding="utf-8",
    )
    assert sorted(_own_key_dependencies(module)) == [
        "route.py:3: Annotated[KeyInfo, ...]",
        "route.py:3: require(...)",
        "route.py:4: Annotated[KeyInfo, ...]",
    ]


def test_route_modules_read_app_state_through_dependencies() -> None:
    routes = sorted((API / "_routes").glob("*.py"))
    found = {hit.split(":")[0] for path in routes for hit in _app_state_reads(path)}
    # Only the runtimes built on first use (under a lock) into app.state, by their routes.
    assert found <= {"selfreports.py", "contact.py"}


def test_each_key_dependency_keeps_the_scope_the_body_limit_reads() -> None:
    scopes = {
        (method, route.path): required_scope(route)
        for router in DEFAULT_ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    assert scopes[("POST", "/v1/match")] == "match"
    assert scopes[("POST", "/v1/banks/{name}/import")] == "curate"
    assert scopes[("POST", "/v1/banks/{name}/imports")] == "curate"
    assert scopes[("GET", "/v1/import-jobs/{job_id}")] == "curate"
    assert scopes[("POST", "/v1/cases/{case_id}/evidence")] == "curate"
    assert scopes[("GET", "/v1/deter/experiments/{name}/report")] == "admin"
    assert scopes[("GET", "/h/hash")] == "match"
    assert scopes[("PUT", "/c/bank/{bank_name}")] == "curate"
    assert scopes[("POST", "/v1/contact/check")] == "contact"
    assert scopes[("GET", "/healthz")] is None
    assert scopes[("POST", "/v1/self-reports")] is None
    assert scopes[("GET", "/v1/exchange/banks/{bank}/feed")] == "exchange"
    assert scopes[("GET", "/v1/exchanges")] == "curate"
    assert set(scopes.values()) == {None, "match", "curate", "admin", "contact", "exchange"}
