import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

RunCli = Callable[..., Any]  # the run_cli fixture (tests/cli/conftest.py)


def test_match_by_hash(run_cli: RunCli, known_bank: Path) -> None:
    (row,) = run_cli("hash", str(known_bank)).rows
    by_pdq = run_cli("match", "--bank", "known", "--pdq", row["pdq"])
    assert by_pdq.exit_code == 0
    (m,) = by_pdq.rows
    assert (m["bank"], m["distance"], m["signal_type"]) == ("known", 0, "pdq")
    assert "entry_id" in m
    assert "metadata" in m

    by_md5 = run_cli("match", "--md5", row["md5"])
    assert [r["signal_type"] for r in by_md5.rows] == ["md5"]

    none = run_cli("match", "--pdq", "0" * 64)
    assert none.rows == []

    bad = run_cli("match", "--pdq", "xyz")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error:")
    unknown = run_cli("match", "--bank", "nope", "--pdq", row["pdq"])
    assert unknown.exit_code == 3


def test_match_files_finds_every_bridge_edit(
    run_cli: RunCli, known_bank: Path, testdata: Path
) -> None:
    edits = sorted((testdata / "pdq" / "bridge-mods").glob("*.jpg"))
    result = run_cli("match", "--bank", "known", *map(str, edits))
    assert result.exit_code == 0
    matched = {Path(r["path"]).name for r in result.rows if r.get("signal_type") == "pdq"}
    assert matched == {p.name for p in edits}
    assert all(r["distance"] <= 31 for r in result.rows if r.get("signal_type") == "pdq")


def test_dihedral_matching_catches_rotations(
    run_cli: RunCli, testdata: Path, tmp_path: Path
) -> None:
    dih = sorted((testdata / "pdq" / "reg-test-input" / "dih").glob("*.jpg"))
    (row,) = run_cli("hash", str(dih[0])).rows
    src = tmp_path / "dih.txt"
    src.write_text(f"pdq {row['pdq']}\n")
    run_cli("bank", "create", "dih")
    run_cli("bank", "import", "dih", str(src))
    plain = {Path(r["path"]).name for r in run_cli("match", *map(str, dih)).rows if "bank" in r}
    assert plain == {dih[0].name}
    rotated = run_cli("match", "--dihedral", *map(str, dih))
    assert {Path(r["path"]).name for r in rotated.rows if "bank" in r} == {p.name for p in dih}


def _scan_tree(testdata: Path, tmp_path: Path) -> Path:
    root = tmp_path / "uploads"
    (root / "a" / "b").mkdir(parents=True)
    mods = testdata / "pdq" / "bridge-mods"
    shutil.copy(mods / "blur-a-lot.jpg", root / "a" / "one.jpg")
    shutil.copy(mods / "shrink-a-lot.jpg", root / "a" / "b" / "two.jpg")
    shutil.copy(testdata / "pdq" / "misc-images" / "c.png", root / "unrelated.png")
    (root / "broken.jpg").write_bytes((mods / "aaa-orig.jpg").read_bytes()[:2000])
    (root / "readme.txt").write_text("not media")
    return root


def test_scan_reports_matches_errors_and_a_summary(
    run_cli: RunCli, known_bank: Path, testdata: Path, tmp_path: Path
) -> None:
    root = _scan_tree(testdata, tmp_path)
    result = run_cli("scan", str(root), "--bank", "known", "--workers", "2", "--no-progress")
    assert result.exit_code == 0, result.stderr
    *matches, last = result.rows
    summary = last["summary"]
    assert (summary["files"], summary["errors"], summary["resumed"]) == (5, 2, 0)
    assert summary["matched_files"] == 2
    assert {Path(m["path"]).name for m in matches} == {"one.jpg", "two.jpg"}
    assert {Path(e["path"]).name for e in summary["error_paths"]} == {"broken.jpg", "readme.txt"}


def test_scan_resumes_where_it_stopped(
    run_cli: RunCli, known_bank: Path, testdata: Path, tmp_path: Path
) -> None:
    root = _scan_tree(testdata, tmp_path)
    state = tmp_path / "state.jsonl"
    first = run_cli("scan", str(root), "--state", str(state), "--no-progress")
    assert first.exit_code == 0
    lines = state.read_text().splitlines()
    assert len(lines) == 5
    # Pretend the first run was interrupted after two files (the last line cut short).
    state.write_text("\n".join(lines[:2]) + "\n" + lines[2][:10])
    done_before = {json.loads(x)["path"] for x in lines[:2]}
    second = run_cli("scan", str(root), "--state", str(state), "--no-progress")
    assert second.exit_code == 0
    summary = second.rows[-1]["summary"]
    assert (summary["files"], summary["resumed"], summary["matched_files"]) == (5, 2, 2)
    redone = {r["path"] for r in second.rows[:-1]}
    assert not (redone & done_before)


def test_scan_refuses_a_missing_folder(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("scan", str(tmp_path / "nowhere"))
    assert result.exit_code == 2
    assert "not a folder" in result.stderr


def test_demo_finds_the_edited_copies(run_cli: RunCli) -> None:
    result = run_cli("demo")
    assert result.exit_code == 0, result.stderr
    summary = result.rows[-1]["summary"]
    matched = {Path(r["path"]).name for r in result.rows[:-1] if "bank" in r}
    assert all(name.startswith("upload-") for name in matched)
    assert len(matched) == 16  # 4 known images x 4 edits, the rotated ones by dihedral matching
    assert summary["errors"] == 1  # notes.txt
