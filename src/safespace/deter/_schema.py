"""Reading the Deter data files with errors that name the file, the place and the problem.

Every data file is YAML (or plain text for term lists). A bad file must fail on load with a
message an operator can act on, e.g. ``chatbot.yaml: nodes.intro.buttons[1].next: no node
'hlep'``, never a traceback, because these files are edited by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from safespace.errors import ConfigError

__all__ = ["Node", "load_yaml", "read_text"]

_MAX_DATA_BYTES = 64 * 1024 * 1024


class Node:
    """A value inside a loaded YAML file, with the path that leads to it (for errors)."""

    __slots__ = ("file", "path", "value")

    def __init__(self, value: Any, file: str, path: str = "") -> None:
        self.value = value
        self.file = file
        self.path = path

    def fail(self, problem: str) -> ConfigError:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return ConfigError(f"{where}: {problem}")

    def _child(self, value: Any, key: str | int) -> Node:
        if isinstance(key, int):
            path = f"{self.path}[{key}]"
        else:
            path = f"{self.path}.{key}" if self.path else key
        return Node(value, self.file, path)

    # --- typed accessors ------------------------------------------------------------------

    def mapping(self) -> dict[str, Any]:
        if not isinstance(self.value, dict):
            raise self.fail(f"expected a mapping, got {_kind(self.value)}")
        for key in self.value:
            if not isinstance(key, str):
                raise self.fail(f"keys must be text, got {key!r}")
        return self.value

    def keys(self, allowed: set[str], required: frozenset[str] = frozenset()) -> None:
        data = self.mapping()
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.fail(f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
        for key in sorted(required):
            if key not in data:
                raise self.fail(f"missing required key {key!r}")

    def get(self, key: str, default: Any = None) -> Node:
        data = self.mapping()
        return self._child(data.get(key, default), key)

    def items(self) -> Iterator[tuple[str, Node]]:
        for key, value in self.mapping().items():
            yield key, self._child(value, key)

    def seq(self, *, allow_empty: bool = True) -> list[Node]:
        if self.value is None and allow_empty:
            return []
        if not isinstance(self.value, list):
            raise self.fail(f"expected a list, got {_kind(self.value)}")
        if not self.value and not allow_empty:
            raise self.fail("must not be empty")
        return [self._child(v, i) for i, v in enumerate(self.value)]

    def text(self, *, allow_empty: bool = False, max_len: int = 10_000) -> str:
        if not isinstance(self.value, str):
            raise self.fail(f"expected text, got {_kind(self.value)}")
        value = self.value.strip()
        if not value and not allow_empty:
            raise self.fail("must not be empty")
        if len(value) > max_len:
            raise self.fail(f"longer than {max_len} characters")
        return value

    def opt_text(self) -> str | None:
        return None if self.value is None else self.text()

    def ident(self) -> str:
        """An id: lowercase letters, digits, '-', '_' and '.', starting with a letter or digit."""
        value = self.text(max_len=200)
        if not _is_ident(value):
            raise self.fail(f"{value!r} is not a valid id (use a-z, 0-9, '-', '_', '.')")
        return value

    def texts(self, *, allow_empty: bool = False) -> list[str]:
        return [n.text() for n in self.seq(allow_empty=allow_empty)]

    def number(self, *, minimum: float | None = None, maximum: float | None = None) -> float:
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            raise self.fail(f"expected a number, got {_kind(self.value)}")
        value = float(self.value)
        if value != value or (minimum is not None and value < minimum):
            raise self.fail(f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise self.fail(f"must be at most {maximum}")
        return value

    def integer(self, *, minimum: int | None = None, maximum: int | None = None) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.fail(f"expected a whole number, got {_kind(self.value)}")
        if minimum is not None and self.value < minimum:
            raise self.fail(f"must be at least {minimum}")
        if maximum is not None and self.value > maximum:
            raise self.fail(f"must be at most {maximum}")
        return int(self.value)

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.fail(f"expected true or false, got {_kind(self.value)}")
        return self.value

    def choice(self, options: set[str]) -> str:
        value = self.text()
        if value not in options:
            raise self.fail(f"{value!r} is not one of {', '.join(sorted(options))}")
        return value


def _is_ident(value: str) -> bool:
    if not value or not (value[0].isascii() and value[0].isalnum()):
        return False
    return (
        all(c.isascii() and (c.isalnum() or c in "-_.:") for c in value) and value == value.lower()
    )


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


def read_text(path: Path) -> str:
    """A data file's text; unreadable, oversized or non-UTF-8 files are a ConfigError."""
    try:
        size = path.stat().st_size
        if size > _MAX_DATA_BYTES:
            raise ConfigError(f"{path}: larger than {_MAX_DATA_BYTES // (1024 * 1024)} MiB")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def load_yaml(path: Path, *, kind: str, version: int = 1) -> Node:
    """Parse a data file; its top level must be a mapping with ``version`` (if present) known."""
    text = read_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{path}:{where}: {problem}") from None
    node = Node(data, str(path))
    if not isinstance(data, dict):
        raise node.fail(f"a {kind} file must hold a mapping at the top, got {_kind(data)}")
    got = data.get("version", version)
    if got != version:
        raise node.get("version").fail(
            f"unsupported version {got!r} (this SafeSpace reads {version})"
        )
    return node
