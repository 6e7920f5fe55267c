"""``GET /metrics``: Prometheus text, admin key or metrics token, request and state gauges."""

from __future__ import annotations

import re

from api_helpers import Api, MakeApi, poll, problem
from prometheus_client.parser import text_string_to_metric_families

MD5 = "0123456789abcdef" * 2


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_content(api: Api) -> None:
    api.post("/v1/banks", json={"name": "b"})
    api.post("/v1/banks/b/entries", json={"entries": [{"signal_type": "md5", "value": MD5}]})
    api.get("/v1/banks/nope")  # a 404 on a templated route
    api.get("/no/such/path")
    looked = api.get("/m/lookup", "match", params={"signal_type": "video_md5", "signal": MD5})
    assert looked.json() != {}
    matched = api.post("/v1/match", "match", json={"signals": {"md5": MD5}})
    assert matched.status_code == 200, matched.text
    files = {"file": ("l.txt", b"md5 " + b"1" * 32 + b"\n", "text/plain")}
    job = api.post("/v1/banks/b/imports", files=files).json()["id"]
    assert poll(lambda: api.get(f"/v1/import-jobs/{job}").json()["status"] == "succeeded")

    # The job's status is committed before its worker refreshes the matcher: wait for that
    # refresh (the matcher holds both entries) before reading the figures.
    assert poll(
        lambda: _samples(api.get("/metrics", "admin").text)[("safespace_matcher_entries", ())] == 2
    )
    response = api.get("/metrics", "admin")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    found = _samples(response.text)
    key = ("method", "GET"), ("route", "/v1/banks/{name}"), ("status", "404")
    assert found[("safespace_http_requests_total", key)] == 1
    unmatched = ("method", "GET"), ("route", "<unmatched>"), ("status", "404")
    assert found[("safespace_http_requests_total", unmatched)] == 1
    latency = ("method", "GET"), ("route", "/v1/banks/{name}")
    assert found[("safespace_http_request_duration_seconds_count", latency)] == 1
    assert found[("safespace_matches_total", (("bank", "b"), ("signal_type", "md5")))] == 2
    assert found[("safespace_index_entries", (("signal_type", "md5"),))] == 2
    assert found[("safespace_import_jobs", (("status", "succeeded"),))] == 1
    assert found[("safespace_import_jobs", (("status", "failed"),))] == 0
    assert found[("safespace_matcher_ready", ())] == 1
    assert found[("safespace_matcher_entries", ())] == 2
    assert found[("safespace_matcher_change_seq", ())] >= 1
    assert found[("safespace_matcher_refresh_age_seconds", ())] >= 0
    assert not re.search(r'route="/v1/banks/b"', response.text)  # templates, never raw paths


def test_metrics_access(make_api: MakeApi) -> None:
    api = make_api(metrics_token="scrape-secret-123")
    problem(api.client.get("/metrics"), 401, "unauthenticated")
    problem(api.get("/metrics", "match"), 403, "forbidden")
    problem(api.get("/metrics", "curate"), 403, "forbidden")
    wrong = api.client.get("/metrics", headers={"Authorization": "Bearer nope"})
    problem(wrong, 401, "unauthenticated")
    good = api.client.get("/metrics", headers={"Authorization": "Bearer scrape-secret-123"})
    assert good.status_code == 200
    assert "safespace_matcher_ready" in good.text
    assert api.get("/metrics", "admin").status_code == 200
