"""``safespace serve`` and ``demo --serve`` give their workers the settings explicitly: the
command's own process environment is never changed to carry them."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from safespace import _serving as serving
from safespace.config import Settings

RunCli = Callable[..., Any]  # the run_cli fixture (tests/cli/conftest.py)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Calls to ``run_workers``, which starts nothing here and reports a clean stop."""
    calls: list[dict[str, Any]] = []

    def run_workers(
        host: str, port: int, workers: int, options: Mapping[str, Any], **kw: Any
    ) -> int:
        calls.append({"host": host, "port": port, "workers": workers, **kw})
        return 0

    monkeypatch.setattr(serving, "run_workers", run_workers)
    return calls


def test_serve_gives_workers_its_settings(
    run_cli: RunCli, tmp_path: Path, started: list[dict[str, Any]]
) -> None:
    environ = dict(os.environ)
    other = tmp_path / "elsewhere"
    result = run_cli("--data-dir", str(other), "serve", "--workers", "2", "--port", "8123")
    assert result.exit_code == 0, result.stderr
    assert dict(os.environ) == environ
    [call] = started
    assert (call["workers"], call["port"]) == (2, 8123)
    settings = call["settings"]
    assert isinstance(settings, Settings)
    assert settings.data_dir == other


def test_one_worker_is_started_the_same_way(run_cli: RunCli, started: list[dict[str, Any]]) -> None:
    environ = dict(os.environ)
    assert run_cli("serve").exit_code == 0
    assert dict(os.environ) == environ
    assert [c["workers"] for c in started] == [1]


def test_the_served_demo_gives_workers_its_demo_settings(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, started: list[dict[str, Any]]
) -> None:
    monkeypatch.delenv("SAFESPACE_EVIDENCE_KEY", raising=False)
    monkeypatch.delenv("SAFESPACE_REPORTER_EMAIL", raising=False)
    environ = dict(os.environ)
    result = run_cli("demo", "--serve", "--port", "8124")
    assert result.exit_code == 0, result.stderr
    assert "Demo API key" in result.stderr
    assert dict(os.environ) == environ
    [call] = started
    settings = call["settings"]
    assert settings.evidence_key is not None  # the generated demo-only key
    assert settings.reporter_email.endswith("@demo.invalid")
