"""Shared Deter fixtures: the packaged data, a deterrer with a fixed key and clock, and a
helper that writes an operator's Deter folder (placeholder terms only, never real ones)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from safespace.deter import DEFAULT_DATA_DIR, DeterData, Deterrer, load_data

SECRET = b"test-secret-0123456789abcdef"
NOW = 1_800_000_000.0


@pytest.fixture(scope="session")
def data() -> DeterData:
    return load_data()


@pytest.fixture
def deterrer(data: DeterData) -> Deterrer:
    return Deterrer(data, SECRET, clock=lambda: NOW)


Build = Callable[..., Deterrer]


@pytest.fixture
def build() -> Build:
    """A deterrer from an operator folder, with the test key and a fixed clock."""

    def make(folder: Path | None = None, **kw: object) -> Deterrer:
        return Deterrer(load_data(folder), SECRET, clock=lambda: NOW, **kw)  # type: ignore[arg-type]

    return make


MakeDir = Callable[..., Path]


@pytest.fixture
def make_dir(tmp_path: Path) -> MakeDir:
    """An operator folder: copies of chosen packaged files, then the given files written."""

    def make(files: dict[str, str] | None = None, copy: tuple[str, ...] = ()) -> Path:
        root = tmp_path / "deter"
        root.mkdir(exist_ok=True)
        for name in copy:
            shutil.copy(DEFAULT_DATA_DIR / name, root / name)
        for name, text in (files or {}).items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return root

    return make


def packaged(name: str) -> str:
    return (DEFAULT_DATA_DIR / name).read_text(encoding="utf-8")


@pytest.fixture
def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Callable[..., tuple[int, str, str]]:
    from safespace.cli import main

    monkeypatch.setenv("SAFESPACE_DATA_DIR", str(tmp_path / "data"))

    def run(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["safespace", *args])
        capsys.readouterr()
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return code, out, err

    return run
