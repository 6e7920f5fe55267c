"""`make run`'s command: the demo, then the service with a console account and an API key."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

CLI = [sys.executable, "-c", "from safespace.cli import main; main()"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_demo_serve_prints_working_credentials(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "SAFESPACE_DATA_DIR": str(tmp_path / "data")}
    env.pop("SAFESPACE_DATABASE_URL", None)
    proc = subprocess.Popen(
        [*CLI, "demo", "--serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 120
        assert proc.stderr is not None
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "Demo API key" in line:
                break
        text = "".join(lines)
        key = re.search(r"Demo API key \(scopes match, curate\): (\S+)", text)
        password = re.search(r'sign in as "admin", password: (\S+)\)', text)
        assert key, text
        assert password, text
        base = f"http://127.0.0.1:{port}"
        ready = False
        while time.monotonic() < deadline and not ready:
            try:
                ready = httpx.get(f"{base}/readyz", timeout=2).status_code == 200
            except httpx.TransportError:
                time.sleep(0.2)
        assert ready, "the service did not become ready"
        sample = next((tmp_path / "data" / "demo" / "uploads").glob("upload-1-resized.jpg"))
        with sample.open("rb") as fh:
            response = httpx.post(
                f"{base}/v1/match",
                headers={"Authorization": f"Bearer {key.group(1)}"},
                files={"file": (sample.name, fh, "image/jpeg")},
                timeout=30,
            )
        assert response.status_code == 200, response.text
        assert response.json()["matched"] is True
        console = httpx.get(f"{base}/console", timeout=10)
        assert console.status_code in (302, 303, 307)
        assert "/console/sign-in" in console.headers["location"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
