"""``safespace deter``: analyze (table and JSON), check and validate, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

COUNTS = "arm,shown,outcome\ncontrol,100,27\nip_tracing,81,40\nillegality,99,52\nzero,20,0\n"


@pytest.fixture
def counts(tmp_path: Path) -> Path:
    path = tmp_path / "counts.csv"
    path.write_text(COUNTS)
    return path


def test_analyze_json(run_cli: Any, counts: Path) -> None:
    code, out, err = run_cli("deter", "analyze", str(counts), "--control", "control", "--json")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["arm"] for r in rows] == ["control", "ip_tracing", "illegality", "zero"]
    keys = {"arm", "shown", "outcome", "rate", "rate_ci_low", "rate_ci_high", "odds_ratio",
            "or_ci_low", "or_ci_high", "p_value"}  # fmt: skip
    assert all(keys <= set(r) for r in rows)
    control, ip, illegal, zero = rows
    assert control["p_value"] is None
    assert control["odds_ratio"] is None
    assert control["rate"] == 0.27
    assert round(ip["odds_ratio"], 2) == 2.64
    assert round(illegal["odds_ratio"], 2) == 2.99
    assert 0 < ip["p_value"] < 0.01
    assert zero["haldane_corrected"] is True
    assert zero["rate_ci_low"] == 0.0
    assert "exploratory" in err


def test_analyze_table(run_cli: Any, counts: Path) -> None:
    code, out, _ = run_cli("deter", "analyze", str(counts), "--control", "control")
    assert code == 0
    assert "ip_tracing" in out
    assert "2.64 (1.42-4.90)" in out
    assert "27.0% (19.3%-36.4%)" in out
    assert "Haldane-Anscombe" in out
    assert "no significance is called" in out


def test_analyze_with_plan(run_cli: Any, counts: Path) -> None:
    code, out, _ = run_cli(
        "deter", "analyze", str(counts), "--control", "control", "--planned", "300",
        "--looks", "0.02", "--json",
    )  # fmt: skip
    assert code == 0
    verdicts = [json.loads(line)["verdict"] for line in out.splitlines()]
    assert verdicts[0] == "control"
    assert set(verdicts[1:]) <= {"continue", "significant"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("arm,shown\na,1\n", "header must be arm,shown,outcome"),
        ("arm,shown,outcome\ncontrol,10,20\nb,5,1\n", "line 2: need shown > 0"),
        ("arm,shown,outcome\ncontrol,ten,2\nb,5,1\n", "line 2: shown and outcome"),
    ],
)
def test_analyze_bad_csv(run_cli: Any, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    code, out, err = run_cli("deter", "analyze", str(path), "--control", "control")
    assert code == 2
    assert out == ""
    assert err.strip().startswith("error: ")
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_analyze_missing_file_and_bad_looks(run_cli: Any, counts: Path) -> None:
    code, _, err = run_cli("deter", "analyze", "/nonexistent.csv", "--control", "c")
    assert code == 2
    assert "no such file" in err
    code, _, err = run_cli(
        "deter", "analyze", str(counts), "--control", "control", "--planned", "9", "--looks", "x"
    )
    assert code == 2
    assert "'x' is not a number" in err


def test_check(run_cli: Any) -> None:
    code, out, _ = run_cli("deter", "check", "t33n s3x", "--country", "GB")
    assert code == 0
    decision = json.loads(out)
    assert decision["reason"] == "builtin-minor-sexual"
    assert decision["intervention"]["help"][0]["id"] == "stop-it-now-uk"
    code, out, _ = run_cli("deter", "check", "how to report child abuse images")
    assert json.loads(out)["intervention"]["kind"] == "help"
    code, out, _ = run_cli("deter", "check", "", "--context", "upload", "--upload-matched")
    assert json.loads(out)["intervention"]["kind"] == "block_and_warn"
    code, _, err = run_cli("deter", "check", "x", "--context", "fax")
    assert code == 2
    assert "unknown context 'fax'" in err


def test_check_with_operator_terms(run_cli: Any, make_dir: Any) -> None:
    folder = make_dir({"terms/ops.txt": "zzterm1\n"})
    code, out, _ = run_cli("deter", "check", "ZZ T3RM 1", "--config-dir", str(folder))
    assert code == 0
    assert json.loads(out)["rule_id"] is None  # "zz t3rm 1": the gap splits the letters...
    code, out, _ = run_cli("deter", "check", "z z t 3 r m 1", "--config-dir", str(folder))
    assert json.loads(out)["rule_id"] == "ops:1"  # ...evenly spaced letters join up


def test_validate(run_cli: Any, make_dir: Any) -> None:
    code, out, err = run_cli("deter", "validate")
    assert code == 0
    summary = json.loads(out)
    assert summary["ok"] is True
    assert summary["locales"] == ["en"]
    assert summary["chatbot_nodes"] >= 8
    assert "has not been verified" in err
    folder = make_dir({"terms/a.txt": "zzterm1\nqqplaceholder\n"})
    code, out, _ = run_cli("deter", "validate", "--config-dir", str(folder))
    assert json.loads(out)["terms"] == 2


def test_validate_bad_folder(run_cli: Any, make_dir: Any) -> None:
    folder = make_dir({"chatbot.yaml": "version: 1\nid: x\nstart: a\nnodes: {}\n"})
    code, out, err = run_cli("deter", "validate", "--config-dir", str(folder))
    assert code == 2
    assert out == ""
    assert "chatbot.yaml" in err
    assert err.startswith("error: ")
