"""A real interruption: SIGINT to a running scan, then the same command resumes it."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

CLI = [sys.executable, "-c", "from safespace.cli import main; main()"]


def test_interrupted_scan_resumes(tmp_path: Path, testdata: Path) -> None:
    root = tmp_path / "uploads"
    root.mkdir()
    photos = sorted((testdata / "pdq" / "bridge-mods").glob("*.jpg"))
    for i in range(6):
        for photo in photos:
            shutil.copy(photo, root / f"{i}-{photo.name}")
    total = 6 * len(photos)
    env = {**os.environ, "SAFESPACE_DATA_DIR": str(tmp_path / "data")}
    state = tmp_path / "state.jsonl"
    args = [*CLI, "scan", str(root), "--state", str(state), "--workers", "1", "--no-progress"]

    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if state.exists() and len(state.read_text().splitlines()) >= 3:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the scan finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert b"run the same command again to resume" in err
    done_first = len(state.read_text().splitlines())
    assert 3 <= done_first < total

    resumed = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout.splitlines()[-1])["summary"]
    assert summary["files"] == total
    assert summary["resumed"] >= done_first - 1  # a line cut short by the signal is redone
    assert summary["errors"] == 0
    assert len({json.loads(x)["path"] for x in state.read_text().splitlines()}) == total
