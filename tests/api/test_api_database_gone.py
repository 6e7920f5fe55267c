"""A SQLite database that goes away or turns read-only under a running server: writes are
answered 503 (problem+json, Retry-After), never acknowledged and lost."""

from __future__ import annotations

import shutil
from pathlib import Path

from api_helpers import problem

from app_factory import AppStarter


def test_a_write_after_the_data_folder_is_deleted_is_503(tmp_path: Path) -> None:
    data = tmp_path / "data"
    starter = AppStarter(data, f"sqlite:///{data / 'safespace.db'}")
    try:
        started = starter()
        key = started.state.keys.create("curate", name="t")[1]
        headers = {"Authorization": f"Bearer {key}"}
        assert (
            started.client.post("/v1/banks", json={"name": "a"}, headers=headers).status_code == 201
        )
        shutil.rmtree(data)
        answer = started.client.post("/v1/banks", json={"name": "b"}, headers=headers)
        body = problem(answer, 503, "unavailable")
        assert "nothing was saved" in body["detail"]
        assert int(answer.headers["retry-after"]) >= 1
    finally:
        starter.close()


def test_a_write_to_a_read_only_database_is_503(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db_file = data / "safespace.db"
    starter = AppStarter(data, f"sqlite:///{db_file}")
    try:
        started = starter()
        key = started.state.keys.create("curate", name="t")[1]
        headers = {"Authorization": f"Bearer {key}"}
        db_file.chmod(0o444)
        answer = started.client.post("/v1/banks", json={"name": "b"}, headers=headers)
        problem(answer, 503, "unavailable")
        assert "retry-after" in answer.headers
        db_file.chmod(0o600)  # the operator fixes it: writes work again, and "b" was not made
        assert started.client.get("/v1/banks/b", headers=headers).status_code == 404
        assert (
            started.client.post("/v1/banks", json={"name": "b"}, headers=headers).status_code == 201
        )
    finally:
        starter.close()
