"""Docs that tests keep honest: every command, setting and error code is documented."""

from pathlib import Path
from typing import Any

import typer.main

from safespace.cli import app
from safespace.config import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _commands(group: Any, prefix: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for name, cmd in group.commands.items():
        full = f"{prefix}{name}"
        found.append((full, cmd))
        if hasattr(cmd, "commands"):
            found += _commands(cmd, full + " ")
    return found


def test_every_command_is_documented_with_help() -> None:
    cli_doc = (DOCS / "cli.md").read_text()
    root = typer.main.get_command(app)
    assert hasattr(root, "commands")
    for name, cmd in _commands(root):
        assert f"safespace {name}" in cli_doc or f"`{name}" in cli_doc, f"{name} not in cli.md"
        assert cmd.help, f"{name} has no help text"
        for param in cmd.params:
            if getattr(param, "param_type_name", "") == "option" and param.name != "help":
                assert param.help, f"{name} {param.name}: no help"


def test_every_setting_is_documented() -> None:
    cli_doc = (DOCS / "cli.md").read_text()
    for field_name, field in Settings.model_fields.items():
        assert f"SAFESPACE_{field_name.upper()}" in cli_doc
        assert field.description


def test_architecture_names_files_that_exist() -> None:
    root = Path(__file__).resolve().parents[1]
    text = (DOCS / "architecture.md").read_text()
    import re

    for path in re.findall(r"`((?:src|tests|bench)/[^`]+)`", text):
        assert (root / path).exists(), f"architecture.md names a missing path: {path}"
