"""Fixtures for the HTTP service: a started app per database backend, keys, images, the CLI."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from api_helpers import BRIDGE, Api, CliResult, MakeApi
from PIL import Image

from app_factory import AppStarter


@pytest.fixture
def make_api(start_app: AppStarter) -> MakeApi:
    """Build and start apps on this test's database (SQLite file or PostgreSQL), with a key
    for each scope."""

    def make(**overrides: Any) -> Api:
        started = start_app(**{"matcher_refresh_seconds": 0.05, **overrides})
        api = Api(started.client, started.state)
        for scope in ("match", "curate", "admin"):
            api.keys[scope] = started.state.keys.create(scope, name=f"test-{scope}")[1]
        return api

    return make


@pytest.fixture
def api(make_api: MakeApi) -> Api:
    return make_api()


def _png(pixels: npt.NDArray[np.uint8]) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="session")
def bridge_jpeg() -> bytes:
    assert BRIDGE.exists(), f"test data not found at {BRIDGE}"
    return BRIDGE.read_bytes()


@pytest.fixture(scope="session")
def noise_png() -> Callable[[int], bytes]:
    """A generated benign image: smooth random blobs (a good PDQ quality), one per seed."""

    def make(seed: int) -> bytes:
        rng = np.random.default_rng(seed)
        small = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((256, 256), Image.Resampling.BICUBIC)
        return _png(np.asarray(img))

    return make


@pytest.fixture(scope="session")
def flat_png() -> bytes:
    """A flat grey image: PDQ quality 0, never matched by PDQ."""
    return _png(np.full((128, 128, 3), 128, dtype=np.uint8))


@pytest.fixture(scope="session")
def rotated_bridge(bridge_jpeg: bytes) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(bridge_jpeg)).transpose(Image.Transpose.ROTATE_90).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def cli(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., CliResult]:
    """Run ``safespace`` in-process on this test's database, as a user would."""
    from safespace.cli import main

    monkeypatch.setenv("SAFESPACE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SAFESPACE_DATABASE_URL", db_url)

    def run(*args: str) -> CliResult:
        monkeypatch.setattr(sys, "argv", ["safespace", *args])
        capsys.readouterr()
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run
