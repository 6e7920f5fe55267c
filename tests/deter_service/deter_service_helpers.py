"""Helpers for the Deter service tests: constants, the Svc wrapper, problem checks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from safespace.api._routes.deter import DeterRuntime
from safespace.api._state import ServiceState

SECRET = "Vq7rT2mXp9LkZc4NwB8sHd3FyJ6gA1eQ"
TERM = "qqplaceholderalpha"  # the operator term list's placeholder token
QUERY = f"find {TERM} videos"
BENIGN = "garden furniture sale"
EXPERIMENT = "trial"

EXPERIMENTS_YAML = """\
version: 1
defaults:
  search: {variant: combined, chatbot: false}
  url: {variant: combined, chatbot: false}
  message: {variant: combined, chatbot: false}
  upload: {variant: combined, chatbot: false}
experiments:
  - id: trial
    contexts: [search, message]
    control: neutral
    rotation_days: 30
    arms:
      - {id: neutral, variant: neutral, weight: 1}
      - {id: harm, variant: harm, weight: 1}
      - {id: chatbot, variant: combined, chatbot: true, weight: 1}
    plan: {baseline: 0.1, target: 0.3, alpha: 0.05, power: 0.8, looks: 1}
"""


def write_deter_dir(folder: Path, terms: str = f"{TERM}\n") -> Path:
    (folder / "terms").mkdir(parents=True, exist_ok=True)
    (folder / "terms" / "ops.txt").write_text(terms, encoding="utf-8")
    (folder / "experiments.yaml").write_text(EXPERIMENTS_YAML, encoding="utf-8")
    return folder


@dataclass
class Svc:
    """A started app with one key per scope, and its Deter runtime."""

    client: TestClient
    state: ServiceState
    runtime: DeterRuntime
    keys: dict[str, str] = field(default_factory=dict)

    def as_(self, scope: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[scope]}"}

    def check(self, scope: str = "match", **body: Any) -> Any:
        body.setdefault("context", "search")
        return self.client.post("/v1/deter/check", json=body, headers=self.as_(scope))

    def post(self, url: str, body: Any, scope: str | None = "match", **kw: Any) -> Any:
        headers = {**(self.as_(scope) if scope else {}), **kw.pop("headers", {})}
        return self.client.post(url, json=body, headers=headers, **kw)


MakeSvc = Callable[..., Svc]


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem of this status and type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{code}", body
    return body


def pseudonym_for(svc: Svc, arm: str) -> str:
    """A pseudonym the service assigns to ``arm`` now (assignment is keyed, so search)."""
    deterrer = svc.runtime.loader().current
    experiment = deterrer.data.experiments.for_context("search")
    assert experiment is not None
    for i in range(500):
        name = f"p-{arm}-{i}"
        if deterrer._assigner.assign(experiment, name, time.time())[0].id == arm:
            return name
    raise AssertionError(f"no pseudonym for {arm}")


@dataclass(frozen=True)
class Live:
    """A platform page server and a SafeSpace server on two origins (as in production)."""

    platform: str
    safespace: str
    pages: Path
    keys: dict[str, str]
    runtime: DeterRuntime
