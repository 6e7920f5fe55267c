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


# A fresh clone has nothing beside it: tests read their data from tests/data only.
OUTSIDE = re.compile(
    r"""\.\./shared|["']shared["']|["']shared/|parents\[(?:[3-9]|\d\d)\]"""
    r"""|parent\.parent\.parent\.parent"""
)
TEST_DATA = ROOT / "tests" / "data"
TEST_DATA_BUDGET = 20 * 1024 * 1024  # bytes; generate large inputs in the test instead


def _reads_outside(line: str) -> bool:
    return bool(OUTSIDE.search(line))


def test_the_outside_pattern_catches_the_old_paths() -> None:
    assert _reads_outside('TESTDATA = Path(__file__).resolve().parents[3] / "shared" / "testdata"')
    assert _reads_outside('XSD = Path(__file__).parents[3] / "shared/specs/x.xsd"')
    assert _reads_outside('DATA = ROOT / ".." / "shared" / "testdata"')
    assert _reads_outside('open("../shared/testdata/pdq/x.jpg")')
    assert not _reads_outside('TESTDATA = Path(__file__).resolve().parent / "data"')
    assert not _reads_outside("assert limiter.shared  # a shared bucket file")


def test_tests_read_nothing_outside_the_repository() -> None:
    offenders = []
    for folder in ("tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == Path(__file__).resolve():
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if _reads_outside(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_test_data_stays_small_and_documented() -> None:
    files = [path for path in TEST_DATA.rglob("*") if path.is_file()]
    assert len(files) > 40  # the images and clips are really here
    total = sum(path.stat().st_size for path in files)
    assert total <= TEST_DATA_BUDGET, f"tests/data is {total / 2**20:.1f} MiB"
    assert (TEST_DATA / "LICENSE-ThreatExchange").is_file()
    provenance = (TEST_DATA / "README.md").read_text(encoding="utf-8")
    for folder in sorted({path.parent for path in files if path.parent != TEST_DATA}):
        assert f"{folder.relative_to(TEST_DATA).as_posix()}/" in provenance, folder
