"""``/readyz`` and the metrics show how far this worker's matcher is behind the change log,
and readiness fails past ``readiness_max_lag_changes``. Refreshes are triggered explicitly
(the refresh thread waits a minute between rounds), never waited for."""

from __future__ import annotations

from api_helpers import MakeApi, problem

from safespace.banks import BankService
from safespace.banks.formats import HashRecord
from safespace.store import open_database


def test_readiness_says_503_while_the_matcher_lags_too_far(make_api: MakeApi) -> None:
    api = make_api(matcher_refresh_seconds=60, readiness_max_lag_changes=3)
    ready = api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["lag"] == 0
    # Another process (the CLI, another worker) writes five changes: this matcher lags.
    other = open_database(api.state.settings.resolved_database_url())
    try:
        service = BankService(other)
        service.create_bank("b")
        records = [HashRecord("md5", f"{i:032x}") for i in range(5)]
        service.add_entries("b", records)
    finally:
        other.close()
    behind = api.client.get("/readyz")
    body = problem(behind, 503, "unavailable")
    assert body["lag"] >= 5
    assert "changes behind" in body["detail"]
    assert "retry-after" in behind.headers
    metrics = api.get("/metrics", "admin").text
    assert "safespace_matcher_lag_changes" in metrics
    api.state.matcher.refresh_now()  # the refresh, triggered
    caught_up = api.client.get("/readyz")
    assert caught_up.status_code == 200, caught_up.text
    assert caught_up.json()["lag"] == 0
