"""The data folder and the SQLite database are private to the user SafeSpace runs as."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app_factory import AppStarter


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask (022), under which files are made readable by every user."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_data_folder_and_database_files_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    starter = AppStarter(data, f"sqlite:///{data / 'safespace.db'}")
    try:
        started = starter(database_url=None)
        key = started.state.keys.create("curate", name="t")[1]
        created = started.client.post(
            "/v1/banks", json={"name": "b"}, headers={"Authorization": f"Bearer {key}"}
        )
        assert created.status_code == 201, created.text
        assert _mode(data) == 0o700
        written = [p for p in data.iterdir() if p.name.startswith("safespace.db")]
        assert {p.name for p in written} >= {"safespace.db", "safespace.db-wal"}
        for path in written:
            assert _mode(path) == 0o600, path.name
    finally:
        starter.close()
