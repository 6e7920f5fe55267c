"""``safespace serve`` for real: uvicorn, two worker processes, one database, loopback only."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
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
        ready = poll(lambda: answers_ready(base, proc, log_tail), deadline=90.0)
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

        assert poll(all_match, deadline=10.0)
        problem = client.get("/v1/banks", headers={"Authorization": "Bearer nope"})
        assert problem.status_code == 401
        assert problem.headers["content-type"].startswith("application/problem+json")
