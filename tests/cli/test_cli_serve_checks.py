"""``safespace serve`` refuses unusable keys and webhook settings in one line, before uvicorn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

RunCli = Callable[..., Any]  # the run_cli fixture (tests/cli/conftest.py)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"SAFESPACE_REVIEW_STORE_MEDIA": "true"}, "SAFESPACE_REVIEW_STORE_MEDIA=true needs"),
        ({"SAFESPACE_EVIDENCE_KEY": "not base64!"}, "SAFESPACE_EVIDENCE_KEY is not valid base64"),
        (
            {"SAFESPACE_REVIEW_WEBHOOK_URL": "https://platform.example/hook"},
            "SAFESPACE_REVIEW_WEBHOOK_SECRET must be at least 32 characters",
        ),
    ],
)
def test_serve_refuses_bad_settings_before_starting(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], says: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = run_cli("serve", "--port", "9")  # a privileged port: it must never get that far
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert says in lines[0]
    assert "Traceback" not in result.stderr
