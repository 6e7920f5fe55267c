"""Every file the package needs at run time is in a built wheel: each tracked file under
src/safespace that is not Python source is named by pyproject.toml's package-data (a
template or a data folder added without it works in a checkout and breaks when installed)."""

from __future__ import annotations

import glob
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def _tracked_data_files() -> set[Path]:
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "src/safespace"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    files = {ROOT / line for line in out.splitlines() if line}
    return {f for f in files if f.suffix != ".py" and f.is_file()}


def _packaged() -> set[Path]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    found: set[Path] = set()
    for package, patterns in config["tool"]["setuptools"]["package-data"].items():
        base = SRC.joinpath(*package.split("."))
        for pattern in patterns:
            found |= {base / p for p in glob.glob(pattern, root_dir=base, recursive=True)}
    return found


def test_every_data_file_is_in_package_data() -> None:
    missing = sorted(str(f.relative_to(ROOT)) for f in _tracked_data_files() - _packaged())
    assert missing == [], "add these to [tool.setuptools.package-data] in pyproject.toml"
