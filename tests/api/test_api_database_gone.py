"""A SQLite database that goes away or turns read-only under a running server: writes are
answered 503 (problem+json, Retry-After), never acknowledged and lost."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from api_helpers import problem
from fastapi.testclient import TestClient

from app_factory import AppStarter

Served = tuple[TestClient, dict[str, str], Path]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A started app on a SQLite file in ``tmp_path/data``, a curate key's headers, the file."""
    data = tmp_path / "data"
    db_file = data / "safespace.db"
    starter = AppStarter(data, f"sqlite:///{db_file}")
    try:
        started = starter()
        key = started.state.keys.create("curate", name="t")[1]
        yield started.client, {"Authorization": f"Bearer {key}"}, db_file
    finally:
        starter.close()


def test_a_write_after_the_data_folder_is_deleted_is_503(served: Served) -> None:
    client, headers, db_file = served
    assert client.post("/v1/banks", json={"name": "a"}, headers=headers).status_code == 201
    shutil.rmtree(db_file.parent)
    answer = client.post("/v1/banks", json={"name": "b"}, headers=headers)
    body = problem(answer, 503, "unavailable")
    assert "nothing was saved" in body["detail"]
    assert int(answer.headers["retry-after"]) >= 1


def test_a_write_to_a_read_only_database_is_503(served: Served) -> None:
    client, headers, db_file = served
    db_file.chmod(0o444)
    answer = client.post("/v1/banks", json={"name": "b"}, headers=headers)
    problem(answer, 503, "unavailable")
    assert "retry-after" in answer.headers
    db_file.chmod(0o600)  # the operator fixes it: writes work again, and "b" was not made
    assert client.get("/v1/banks/b", headers=headers).status_code == 404
    assert client.post("/v1/banks", json={"name": "b"}, headers=headers).status_code == 201
