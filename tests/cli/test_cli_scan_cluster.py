"""Scans and backfills on a real Dask cluster: two worker processes on this machine.

The same tree scanned by the local process pool and by the cluster gives the same records;
a client killed (``kill -9``) mid-scan and a worker killed mid-scan both end, after the same
command runs again, with every file recorded once and the same records; ``memory://`` input
(fsspec) is read by the client and hashed by the workers. The kills are held, not raced: the
scan blocks after a set number of recorded files until the test has acted.

Needs the cluster extra (distributed, fsspec); under CI=true its absence fails.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from safespace.signals import DecodeLimits

pytestmark = pytest.mark.slow
RunCli = Callable[..., Any]  # the run_cli fixture (tests/cli/conftest.py)
HOLD_AFTER = 5


def _need_cluster_extra() -> None:
    try:
        import distributed  # noqa: F401
        import fsspec  # noqa: F401
    except ImportError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"the cluster extra is missing but CI=true: {exc}")
        pytest.skip(f"needs the cluster extra: {exc}")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A local cluster of two single-threaded worker processes; its client."""
    _need_cluster_extra()
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
        Client(local) as client,
    ):
        client.wait_for_workers(2)
        yield client


def _tree(testdata: Path, root: Path, copies: int = 3) -> Path:
    """Benign photos (the bridge and its edits), an unrelated image, a broken file, text."""
    mods = sorted((testdata / "pdq" / "bridge-mods").glob("*.jpg"))
    for i in range(copies):
        folder = root / f"part{i}"
        folder.mkdir(parents=True)
        for photo in mods:
            shutil.copy(photo, folder / photo.name)
    shutil.copy(testdata / "pdq" / "misc-images" / "c.png", root / "unrelated.png")
    (root / "broken.jpg").write_bytes(mods[0].read_bytes()[:2000])
    (root / "readme.txt").write_text("not media")
    return root


@pytest.fixture
def known(run_cli: RunCli, testdata: Path, tmp_path: Path) -> None:
    orig = testdata / "pdq" / "bridge-mods" / "aaa-orig.jpg"
    (row,) = run_cli("hash", str(orig)).rows
    src = tmp_path / "known.txt"
    src.write_text(f"pdq {row['pdq']}\nmd5 {row['md5']}\n")
    assert run_cli("bank", "create", "known").exit_code == 0
    assert run_cli("bank", "import", "known", str(src)).exit_code == 0


def _records(state: Path) -> dict[str, dict[str, Any]]:
    lines = [json.loads(x) for x in state.read_text().splitlines() if x.strip()]
    paths = [r["path"] for r in lines]
    assert len(paths) == len(set(paths)), "a file recorded twice"
    for r in lines:
        for m in r["matches"]:
            m.pop("entry_id", None)
    return {r["path"]: r for r in lines}


def _scan(run_cli: RunCli, root: Path | str, state: Path, *extra: str) -> dict[str, Any]:
    result = run_cli("scan", str(root), "--state", str(state), "--no-progress", *extra)
    assert result.exit_code == 0, result.stderr
    summary: dict[str, Any] = result.rows[-1]["summary"]
    summary["error_paths"].sort(key=lambda e: e["path"])  # files finish in any order
    return summary


def _address(cluster: Any) -> str:
    return str(cluster.scheduler.address)


def test_cluster_scan_equals_the_local_pool(
    run_cli: RunCli, known: None, cluster: Any, testdata: Path, tmp_path: Path
) -> None:
    root = _tree(testdata, tmp_path / "uploads")
    pool = _scan(run_cli, root, tmp_path / "pool.jsonl", "--workers", "2")
    dask = _scan(run_cli, root, tmp_path / "dask.jsonl", "--scheduler", _address(cluster))
    assert pool == dask
    assert (dask["errors"], dask["resumed"]) == (2, 0)
    assert dask["matched_files"] > 0
    assert _records(tmp_path / "pool.jsonl") == _records(tmp_path / "dask.jsonl")


# Runs the real command; the only change is that ``safespace.batch.run_scan`` (looked up
# when the command runs) blocks after HOLD_AFTER recorded files, once a marker is written.
HELD_CLI = [
    sys.executable,
    "-c",
    f"""
import os, threading
from pathlib import Path
import safespace.batch as batch
from safespace.cli import main

real = batch.run_scan

def held(*args, on_outcome=None, **kwargs):
    recorded = 0
    def hook(outcome, resumed):
        nonlocal recorded
        if on_outcome is not None:
            on_outcome(outcome, resumed)
        if not resumed:
            recorded += 1
            if recorded == {HOLD_AFTER}:
                Path(os.environ["HOLD_MARKER"]).write_text("held")
                threading.Event().wait()  # until killed
    return real(*args, on_outcome=hook, **kwargs)

batch.run_scan = held
main()
""",
]


def _wait_for(marker: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 300  # only how long a very slow machine may take
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the scan never reached the hold"
    assert proc.poll() is None


def test_a_killed_client_resumes_with_identical_results(
    run_cli: RunCli, known: None, cluster: Any, testdata: Path, tmp_path: Path
) -> None:
    root = _tree(testdata, tmp_path / "uploads")
    baseline = _scan(run_cli, root, tmp_path / "pool.jsonl")
    state = tmp_path / "state.jsonl"
    marker = tmp_path / "held"
    args = ["scan", str(root), "--state", str(state), "--no-progress"]
    args += ["--scheduler", _address(cluster)]
    env = {**os.environ, "HOLD_MARKER": str(marker)}
    proc = subprocess.Popen([*HELD_CLI, *args], env=env, stdout=subprocess.PIPE)
    try:
        _wait_for(marker, proc)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert len(state.read_text().splitlines()) == HOLD_AFTER  # what finished before the kill

    resumed = _scan(run_cli, root, state, "--scheduler", _address(cluster))
    assert resumed["resumed"] == HOLD_AFTER
    assert {k: v for k, v in resumed.items() if k != "resumed"} == {
        k: v for k, v in baseline.items() if k != "resumed"
    }
    assert _records(state) == _records(tmp_path / "pool.jsonl")


def test_a_killed_worker_changes_nothing(cluster: Any, testdata: Path, tmp_path: Path) -> None:
    from safespace._scan import FileOutcome
    from safespace.batch import DaskEngine, LocalEngine, run_scan

    root = _tree(testdata, tmp_path / "uploads")
    limits = DecodeLimits()
    local = LocalEngine(2)
    try:
        run_scan(str(root), lambda s: [], engine=local, state_path=tmp_path / "a", limits=limits)
    finally:
        local.close()

    pids = cluster.run(os.getpid)
    killed: list[int] = []

    def kill_one(outcome: FileOutcome, resumed: bool) -> None:
        if not killed:
            victim = next(iter(pids.values()))
            os.kill(victim, signal.SIGKILL)  # its nanny starts another; its tasks run again
            killed.append(victim)

    engine = DaskEngine(_address(cluster), chunk=2)
    try:
        summary = run_scan(
            str(root),
            lambda s: [],
            engine=engine,
            state_path=tmp_path / "b",
            limits=limits,
            on_outcome=kill_one,
        )
    finally:
        engine.close()
    assert killed
    assert summary.files == len(_records(tmp_path / "a"))
    assert _records(tmp_path / "a") == _records(tmp_path / "b")
    cluster.wait_for_workers(2)


def test_memory_urls_scan_on_the_cluster(
    run_cli: RunCli, known: None, cluster: Any, testdata: Path, tmp_path: Path
) -> None:
    import fsspec

    root = _tree(testdata, tmp_path / "uploads", copies=1)
    fs = fsspec.filesystem("memory")
    base = f"/scan-test-{os.getpid()}-{tmp_path.name}"
    for path in root.rglob("*"):
        if path.is_file():
            fs.pipe_file(f"{base}/{path.relative_to(root).as_posix()}", path.read_bytes())
    try:
        local = _scan(run_cli, root, tmp_path / "folder.jsonl")
        url = f"memory://{base}"
        on_dask = _scan(run_cli, url, tmp_path / "dask.jsonl", "--scheduler", _address(cluster))
        in_pool = _scan(run_cli, url, tmp_path / "pool.jsonl", "--workers", "1")
    finally:
        fs.rm(base, recursive=True)
    for summary in (on_dask, in_pool):
        assert (summary["files"], summary["matched_files"], summary["errors"]) == (
            local["files"],
            local["matched_files"],
            local["errors"],
        )

    def by_name(state: Path) -> dict[str, Any]:
        out = {}
        for path, r in _records(state).items():
            name = path.split(base, 1)[1] if base in path else Path(path).relative_to(root)
            out[str(name).lstrip("/")] = (r["signals"], r["matches"], r["error_code"])
        return out

    assert by_name(tmp_path / "dask.jsonl") == by_name(tmp_path / "folder.jsonl")
    assert by_name(tmp_path / "pool.jsonl") == by_name(tmp_path / "folder.jsonl")


def test_backfill_is_resumable_and_adds_nothing_twice(cluster: Any, tmp_path: Path) -> None:
    from safespace.batch import DaskEngine, relative_name, run_backfill

    root = _tree(Path(__file__).resolve().parents[1] / "data", tmp_path / "media", copies=2)

    class Sink:
        def __init__(self) -> None:
            self.rows: dict[str, set[str]] = {}

        def remember(self, content_id: str, signals: object) -> int:
            have = self.rows.setdefault(content_id, set())
            new = {f"{k}:{v}" for k, v in signals.as_dict().items() if k in ("pdq", "md5")}  # type: ignore[attr-defined]
            added = len(new - have)
            have |= new
            return added

    sink = Sink()
    state = tmp_path / "backfill.jsonl"
    engine = DaskEngine(_address(cluster))
    try:
        ids = lambda p: "media/" + relative_name(str(root), p)  # noqa: E731
        first = run_backfill(
            str(root), sink, ids, engine=engine, state_path=state, limits=DecodeLimits()
        )
        again = run_backfill(
            str(root), sink, ids, engine=engine, state_path=state, limits=DecodeLimits()
        )
    finally:
        engine.close()
    assert (first.errors, first.stored) == (2, first.files - 2)
    assert first.rows_added > 0
    assert again.resumed == again.files == first.files
    assert again.rows_added == first.rows_added  # the recorded totals, nothing added
    assert sum(map(len, sink.rows.values())) == first.rows_added
    assert "media/part0/aaa-orig.jpg" in sink.rows
    lines = state.read_text().splitlines()
    assert len(lines) == first.files


def test_backfill_command_fills_the_content_store(
    run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, testdata: Path, tmp_path: Path
) -> None:
    _need_cluster_extra()
    if importlib.util.find_spec("safespace.retro") is None:  # lands with the retro work
        pytest.skip("the content-hash store (safespace.retro) is not in this tree yet")
    root = _tree(testdata, tmp_path / "media", copies=1)
    off = run_cli("backfill", str(root), "--no-progress")
    assert off.exit_code == 2
    assert "SAFESPACE_CONTENT_RETENTION" in off.stderr
    monkeypatch.setenv("SAFESPACE_CONTENT_RETENTION", "true")
    first = run_cli("backfill", str(root), "--id-prefix", "up/", "--workers", "1", "--no-progress")
    assert first.exit_code == 0, first.stderr
    summary = first.rows[-1]["summary"]
    assert (summary["errors"], summary["stored"]) == (2, summary["files"] - 2)
    assert summary["rows_added"] > 0
    again = run_cli("backfill", str(root), "--id-prefix", "up/", "--restart", "--no-progress")
    assert again.exit_code == 0, again.stderr
    assert again.rows[-1]["summary"]["rows_added"] == 0  # hashed again, kept once

    from safespace.config import Settings
    from safespace.retro import ContentStore
    from safespace.store import open_database

    db = open_database(Settings().resolved_database_url())
    try:
        assert ContentStore(db).count() == summary["rows_added"]
        assert ContentStore(db).signals_of("up/part0/aaa-orig.jpg")
    finally:
        db.close()
