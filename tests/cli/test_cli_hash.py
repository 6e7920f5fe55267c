import csv
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

RunCli = Callable[..., Any]  # the run_cli fixture (tests/cli/conftest.py)


def _reference(testdata: Path) -> dict[str, dict[str, str]]:
    with (testdata / "pdq" / "reference-hashes.csv").open() as fh:
        return {row["path"]: row for row in csv.DictReader(fh)}


def test_hash_exact_reproduces_the_reference(run_cli: RunCli, testdata: Path) -> None:
    ref = _reference(testdata)
    paths = [testdata / "pdq" / p for p in ref]
    result = run_cli("hash", "--exact", *map(str, paths))
    assert result.exit_code == 0, result.stderr
    rows = result.rows
    assert len(rows) == len(ref)
    for row in rows:
        want = ref[str(Path(row["path"]).relative_to(testdata / "pdq"))]
        assert row["pdq"] == want["pdq"]
        assert row["pdq_quality"] == int(want["quality"])
        assert (row["md5"], row["sha256"]) == (want["md5"], want["sha256"])


def test_hash_fast_mode_stays_within_four_bits(run_cli: RunCli, testdata: Path) -> None:
    ref = _reference(testdata)
    result = run_cli("hash", *(str(testdata / "pdq" / p) for p in ref))
    assert result.exit_code == 0
    for row in result.rows:
        want = ref[str(Path(row["path"]).relative_to(testdata / "pdq"))]["pdq"]
        assert bin(int(row["pdq"], 16) ^ int(want, 16)).count("1") <= 4


def test_hash_reports_each_bad_file_and_exits_non_zero(
    run_cli: RunCli, testdata: Path, tmp_path: Path
) -> None:
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("hello")
    good = tmp_path / "good.jpg"
    shutil.copy(testdata / "pdq" / "bridge-mods" / "aaa-orig.jpg", good)
    result = run_cli("hash", str(empty), str(good), str(text), str(tmp_path / "missing.jpg"))
    assert result.exit_code == 1
    rows = {Path(r["path"]).name: r for r in result.rows}
    assert rows["good.jpg"]["pdq"]
    assert "error" not in rows["good.jpg"]
    assert rows["empty.jpg"]["error_code"] == "empty-media"
    assert rows["notes.png"]["error_code"] == "unsupported-media"
    assert rows["missing.jpg"]["error"]
    assert "3 of 4 files could not be hashed" in result.stderr


def test_hash_video_gives_exact_hashes_only(run_cli: RunCli, testdata: Path) -> None:
    video = sorted((testdata / "video").glob("*.mp4"))[0]
    result = run_cli("hash", str(video))
    assert result.exit_code == 0
    (row,) = result.rows
    assert row["pdq"] is None
    assert len(row["md5"]) == 32
    assert len(row["sha256"]) == 64


def test_hash_dihedral_lists_eight_hashes(run_cli: RunCli, testdata: Path) -> None:
    path = testdata / "pdq" / "reg-test-input" / "dih" / "bridge-1-original.jpg"
    (row,) = run_cli("hash", "--dihedral", str(path)).rows
    assert len(row["pdq_dihedral"]) == 8
    assert row["pdq_dihedral"][0] == row["pdq"]


def test_bad_setting_is_one_line(run_cli: RunCli, monkeypatch, testdata: Path) -> None:
    monkeypatch.setenv("SAFESPACE_MIN_PDQ_QUALITY", "abc")
    result = run_cli("hash", str(testdata / "pdq" / "misc-images" / "c.png"))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: bad setting")
    assert len(result.stderr.strip().splitlines()) == 1


def test_hash_video_lists_its_vpdq_frames(run_cli: RunCli) -> None:
    from datafiles import PATTERN_SD_VIDEO

    (row,) = run_cli("hash", str(PATTERN_SD_VIDEO)).rows
    frames = row["vpdq"]
    assert frames, row
    assert [f["frame"] for f in frames] == sorted(f["frame"] for f in frames)
    assert [round(f["timestamp"]) for f in frames] == list(range(len(frames)))  # 1 per second
    for frame in frames:
        assert set(frame) == {"frame", "timestamp", "quality", "pdq"}
        assert len(frame["pdq"]) == 64
        assert 0 <= frame["quality"] <= 100
    (every,) = run_cli("hash", "--seconds-per-hash", "0", str(PATTERN_SD_VIDEO)).rows
    assert len(every["vpdq"]) > len(frames)
    assert [f["frame"] for f in every["vpdq"]] == list(range(len(every["vpdq"])))
    bad = run_cli("hash", "--seconds-per-hash", "-1", str(PATTERN_SD_VIDEO))
    assert bad.exit_code == 2


def test_an_image_has_no_vpdq(run_cli: RunCli, testdata: Path) -> None:
    path = testdata / "pdq" / "reg-test-input" / "dih" / "bridge-1-original.jpg"
    (row,) = run_cli("hash", str(path)).rows
    assert "vpdq" not in row
