"""Hostile hash-list files through the real import routes: a 4xx problem, never a 500.

An integer over Python's 4,300-digit limit, a lone surrogate escape, an XML declaration
naming an unknown encoding and a CSV header with a bare carriage return each used to end
in an unhandled exception. Now each is a rejected line (listed with its number and reason)
or a format error (422 ``import-rejected``), the same for a queued import job.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
from api_helpers import Api, poll, problem

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d35c785545392755e7e4164457657269"
HUGE = "9" * (sys.get_int_max_str_digits() + 1)


def _stopncii(bad_field: str) -> bytes:
    return (
        '{"hashRecords": ['
        f'{{"hashValue": "{PDQ}", "signalType": "ImagePDQ", {bad_field}}},'
        f'{{"hashValue": "{MD5}", "signalType": "VideoMD5"}}]}}'
    ).encode()


# name -> (file, format, line of the rejected record or None for a whole-file error)
CASES: dict[str, tuple[bytes, str | None, int | None]] = {
    "stopncii-huge-int": (_stopncii(f'"lastModtimestamp": {HUGE}'), "stopncii", 1),
    "stopncii-huge-int-extra": (_stopncii(f'"caseNumbers": [{HUGE}]'), None, 1),
    "stopncii-surrogate-note": (_stopncii('"note": "\\udfff"'), "stopncii", 1),
    "stopncii-surrogate-key": (_stopncii('"x\\ud800": "y"'), None, 1),
    "xml-unknown-encoding": (
        b'<?xml version="1.0" encoding="x-unknown"?><queryResult/>',
        "ncmec",
        None,
    ),
    "xml-rot13-encoding": (b'<?xml version="1.0" encoding="rot13"?><queryResult/>', None, None),
    "csv-header-bare-cr": (f"signal_type,value\rmd5,{MD5}\n".encode(), "csv", None),
    "csv-header-bare-cr-detected": (f"type\r,hash\nmd5,{MD5}\n".encode(), None, None),
}


def _send(api: Api, route: str, data: bytes, fmt: str | None, **fields: str) -> Any:
    form = {**fields, **({"format": fmt} if fmt else {})}
    files = {"file": ("upload.bin", data, "application/octet-stream")}
    return api.post(f"/v1/banks/b/{route}", "curate", files=files, data=form)


@pytest.mark.parametrize("case", list(CASES))
def test_sync_import_refuses_with_a_problem(api: Api, case: str) -> None:
    data, fmt, line = CASES[case]
    api.post("/v1/banks", json={"name": "b"})
    body = problem(_send(api, "import", data, fmt), 422, "import-rejected")
    if line is None:
        assert body.get("rejects", []) == []
    else:
        assert [r["line"] for r in body["rejects"]] == [line]
        assert body["rejects"][0]["reason"]
    assert api.get("/v1/banks/b").json()["entry_count"] == 0  # nothing half-written


@pytest.mark.parametrize("case", [c for c, (_, _, line) in CASES.items() if line is not None])
def test_skip_invalid_imports_the_rest_and_lists_the_reject(api: Api, case: str) -> None:
    data, fmt, line = CASES[case]
    api.post("/v1/banks", json={"name": "b"})
    response = _send(api, "import", data, fmt, skip_invalid="true")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["added"] == 1
    assert [r["line"] for r in body["rejects"]] == [line]


@pytest.mark.parametrize("case", list(CASES))
def test_import_job_fails_or_succeeds_cleanly(api: Api, case: str) -> None:
    data, fmt, line = CASES[case]
    api.post("/v1/banks", json={"name": "b"})
    response = _send(api, "imports", data, fmt, skip_invalid="true")
    if response.status_code != 202:  # refused at submission: a problem, not a crash
        problem(response, 422, "import-rejected")
        return
    job_id = response.json()["id"]
    seen: dict[str, Any] = {}

    def done() -> bool:
        seen.update(api.get(f"/v1/import-jobs/{job_id}", "curate").json())
        return seen["status"] in ("succeeded", "failed")

    assert poll(done, 60), seen
    if line is None:
        assert seen["status"] == "failed"
        assert "internal error" not in (seen["error"] or "")
        assert seen["error"]
    else:
        assert seen["status"] == "succeeded", seen
        assert seen["counts"]["added"] == 1
        rejects = api.get(f"/v1/import-jobs/{job_id}/rejects", "curate").json()
        assert [r["line"] for r in rejects["rejects"]] == [line]
