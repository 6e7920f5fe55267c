"""A real interruption: SIGINT to a running scan, then the same command resumes it.

The scan is held, not raced: the command runs under a small launcher that wraps the scan's
``on_outcome`` callback so that, once ``HOLD_AFTER`` files are recorded, the scan writes a
marker file and blocks until a signal comes. The SIGINT therefore always lands in the middle
of the scan, however fast or slow the machine is.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

CLI = [sys.executable, "-c", "from safespace.cli import main; main()"]
HOLD_AFTER = 3
# Runs the real command; the only change is the wrapped callback (``safespace._scan.scan`` is
# looked up when the command runs).
HELD_CLI = [
    sys.executable,
    "-c",
    f"""
import os, sys, threading
from pathlib import Path
import safespace._scan as scanning
from safespace.cli import main

real_scan = scanning.scan

def held_scan(*args, on_outcome=None, **kwargs):
    recorded = 0
    def hook(outcome, resumed):
        nonlocal recorded
        if on_outcome is not None:
            on_outcome(outcome, resumed)
        if not resumed:
            recorded += 1
            if recorded == {HOLD_AFTER}:
                Path(os.environ["HOLD_MARKER"]).write_text("held")
                threading.Event().wait()  # until SIGINT raises KeyboardInterrupt here
    return real_scan(*args, on_outcome=hook, **kwargs)

scanning.scan = held_scan
main()
""",
]


def test_interrupted_scan_resumes(tmp_path: Path, testdata: Path) -> None:
    root = tmp_path / "uploads"
    root.mkdir()
    photos = sorted((testdata / "pdq" / "bridge-mods").glob("*.jpg"))
    for i in range(6):
        for photo in photos:
            shutil.copy(photo, root / f"{i}-{photo.name}")
    total = 6 * len(photos)
    marker = tmp_path / "held"
    env = {
        **os.environ,
        "SAFESPACE_DATA_DIR": str(tmp_path / "data"),
        "HOLD_MARKER": str(marker),
    }
    state = tmp_path / "state.jsonl"
    scan_args = ["scan", str(root), "--state", str(state), "--workers", "1", "--no-progress"]

    proc = subprocess.Popen(
        [*HELD_CLI, *scan_args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 300  # only how long a very slow machine may take
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the scan never reached the hold"
        assert proc.poll() is None  # held: it cannot have finished
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert b"run the same command again to resume" in err
    lines = state.read_text().splitlines()
    assert len(lines) == HOLD_AFTER  # exactly what finished before the interruption
    first = {json.loads(line)["path"] for line in lines}

    resumed = subprocess.run(
        [*CLI, *scan_args], env=env, capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout.splitlines()[-1])["summary"]
    assert summary["files"] == total
    assert summary["resumed"] == HOLD_AFTER
    assert summary["errors"] == 0
    paths = [json.loads(x)["path"] for x in state.read_text().splitlines()]
    assert len(paths) == len(set(paths)) == total  # nothing hashed twice
    assert first <= set(paths)
