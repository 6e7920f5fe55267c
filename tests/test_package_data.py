"""Every file the package needs at run time is in a built wheel: each file under
src/safespace that is not Python source is named by pyproject.toml's package-data (a
template or a data folder added without it works in a checkout and breaks when installed)."""

from __future__ import annotations

import glob
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def _data_files() -> set[Path]:
    """Every file under src/safespace but Python source and what Python writes itself (the
    tree, not git: CI runs the tests from a copy with no .git)."""
    found = set()
    for path in (SRC / "safespace").rglob("*"):
        parts = path.relative_to(SRC).parts
        if not path.is_file() or "__pycache__" in parts or any(p.startswith(".") for p in parts):
            continue
        if path.suffix not in (".py", ".pyc"):
            found.add(path)
    return found


def _packaged() -> set[Path]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    found: set[Path] = set()
    for package, patterns in config["tool"]["setuptools"]["package-data"].items():
        base = SRC.joinpath(*package.split("."))
        for pattern in patterns:
            found |= {base / p for p in glob.glob(pattern, root_dir=base, recursive=True)}
    return found


def test_every_data_file_is_in_package_data() -> None:
    missing = sorted(str(f.relative_to(ROOT)) for f in _data_files() - _packaged())
    assert missing == [], "add these to [tool.setuptools.package-data] in pyproject.toml"
