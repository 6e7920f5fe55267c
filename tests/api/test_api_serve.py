"""``safespace serve`` for real: uvicorn, two worker processes, one database, loopback only."""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from api_helpers import poll

from app_factory import answers_ready, free_port, start_safespace, stop_group
from safespace.access import KeyService
from safespace.signals import hash_bytes
from safespace.store import open_database


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    data = tmp_path / "data"
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        args = ["serve", "--port", str(port), "--workers", "2"]
        proc = start_safespace(args, data, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def log_tail() -> str:
        return log.read_text()[-2000:]

    try:
        ready = poll(lambda: answers_ready(base, proc, log_tail))
        assert ready, "server did not become ready"
        yield base, data
    finally:
        stop_group(proc, signal.SIGTERM, timeout=30)


def test_serve_with_two_workers(server: tuple[str, Path], bridge_jpeg: bytes) -> None:
    base, data = server
    db = open_database(f"sqlite:///{data / 'safespace.db'}")
    try:
        key = KeyService(db).create("admin", name="serve-test")[1]
    finally:
        db.close()
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
        assert client.post("/v1/banks", json={"name": "b"}).status_code == 201
        md5 = hash_bytes(bridge_jpeg).md5
        entry = {"entries": [{"signal_type": "md5", "value": md5}]}
        assert client.post("/v1/banks/b/entries", json=entry).status_code == 201

        # Whichever worker answers, it sees the new hash within a second or so.
        def all_match() -> bool:
            files = {"file": ("x.jpg", bridge_jpeg, "image/jpeg")}
            answers = [client.post("/v1/match", files=files).json() for _ in range(6)]
            return all(a["matched"] for a in answers)

        assert poll(all_match)
        problem = client.get("/v1/banks", headers={"Authorization": "Bearer nope"})
        assert problem.status_code == 401
        assert problem.headers["content-type"].startswith("application/problem+json")


def _workers(pid: int) -> list[psutil.Process]:
    """The worker processes (not multiprocessing's resource tracker)."""
    found = []
    for kid in psutil.Process(pid).children():
        try:
            if kid.status() != psutil.STATUS_ZOMBIE and "resource_tracker" not in " ".join(
                kid.cmdline()
            ):
                found.append(kid)
        except psutil.Error:  # exited meanwhile
            continue
    return found


def _listening(worker: psutil.Process, port: int) -> bool:
    return any(
        c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
        for c in worker.net_connections(kind="tcp")
    )


def _established(worker: psutil.Process, port: int) -> int:
    return sum(
        1
        for c in worker.net_connections(kind="tcp")
        if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == port
    )


def test_workers_share_connections_and_are_replaced(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        args = ["serve", "--port", str(port), "--workers", "2"]
        proc = start_safespace(args, data, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        assert poll(lambda: answers_ready(base, proc, log.read_text))
        workers = _workers(proc.pid)
        assert len(workers) == 2
        # /readyz answers once one worker listens; wait for the other's socket too.
        assert poll(lambda: all(_listening(w, port) for w in workers))
        # Each worker listens on its own socket: connections opened at once reach both.
        clients = [httpx.Client(base_url=base, timeout=10) for _ in range(24)]
        try:
            for client in clients:
                assert client.get("/healthz").status_code == 200
            per_worker = [_established(w, port) for w in workers]
            assert sum(per_worker) == 24
            assert min(per_worker) >= 1, per_worker
        finally:
            for client in clients:
                client.close()

        workers[0].kill()  # a worker dies: the parent starts another
        assert poll(lambda: len(_workers(proc.pid)) == 2 and workers[0].pid not in
                    [w.pid for w in _workers(proc.pid)])  # fmt: skip
        assert poll(lambda: answers_ready(base, proc, log.read_text))

        remaining = _workers(proc.pid)
        proc.send_signal(signal.SIGTERM)  # only the parent is told; it stops the workers
        assert proc.wait(timeout=60) == 0
        assert not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE for w in remaining)
    finally:
        stop_group(proc, signal.SIGKILL, timeout=10)


def test_serve_refuses_a_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = ["serve", "--port", str(port), "--workers", "2"]
        proc = start_safespace(
            args, tmp_path / "data", stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert f"cannot listen on 127.0.0.1:{port}" in lines[0]
