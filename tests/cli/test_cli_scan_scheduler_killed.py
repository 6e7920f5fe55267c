"""A Dask scheduler killed mid-run (issue 13): the command ends with one ``error:`` line and a
non-zero exit, and the same command against a new cluster resumes without hashing a done
file again, with the results of an uninterrupted run and no duplicate line or row.

Each cluster is real and separate from the test process: a ``dask scheduler`` process and a
``dask worker`` process with two single-threaded worker processes. The kill is driven, not
raced: the command (the real CLI in a subprocess) stops after a set number of recorded
files and waits for the test, which kills the scheduler and only then lets it go on.

Needs the cluster extra (distributed, fsspec); under CI=true its absence fails.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_cli_scan_cluster import _need_cluster_extra, _records, _tree

pytestmark = pytest.mark.slow
RunCli = Callable[..., Any]
HOLD_AFTER = 5
_START = 300.0  # only how long a very slow machine may take to start or reach a point

# The real command; the only change: ``safespace.batch.run_scan``/``run_backfill`` (looked up
# when the command runs) stop after HOLD_AFTER recorded files, write HOLD_MARKER, and wait
# until GO_MARKER exists.
HELD_CLI = [
    sys.executable,
    "-c",
    f"""
import os, time
from pathlib import Path
import safespace.batch as batch
from safespace.cli import main

def held(real, hook_name):
    def run(*args, **kwargs):
        inner = kwargs.pop(hook_name, None)
        recorded = 0
        def hook(item, resumed):
            nonlocal recorded
            if inner is not None:
                inner(item, resumed)
            if not resumed:
                recorded += 1
                if recorded == {HOLD_AFTER}:
                    Path(os.environ["HOLD_MARKER"]).write_text("held")
                    while not Path(os.environ["GO_MARKER"]).exists():
                        time.sleep(0.05)
        return real(*args, **{{hook_name: hook}}, **kwargs)
    return run

batch.run_scan = held(batch.run_scan, "on_outcome")
batch.run_backfill = held(batch.run_backfill, "on_item")
main()
""",
]


class Cluster:
    """A scheduler process and a worker process running two worker processes."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True)
        info = folder / "scheduler.json"
        base = [sys.executable, "-m"]
        quiet = {**os.environ, "DASK_DISTRIBUTED__LOGGING__DISTRIBUTED": "error"}
        self.scheduler = subprocess.Popen(
            [
                *base,
                "distributed.cli.dask_scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--no-dashboard",
                "--scheduler-file",
                str(info),
            ],
            env=quiet,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.address = self._address(info)
        self.workers = subprocess.Popen(
            [
                *base,
                "distributed.cli.dask_worker",
                self.address,
                "--nworkers",
                "2",
                "--nthreads",
                "1",
                "--no-dashboard",
                "--death-timeout",
                "60",
            ],
            env=quiet,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        from distributed import Client

        with Client(self.address, timeout=_START) as client:
            client.wait_for_workers(2, timeout=_START)

    def _address(self, info: Path) -> str:
        deadline = time.monotonic() + _START
        while time.monotonic() < deadline:
            assert self.scheduler.poll() is None, "the scheduler did not start"
            try:
                return str(json.loads(info.read_text())["address"])
            except (OSError, ValueError, KeyError):  # not written yet, or not all of it
                time.sleep(0.05)
        raise AssertionError("the scheduler never wrote its address")

    def kill_scheduler(self) -> None:
        self.scheduler.send_signal(signal.SIGKILL)
        self.scheduler.wait(timeout=60)

    def close(self) -> None:
        for proc in (self.workers, self.scheduler):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@pytest.fixture
def clusters(tmp_path: Path) -> Iterator[Callable[[], Cluster]]:
    _need_cluster_extra()
    started: list[Cluster] = []

    def start() -> Cluster:
        started.append(Cluster(tmp_path / f"cluster{len(started)}"))
        return started[-1]

    try:
        yield start
    finally:
        for cluster in started:
            cluster.close()


def _killed_mid_run(args: list[str], cluster: Cluster, tmp_path: Path) -> tuple[int, str]:
    """Run the held command on ``cluster``, kill its scheduler at the hold, let it go on."""
    held, go = tmp_path / "held", tmp_path / "go"
    env = {**os.environ, "HOLD_MARKER": str(held), "GO_MARKER": str(go)}
    proc = subprocess.Popen(
        [*HELD_CLI, *args, "--scheduler", cluster.address, "--no-progress"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + _START
        while not held.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert held.exists(), f"the command never reached the hold: {proc.communicate()}"
        cluster.kill_scheduler()
        go.write_text("go")
        _, stderr = proc.communicate(timeout=_START)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, stderr


def _assert_one_error_line(code: int, stderr: str) -> None:
    assert code != 0
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    assert [line for line in stderr.splitlines() if line.strip()] == errors  # nothing else
    assert "lost the dask scheduler" in errors[0]
    assert "run the same command again to resume" in errors[0]


def test_a_killed_scheduler_fails_cleanly_and_the_scan_resumes_on_a_new_cluster(
    run_cli: RunCli,
    known_bank: Path,
    clusters: Callable[[], Cluster],
    testdata: Path,
    tmp_path: Path,
) -> None:
    root = _tree(testdata, tmp_path / "uploads")
    baseline = run_cli("scan", str(root), "--state", str(tmp_path / "pool.jsonl"), "--no-progress")
    assert baseline.exit_code == 0, baseline.stderr
    expected = baseline.rows[-1]["summary"]
    state = tmp_path / "state.jsonl"
    args = ["scan", str(root), "--state", str(state)]
    code, stderr = _killed_mid_run(args, clusters(), tmp_path)
    _assert_one_error_line(code, stderr)
    done = len(_records(state))  # no file twice
    assert HOLD_AFTER <= done < expected["files"]

    again = run_cli(*args, "--scheduler", clusters().address, "--no-progress")
    assert again.exit_code == 0, again.stderr
    summary = again.rows[-1]["summary"]
    assert summary["resumed"] == done  # none of them hashed again
    for s in (summary, expected):
        s.pop("resumed")
        s["error_paths"].sort(key=lambda e: e["path"])
    assert summary == expected
    assert _records(state) == _records(tmp_path / "pool.jsonl")


def test_a_killed_scheduler_mid_backfill_adds_no_row_twice(
    run_cli: RunCli,
    clusters: Callable[[], Cluster],
    monkeypatch: pytest.MonkeyPatch,
    testdata: Path,
    tmp_path: Path,
) -> None:
    root = _tree(testdata, tmp_path / "media", copies=2)
    monkeypatch.setenv("SAFESPACE_CONTENT_RETENTION", "true")
    state = tmp_path / "backfill.jsonl"
    args = ["backfill", str(root), "--id-prefix", "up/", "--state", str(state)]
    code, stderr = _killed_mid_run(args, clusters(), tmp_path)
    _assert_one_error_line(code, stderr)
    lines = state.read_text().splitlines()
    done = len({json.loads(x)["path"] for x in lines})
    assert done == len(lines)
    assert done >= HOLD_AFTER

    again = run_cli(*args, "--scheduler", clusters().address, "--no-progress")
    assert again.exit_code == 0, again.stderr
    summary = again.rows[-1]["summary"]
    assert summary["resumed"] == done
    assert (summary["errors"], summary["stored"]) == (2, summary["files"] - 2)

    from safespace.config import Settings
    from safespace.retro import ContentStore
    from safespace.store import open_database

    db = open_database(Settings().resolved_database_url())
    try:
        store = ContentStore(db)
        rows = [
            (cid, r.signal_type, r.value)
            for cid in {json.loads(x)["content_id"] for x in state.read_text().splitlines()}
            if cid is not None
            for r in store.signals_of(cid)
        ]
        assert len(rows) == len(set(rows))  # no row twice
        assert store.count() == len(rows) == summary["rows_added"]
    finally:
        db.close()
    fresh = run_cli("backfill", str(root), "--id-prefix", "fresh/", "--no-progress")
    assert fresh.exit_code == 0, fresh.stderr
    assert fresh.rows[-1]["summary"]["rows_added"] == summary["rows_added"]  # as if never killed
