"""The video edit-type benchmark stays runnable and says what it measured: a quick run on two
generated clips whose printed table is parsed. The published table comes from a full run."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench_output import find

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _row(out: str, edit: str) -> list[str]:
    match = re.search(r"^\| " + re.escape(edit) + r" \| (.*) \|$", out, re.M)
    assert match, f"no row for {edit!r}:\n{out}"
    return match.group(1).split(" | ")


@pytest.mark.slow
def test_edit_benchmark_shows_what_each_option_adds_and_no_false_positive() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_video_edits.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=BENCH.parent,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = proc.stdout
    reference = "reference: not installed" not in out
    if not reference:
        assert os.environ.get("CI", "").lower() != "true", "vpdq is missing (the oracle extra)"
    # Columns: [reference,] safespace, + dihedral, + dihedral and crop borders.
    plain, dihedral, cropped = _row(out, "mirrored (left-right)")[-3:]
    assert (plain, dihedral, cropped) == ("0/2", "2/2", "2/2")
    plain, dihedral, cropped = _row(out, "letterboxed (black bars, +25% height)")[-3:]
    assert (plain, dihedral, cropped) == ("0/2", "0/2", "2/2")
    assert _row(out, "greyscale")[-3:] == ["2/2", "2/2", "2/2"]
    if reference:  # SafeSpace's hashes are the reference's: the plain columns agree
        for edit in ("mirrored (left-right)", "greyscale", "brightened (+40 levels)"):
            cells = _row(out, edit)
            assert cells[0] == cells[1], (edit, cells)
    for option in ("safespace", "plus_dihedral", "plus_dihedral_crop_borders"):
        assert find(f"false_positives_{option}: {{n}}", out) == (0,)
