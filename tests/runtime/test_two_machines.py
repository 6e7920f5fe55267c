"""Two ``safespace serve`` machines on one PostgreSQL server: each has its own data folder (so
its own snapshots and machine locks), a bank change through either matches on both, and each
once-per-cluster task runs in one process only, moving to the other when its holder stops."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import select

from app_factory import answers_ready, free_port, start_safespace, stop_group
from datafiles import BRIDGE
from safespace.access import KeyService
from safespace.runtime import TASKS
from safespace.signals import hash_bytes
from safespace.store import RuntimeLease, open_database
from waiting import WAIT_SECONDS


def poll(check: Callable[[], bool]) -> bool:
    """True as soon as ``check()`` is; False after the shared ceiling."""
    end = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.05)
    return check()


CLUSTER_TASKS = sorted(t.name for t in TASKS if t.placement == "once-per-cluster")


@dataclass
class Machine:
    base: str
    proc: subprocess.Popen[bytes]
    log: Path

    def pids(self) -> set[int]:
        """The server and its workers (a lease holder is named by its worker's pid)."""
        try:
            root = psutil.Process(self.proc.pid)
            return {root.pid, *(kid.pid for kid in root.children(recursive=True))}
        except psutil.NoSuchProcess:
            return set()


def _start(tmp_path: Path, name: str, pg_url: str) -> Machine:
    data = tmp_path / name
    port = free_port()
    log = tmp_path / f"{name}.log"
    with log.open("wb") as out:
        proc = start_safespace(
            ["serve", "--port", str(port), "--workers", "1"],
            data,
            {"SAFESPACE_DATABASE_URL": pg_url},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Machine(f"http://127.0.0.1:{port}", proc, log)


@pytest.fixture
def machines(tmp_path: Path, pg_url: str) -> Iterator[tuple[Machine, Machine]]:
    with ExitStack() as stack:
        pair = []
        for name in ("machine-a", "machine-b"):
            machine = _start(tmp_path, name, pg_url)
            stack.callback(stop_group, machine.proc, signal.SIGTERM, 30)
            pair.append(machine)
        for machine in pair:
            tail = machine.log.read_text
            assert poll(lambda m=machine, t=tail: answers_ready(m.base, m.proc, t)), "not ready"
        yield pair[0], pair[1]


def _holders(pg_url: str) -> dict[str, int]:
    """Each once-per-cluster task's holder, as the pid in its holder id, where unexpired."""
    db = open_database(pg_url)
    try:
        with db.session() as s:
            rows = s.scalars(select(RuntimeLease)).all()
            now = datetime.now(UTC)
            return {
                r.name: int(r.holder.split(":")[-2])
                for r in rows
                if r.expires_at.replace(tzinfo=r.expires_at.tzinfo or UTC) > now
            }
    finally:
        db.close()


def test_two_machines_share_banks_and_run_each_cluster_task_once(
    machines: tuple[Machine, Machine], pg_url: str
) -> None:
    a, b = machines
    bridge_jpeg = BRIDGE.read_bytes()
    db = open_database(pg_url)
    try:
        key = KeyService(db).create("admin", name="two-machines")[1]
    finally:
        db.close()
    headers = {"Authorization": f"Bearer {key}"}
    files = {"file": ("bridge.jpg", bridge_jpeg, "image/jpeg")}
    with (
        httpx.Client(base_url=a.base, headers=headers, timeout=30) as on_a,
        httpx.Client(base_url=b.base, headers=headers, timeout=30) as on_b,
    ):
        assert not on_b.post("/v1/match", files=files).json()["matched"]
        assert on_a.post("/v1/banks", json={"name": "common"}).status_code == 201
        entry = {"signal_type": "md5", "value": hash_bytes(bridge_jpeg).md5}
        assert on_a.post("/v1/banks/common/entries", json={"entries": [entry]}).status_code == 201
        # Added on machine A, matched on machine B (its worker follows the change log).
        assert poll(lambda: on_b.post("/v1/match", files=files).json()["matched"])

        # And the other way round: disabled on B, no longer matched on A.
        listed = on_b.get("/v1/banks/common/entries").json()
        entry_id = listed["entries"][0]["id"]
        disabled = on_b.patch(f"/v1/entries/{entry_id}", json={"enabled": False})
        assert disabled.status_code == 200, disabled.text
        assert poll(lambda: not on_a.post("/v1/match", files=files).json()["matched"])

    # Every once-per-cluster task is held by one process of one machine, not one per machine.
    assert CLUSTER_TASKS, "no once-per-cluster task is registered"
    assert poll(lambda: set(_holders(pg_url)) >= set(CLUSTER_TASKS))
    holders = _holders(pg_url)
    owners = {name: ("a" if pid in a.pids() else "b" if pid in b.pids() else "?") for name, pid
              in holders.items() if name in CLUSTER_TASKS}  # fmt: skip
    assert "?" not in owners.values(), owners

    # The holder of the first task stops (its lease is given up): the other machine takes it.
    first = CLUSTER_TASKS[0]
    stopping, staying = (a, b) if owners[first] == "a" else (b, a)
    stop_group(stopping.proc, signal.SIGTERM, timeout=30)
    assert poll(lambda: _holders(pg_url).get(first) in staying.pids())
