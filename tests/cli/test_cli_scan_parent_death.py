"""``kill -9`` of a running ``safespace scan``: its hashing workers exit too.

The workers are held busy by a hook (the scan's per-file hash function replaced, before the
pool starts, by one that records its worker's pid and then waits forever; it lives in a
module of its own, which the spawned workers import by name), so the scan is certainly
mid-way when it is killed. Nothing is timed: the test polls, with a generous
deadline, until every worker pid is gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

WORKERS = 2
DEADLINE = 120.0

# The hashing hook: a module the workers import (a spawned worker starts clean, so the
# function the pool is handed must be importable by name there).
HOOK_MODULE = """
import os, threading
from pathlib import Path

def held(path, exact, limits):
    (Path(os.environ["SCAN_HOOK_PIDS"]) / str(os.getpid())).touch()
    threading.Event().wait()
"""

# The real CLI entry point, with the hashing hook installed first.
HOOK = """
import os, sys
sys.path.insert(0, sys.argv[1])
os.environ["SCAN_HOOK_PIDS"] = sys.argv[2]
import safespace._scan as scan
from scan_hook import held

scan._hash_one = held
sys.argv = ["safespace", *sys.argv[3:]]
from safespace.cli import main
main()
"""


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for init to reap it counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _poll(check: object, deadline: float) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return bool(check())  # type: ignore[operator]


def test_workers_exit_when_the_scan_is_killed(tmp_path: Path) -> None:
    root = tmp_path / "images"
    root.mkdir()
    rng = np.random.default_rng(7)
    for i in range(WORKERS * 3):
        pixels = rng.integers(0, 256, size=(32, 32, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / f"{i}.png")
    pids_dir = tmp_path / "workers"
    pids_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFESPACE_")}
    env["SAFESPACE_DATA_DIR"] = str(tmp_path / "data")
    args = ["scan", str(root), "--workers", str(WORKERS), "--no-progress"]
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir()
    (hook_dir / "scan_hook.py").write_text(HOOK_MODULE)
    proc = subprocess.Popen(
        [sys.executable, "-c", HOOK, str(hook_dir), str(pids_dir), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    workers: list[int] = []
    try:
        started = lambda: len(list(pids_dir.iterdir())) >= WORKERS  # noqa: E731
        busy = _poll(lambda: started() or proc.poll() is not None, DEADLINE)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert busy
        workers = [int(p.name) for p in pids_dir.iterdir()]
        assert all(_alive(pid) for pid in workers)
        proc.send_signal(signal.SIGKILL)
        proc.wait(DEADLINE)
        gone = _poll(lambda: not any(_alive(pid) for pid in workers), DEADLINE)
        assert gone, f"workers still running after their scan was killed: {workers}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(DEADLINE)
        for pid in workers:  # never leave a stray worker behind, even when the test fails
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
