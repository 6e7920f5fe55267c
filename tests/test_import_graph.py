"""The modules of ``src/safespace`` import each other without cycles.

The graph is built from each module's top-level imports (read from its AST, nothing is
imported): runtime imports, and separately those guarded by ``if TYPE_CHECKING:``, which
hide a cycle from the interpreter but not from a reader. Imports inside functions are left
out: they run later, once every module has loaded.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def _modules() -> dict[str, tuple[Path, bool]]:
    found: dict[str, tuple[Path, bool]] = {}
    for path in sorted((SRC / "safespace").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        package = parts[-1] == "__init__"
        if package:
            parts.pop()
        found[".".join(parts)] = (path, package)
    return found


def _owner(name: str, modules: dict[str, tuple[Path, bool]]) -> str | None:
    """The module of ours that ``name`` (a module or a name in one) belongs to."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _imports(
    body: Iterable[ast.stmt], here: str, package: bool, guarded: bool
) -> Iterable[tuple[str, bool]]:
    """(imported name, under TYPE_CHECKING) for each top-level import, through if/try."""
    base = here if package else here.rpartition(".")[0]
    for node in body:
        if isinstance(node, ast.If):
            checking = "TYPE_CHECKING" in ast.unparse(node.test)
            yield from _imports(node.body, here, package, guarded or checking)
            yield from _imports(node.orelse, here, package, guarded)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _imports(block, here, package, guarded)
            for handler in node.handlers:
                yield from _imports(handler.body, here, package, guarded)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, guarded
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = base
                for _ in range(node.level - 1):
                    parent = parent.rpartition(".")[0]
                module = f"{parent}.{node.module}" if node.module else parent
            else:
                module = node.module or ""
            for alias in node.names:
                yield f"{module}.{alias.name}", guarded  # a submodule, or a name in module


def _graph(*, with_type_checking: bool) -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, (path, package) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges = set()
        for imported, guarded in _imports(tree.body, name, package, False):
            if guarded and not with_type_checking:
                continue
            target = _owner(imported, modules)
            if target is not None and target != name:
                edges.add(target)
        graph[name] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_graph_sees_the_package() -> None:
    graph = _graph(with_type_checking=True)
    assert len(graph) > 100
    assert "safespace.deter._configuration" in graph["safespace.deter._engine"]
    assert "safespace.deter._engine" in graph["safespace.deter._loading"]


def test_cycles_are_found() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_runtime_import_cycles() -> None:
    assert _cycles(_graph(with_type_checking=False)) == []


def test_no_import_cycles_hidden_under_type_checking() -> None:
    assert _cycles(_graph(with_type_checking=True)) == []
