"""``safespace serve`` for real: uvicorn, two worker processes, one database, loopback only."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from api_helpers import poll

from safespace.access import KeyService
from safespace.signals import hash_bytes
from safespace.store import open_database

SAFESPACE = Path(sys.executable).with_name("safespace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    data = tmp_path / "data"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFESPACE_")}
    env["SAFESPACE_DATA_DIR"] = str(data)
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(SAFESPACE), "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"server exited: {log.read_text()[-2000:]}")
            try:
                return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        assert poll(ready, deadline=90.0), "server did not become ready"
        yield base, data
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


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

        assert poll(all_match, deadline=10.0)
        problem = client.get("/v1/banks", headers={"Authorization": "Bearer nope"})
        assert problem.status_code == 401
        assert problem.headers["content-type"].startswith("application/problem+json")
