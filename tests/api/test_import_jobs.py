"""Import jobs: ``POST /v1/banks/{name}/imports``, ``/v1/import-jobs``, recovery after a stop."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api_helpers import Api, MakeApi, poll, problem
from sqlalchemy import func, select, update

from safespace.banks._jobs import ImportJobs
from safespace.store import ImportJob, ImportJobFile, open_database
from safespace.store._models import utcnow

GOOD = "".join(f"md5 {i:032x}\n" for i in range(1, 51)) + "pdq " + "f" * 64 + "\n"
SMALL = "md5 " + "1" * 32 + "\n"
BAD = "md5 " + "1" * 32 + "\nmd5 nothex\nsha256 abc\nmd5 " + "2" * 32 + "\n"


def _submit(api: Api, bank: str, text: str, name: str = "list.txt", **fields: str) -> Any:
    files = {"file": (name, text.encode(), "text/plain")}
    return api.post(f"/v1/banks/{bank}/imports", "curate", files=files, data=fields)


def _finished(api: Api, job_id: int) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def done() -> bool:
        seen.update(api.get(f"/v1/import-jobs/{job_id}", "curate").json())
        return seen["status"] in ("succeeded", "failed")

    assert poll(done, 30), seen
    return seen


def _files_left(api: Api) -> int:
    with api.state.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(ImportJobFile)) or 0)


def test_job_imports_and_matches(api: Api) -> None:
    api.post("/v1/banks", json={"name": "b"})
    submitted = _submit(api, "b", GOOD, format="hma")
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert submitted.headers["location"] == f"/v1/import-jobs/{job['id']}"
    assert job["status"] in ("queued", "running", "succeeded")
    assert (job["bank"], job["format"], job["filename"]) == ("b", "hma", "list.txt")
    done = _finished(api, job["id"])
    assert done["status"] == "succeeded", done
    assert done["counts"] == {"added": 51, "duplicates": 0, "removed": 0, "rejected": 0}
    assert done["error"] is None
    assert done["started_at"]
    assert done["duration_seconds"] >= 0
    assert _files_left(api) == 0  # the upload is gone once the job ran
    # The job may finish between two of the matcher's change-log refreshes: trigger one.
    api.state.matcher.refresh_now()
    hit = api.post("/v1/match", "match", json={"signals": {"md5": f"{7:032x}"}}).json()
    assert hit["matched"] is True

    again = _finished(api, _submit(api, "b", GOOD).json()["id"])  # format detected
    assert again["counts"]["added"] == 0
    assert again["counts"]["duplicates"] == 51
    listed = api.get("/v1/import-jobs", "curate").json()["jobs"]
    assert [j["id"] for j in listed] == [again["id"], done["id"]]
    only = api.get("/v1/import-jobs", params={"status": "failed"}).json()["jobs"]
    assert only == []


def test_refused_job_writes_nothing_and_keeps_rejects(api: Api) -> None:
    api.post("/v1/banks", json={"name": "b"})
    done = _finished(api, _submit(api, "b", BAD, format="hma").json()["id"])
    assert done["status"] == "failed"
    assert "2 of 4 lines rejected; nothing imported" in done["error"]
    assert done["counts"]["rejected"] == 2
    assert done["counts"]["added"] == 0
    assert api.get("/v1/banks/b").json()["entry_count"] == 0
    page = api.get(f"/v1/import-jobs/{done['id']}/rejects", "curate").json()
    assert (page["total"], page["stored"]) == (2, 2)
    assert [r["line"] for r in page["rejects"]] == [2, 3]
    assert "hex" in page["rejects"][0]["reason"]
    second = api.get(f"/v1/import-jobs/{done['id']}/rejects", params={"offset": 1, "limit": 1})
    assert [r["line"] for r in second.json()["rejects"]] == [3]
    assert _files_left(api) == 0


def test_skip_invalid_imports_the_good_lines(api: Api) -> None:
    api.post("/v1/banks", json={"name": "b"})
    done = _finished(api, _submit(api, "b", BAD, format="hma", skip_invalid="true").json()["id"])
    assert done["status"] == "succeeded"
    assert done["counts"] == {"added": 2, "duplicates": 0, "removed": 0, "rejected": 2}
    assert api.get("/v1/banks/b").json()["entry_count"] == 2
    assert len(api.get(f"/v1/import-jobs/{done['id']}/rejects").json()["rejects"]) == 2


def test_bad_submissions_are_clear_problems(make_api: MakeApi) -> None:
    api = make_api(max_import_bytes=1024)
    api.post("/v1/banks", json={"name": "b"})
    problem(_submit(api, "nope", SMALL), 404, "bank-not-found")
    problem(_submit(api, "b", SMALL, format="xml"), 400, "invalid-input")
    problem(_submit(api, "b", ""), 400, "empty-media")
    problem(_submit(api, "b", "hello world\n", "upload"), 422, "import-rejected")
    problem(_submit(api, "b", SMALL, skip_invalid="maybe"), 422, "invalid-request")
    problem(_submit(api, "b", SMALL * 40), 413, "request-too-large")
    problem(api.post("/v1/banks/b/imports", json={"x": 1}), 415, "unsupported-media")
    problem(api.get("/v1/import-jobs/999"), 404, "job-not-found")
    problem(api.get("/v1/import-jobs/999/rejects"), 404, "job-not-found")
    problem(api.get("/v1/import-jobs/0"), 422, "invalid-request")
    problem(api.get("/v1/import-jobs", params={"status": "done"}), 400, "invalid-input")
    problem(api.get("/v1/import-jobs", "match"), 403, "forbidden")
    assert api.get("/v1/import-jobs").json()["jobs"] == []


def test_interrupted_job_runs_again_at_next_start(db_url: str, make_api: MakeApi) -> None:
    """A job left 'running' by a server that stopped is claimed again once its lease ends;
    one interrupted too often is failed with a clear message. Nothing runs twice."""
    db = open_database(db_url)
    try:
        from safespace.banks import BankService

        BankService(db).create_bank("b")
        jobs = ImportJobs(db, lease_seconds=60)
        first = jobs.submit("b", GOOD.encode(), fmt="hma")
        claim = jobs.claim_next()  # a server took it ... and stopped
        assert claim is not None
        assert claim.job_id == first.id
        worn = jobs.submit("b", BAD.encode(), fmt="hma")
        past = utcnow() - timedelta(seconds=1)
        with db.transaction() as s:
            s.execute(update(ImportJob).values(status="running", lease_until=past, token="gone"))
            s.execute(update(ImportJob).where(ImportJob.id == worn.id).values(attempts=3))
        assert jobs.run(claim) is None  # the old attempt lost its claim: it writes nothing
    finally:
        db.close()
    api = make_api(import_job_poll_seconds=0.05)
    redone = _finished(api, first.id)
    assert redone["status"] == "succeeded"
    assert redone["attempts"] == 2
    assert redone["counts"]["added"] == 51
    gave_up = _finished(api, worn.id)
    assert gave_up["status"] == "failed"
    assert "interrupted 3 times" in gave_up["error"]
    assert _files_left(api) == 0
    assert api.get("/v1/banks/b").json()["entry_count"] == 51
