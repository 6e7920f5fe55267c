"""``safespace exchange add|list|fetch|pause|resume|remove`` with a list at a path."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from conftest import RunCli


def test_a_list_source_through_the_command_line(run_cli: RunCli, tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("video_md5 " + "a" * 32 + "\nvideo_md5 " + "b" * 32 + "\n")
    assert run_cli("bank", "create", "common").exit_code == 0
    added = run_cli("exchange", "add", "feed", "--type", "list", "--bank", "common",
                    "--url", str(listing))  # fmt: skip
    assert added.exit_code == 0, added.stderr
    assert added.rows[0]["status"] == "new"
    fetched = run_cli("exchange", "fetch", "feed")
    assert fetched.exit_code == 0, fetched.stderr
    assert [r["added"]["value"] for r in fetched.rows[:-1]] == ["a" * 32, "b" * 32]
    assert fetched.rows[-1]["added"] == 2
    listing.write_text("video_md5 " + "a" * 32 + "\n")
    assert run_cli("exchange", "fetch", "feed").rows[-1]["removed"] == 1
    (row,) = run_cli("exchange", "list").rows
    assert (row["status"], row["counts"]["entries"]) == ("ok", 1)
    assert run_cli("exchange", "pause", "feed").rows[0]["status"] == "paused"
    assert run_cli("exchange", "resume", "feed").rows[0]["status"] == "ok"
    assert run_cli("exchange", "remove", "feed").rows[0]["entries_removed"] == 1
    assert run_cli("exchange", "list").rows == []


def test_a_failed_fetch_exits_1_and_a_missing_source_3(run_cli: RunCli, tmp_path: Path) -> None:
    assert run_cli("bank", "create", "common").exit_code == 0
    run_cli("exchange", "add", "feed", "--type", "list", "--bank", "common",
            "--url", str(tmp_path / "missing.txt"))  # fmt: skip
    failed = run_cli("exchange", "fetch", "feed")
    assert failed.exit_code == 1
    assert failed.rows[-1]["error_code"] == "source-unavailable"
    assert run_cli("exchange", "fetch", "nope").exit_code == 3


def test_a_peer_key_is_read_from_a_file_and_sealed(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFESPACE_EVIDENCE_KEY", base64.b64encode(os.urandom(32)).decode())
    key = tmp_path / "peer.key"
    key.write_text("ss_live_peer_key\n")
    assert run_cli("bank", "create", "common").exit_code == 0
    added = run_cli("exchange", "add", "peer", "--type", "safespace", "--url",
                    "http://127.0.0.1:9", "--key-file", str(key), "--remote-bank", "theirs",
                    "--bank", "common")  # fmt: skip
    assert added.exit_code == 0, added.stderr
    assert added.rows[0]["credentials"] == ["api_key"]
    assert "ss_live_peer_key" not in added.stdout
