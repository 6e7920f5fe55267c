"""``safespace bank create/update --threshold`` and ``safespace match --signal``: thresholds
and hashes of any registered signal type from the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

RunCli = Callable[..., Any]  # the run_cli fixture (tests/cli/conftest.py)

PDQ_A = "f" * 64
PDQ_6_AWAY = "f" * 62 + "c0"  # 6 bits from PDQ_A
MD5_A = "0123456789abcdef" * 2


def test_thresholds_from_the_command_line(run_cli: RunCli) -> None:
    made = run_cli("bank", "create", "a", "--threshold", "pdq_distance=4")
    assert made.exit_code == 0, made.stderr
    assert made.rows[0]["thresholds"]["pdq"] == {"distance": 4}
    assert run_cli("bank", "create", "b").rows[0]["thresholds"]["pdq"] == {"distance": 31}
    changed = run_cli("bank", "update", "a", "--threshold", "photo_pdq_distance=8")
    assert changed.rows[0]["thresholds"]["pdq"] == {"distance": 8}
    # Each other type keeps its own defaults (a video type's distance and match percentages).
    assert changed.rows[0]["thresholds"]["vpdq"] == {
        "distance": 31, "query_match_percent": 80, "compared_match_percent": 0,
    }  # fmt: skip
    for bad in ("pdq_distance=x", "pdq_distance", "pdq_radius=3", "pdq_distance=200"):
        refused = run_cli("bank", "update", "a", "--threshold", bad)
        assert refused.exit_code == 2, (bad, refused.stdout)
    assert run_cli("bank", "list", "--json").rows[0]["thresholds"]["pdq"] == {"distance": 8}


def test_match_takes_any_signal_type(run_cli: RunCli, tmp_path: Path) -> None:
    run_cli("bank", "create", "near", "--threshold", "pdq_distance=8")
    run_cli("bank", "create", "strict", "--distance", "4")
    for bank in ("near", "strict"):
        listed = tmp_path / f"{bank}.txt"
        listed.write_text(f"pdq {PDQ_A}\nmd5 {MD5_A}\n")
        assert run_cli("bank", "import", bank, str(listed)).exit_code == 0
    found = run_cli("match", "--signal", f"photo_pdq={PDQ_6_AWAY}")
    assert found.exit_code == 0, found.stderr
    assert [r["bank"] for r in found.rows] == ["near"]
    both = run_cli("match", "--md5", MD5_A, "--signal", f"pdq={PDQ_A}")
    assert sorted((r["bank"], r["signal_type"]) for r in both.rows) == [
        ("near", "md5"), ("near", "pdq"), ("strict", "md5"), ("strict", "pdq"),
    ]  # fmt: skip
    assert run_cli("match", "--signal", "no-equals-sign").exit_code == 2
