"""Docs that tests keep honest: every command, setting, error code and audit action."""

import ast
import re
from pathlib import Path
from typing import Any, get_args

import typer.main

from safespace.cli import app
from safespace.config import Settings
from safespace.errors import SafeSpaceError
from safespace.reports._audit import ACTIONS, AuditAction

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
    for path in re.findall(r"`((?:src|tests|bench)/[^`]+)`", text):
        assert (root / path).exists(), f"architecture.md names a missing path: {path}"


# --- error codes: every code the code can produce is in the docs, and nothing more ------------

SRC = Path(__file__).resolve().parents[1] / "src" / "safespace"
_ERROR_LITERAL = re.compile(r"[a-z]+(?:-[a-z]+)*-error")  # "io-error", "internal-error"
_PROBLEM_ROW = re.compile(r"^\| `/problems/([a-z0-9-]+)` \|", re.MULTILINE)


def _sources() -> list[tuple[str, ast.Module]]:
    return [
        (str(path.relative_to(SRC.parent)), ast.parse(path.read_text(), str(path)))
        for path in sorted(SRC.rglob("*.py"))
    ]


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _strings(node: ast.expr | None) -> set[str]:
    """The string literals ``node`` can be: a constant, or either branch of ``a if c else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    return set()


def _spelled_codes() -> dict[str, str]:
    """Error codes as the source spells them, wherever that is: ``code = "..."`` in a class,
    ``problem_type("...")``, a ``code``/``error_code`` keyword or dict key, a literal
    ``/problems/...`` type, or a ``...-error`` literal (``io-error``). Code -> first file."""
    found: dict[str, str] = {}
    for where, tree in _sources():
        for node in ast.walk(tree):
            texts: set[str] = set()
            if isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign) and any(
                        isinstance(t, ast.Name) and t.id == "code" for t in stmt.targets
                    ):
                        texts |= _strings(stmt.value)
            elif isinstance(node, ast.Call):
                if _call_name(node) == "problem_type" and node.args:
                    texts |= _strings(node.args[0])
                for kw in node.keywords:
                    if kw.arg in ("code", "error_code"):
                        texts |= _strings(kw.value)
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if _strings(key) & {"code", "error_code"}:
                        texts |= _strings(value)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if node.value.startswith("/problems/") and node.value != "/problems/":
                    texts.add(node.value.removeprefix("/problems/"))
                elif _ERROR_LITERAL.fullmatch(node.value):
                    texts.add(node.value)
            for text in texts:
                found.setdefault(text, where)
    return found


def _tree_codes() -> set[str]:
    """Codes of every SafeSpaceError subclass (the root itself is never raised: see below)."""
    codes: set[str] = set()
    stack = list(SafeSpaceError.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        codes.add(cls.code)
    return codes


def _all_codes() -> set[str]:
    return (_tree_codes() | set(_spelled_codes())) - {SafeSpaceError.code}


def _undocumented(codes: set[str], api_doc: str, cli_doc: str) -> set[str]:
    """Codes in neither api.md's table of problem types nor, as `code`, cli.md."""
    rows = set(_PROBLEM_ROW.findall(api_doc))
    return {c for c in codes if c not in rows and f"`{c}`" not in cli_doc}


def test_the_code_finder_sees_every_kind_of_spelling() -> None:
    spelled = _spelled_codes()
    assert spelled["bank-not-found"] == "safespace/errors.py"  # a class attribute
    assert "internal-error" in spelled  # problem_type("internal-error") in api/problems.py
    assert "io-error" in spelled  # an unreadable file in `hash` and `scan` output
    assert _tree_codes() <= set(spelled) | {SafeSpaceError.code}


def test_every_error_code_is_documented() -> None:
    api_doc, cli_doc = (DOCS / "api.md").read_text(), (DOCS / "cli.md").read_text()
    assert _undocumented(_all_codes(), api_doc, cli_doc) == set()


def test_an_undocumented_code_is_caught() -> None:
    api_doc, cli_doc = (DOCS / "api.md").read_text(), (DOCS / "cli.md").read_text()
    codes = _all_codes()
    assert _undocumented(codes | {"made-up-code"}, api_doc, cli_doc) == {"made-up-code"}
    without = api_doc.replace("| `/problems/user-exists` |", "| user exists |")
    assert _undocumented(codes, without, cli_doc) == {"user-exists"}


def test_the_problem_table_names_only_real_codes() -> None:
    rows = _PROBLEM_ROW.findall((DOCS / "api.md").read_text())
    assert len(rows) == len(set(rows)), "a code has two rows"
    assert set(rows) - _all_codes() == set()


def test_the_root_error_is_never_raised_itself() -> None:
    """Why its code ("error") needs no row: only subclasses are ever raised."""
    made = [
        where
        for where, tree in _sources()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and _call_name(node) == "SafeSpaceError"
    ]
    assert made == []


# --- audit actions: the code's one list and the docs' table agree -----------------------------

_WRITERS = {"append": 2, "audit_hook": 2, "audit_change": 2, "_audit": 1}  # action's position
_ACTION_CELL = re.compile(r"`([a-z][a-z0-9_.-]*)`")
_FILE_SUFFIX = re.compile(r"\.(py|md|js|css|html|json|npy|yaml|yml|txt|csv|xml|xsd|db)$")


def _documented_actions() -> set[str]:
    parts = (DOCS / "reports.md").read_text().split("\n### Actions\n", 1)
    assert len(parts) == 2, "reports.md has no '### Actions' table"
    section = parts[1].split("\n#", 1)[0]
    found: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            found |= set(_ACTION_CELL.findall(line.split("|")[1]))
    return found


def _written_actions() -> dict[str, str]:
    """Literal actions handed to an audit writer (``audit.append``, ``audit_hook``,
    ``audit_change``, ``_audit``) or to a variable typed ``AuditAction``. Action -> file."""
    found: dict[str, str] = {}
    for where, tree in _sources():
        for node in ast.walk(tree):
            texts: set[str] = set()
            if isinstance(node, ast.Call) and (name := _call_name(node)) in _WRITERS:
                is_list_append = name == "append" and not (
                    isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "audit"
                )
                if not is_list_append:
                    pos = _WRITERS[name]
                    texts |= _strings(node.args[pos]) if len(node.args) > pos else set()
                    texts |= {
                        t for kw in node.keywords if kw.arg == "action" for t in _strings(kw.value)
                    }
            elif isinstance(node, ast.AnnAssign) and ast.unparse(node.annotation) == "AuditAction":
                texts |= _strings(node.value)
            for text in texts:
                found.setdefault(text, where)
    return found


def test_every_audit_action_is_documented_and_every_documented_one_is_written() -> None:
    actions = set(get_args(AuditAction))
    documented = _documented_actions()
    assert actions - documented == set(), "written by the code, missing from reports.md"
    assert documented - actions == set(), "in reports.md, never written by the code"


def test_audit_writers_use_only_the_listed_actions() -> None:
    written = _written_actions()
    assert {"bank.update", "evidence.hold", "console.sign-in"} <= set(written)
    unknown = {a: where for a, where in written.items() if a not in ACTIONS}
    assert unknown == {}
    assert ACTIONS - set(written) == set(), "listed in AuditAction but written nowhere"


def test_docs_name_no_audit_action_the_code_does_not_write() -> None:
    prefixes = {a.split(".")[0] for a in ACTIONS} | {"auth"}
    stray: dict[str, str] = {}
    for page in sorted(DOCS.glob("*.md")):
        for token in re.findall(r"`([a-z][a-z0-9_-]*\.[a-z0-9_.-]+)`", page.read_text()):
            action_like = token.split(".")[0] in prefixes and not _FILE_SUFFIX.search(token)
            if action_like and token not in ACTIONS:
                stray.setdefault(token, page.name)
    assert stray == {}


# --- background tasks: operations.md lists exactly the registry's tasks -----------------------


def _task_rows() -> list[list[str]]:
    from safespace.runtime import TASKS

    rows = []
    for task in TASKS:
        every = f"{task.interval:g} s"
        if task.setting is not None:
            every += f" (`SAFESPACE_{task.setting.upper()}`)"
        rows.append([f"`{task.name}`", every, f"`{task.placement}`", task.description])
    return rows


def test_operations_lists_every_background_task_as_the_registry_does() -> None:
    text = (DOCS / "operations.md").read_text()
    section = text.split("\n## Background tasks\n", 1)[1].split("\n## ", 1)[0]
    found = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| `")
    ]
    expected = _task_rows()
    table = "\n".join("| " + " | ".join(row) + " |" for row in expected)
    assert found == expected, f"docs/operations.md's Background tasks table should read:\n{table}"
