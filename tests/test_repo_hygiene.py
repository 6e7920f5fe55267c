"""The repository works wherever it is cloned: no absolute paths into one machine's layout."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ABSOLUTE = re.compile(r"""["'](/work/|/home/|/root/|/tmp/ci)""")


def test_no_machine_specific_paths() -> None:
    offenders = []
    for folder in ("src", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if ABSOLUTE.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
