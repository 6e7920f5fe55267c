"""Bank sources over HTTP: /v1/exchanges, the peer feed's scope and its 410, HMA's
/c/exchanges family, and the per-source metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from api_helpers import Api, poll
from prometheus_client.parser import text_string_to_metric_families

from safespace.exchanges import ExchangeService
from safespace.store._models import ChangeLogPruned


def _with_source(api: Api, tmp_path: Path) -> None:
    listing = tmp_path / "list.txt"
    listing.write_text("video_md5 " + "a" * 32 + "\n")
    api.post("/v1/banks", "curate", json={"name": "common"})
    later = datetime.now(UTC) + timedelta(hours=1)  # its first run: the app's periodic fetch
    ExchangeService(api.state.db, clock=lambda: later).add(  # leaves it to the test's own
        "feed", type="list", bank="common", config={"url": str(listing)}
    )


def test_sources_status_and_fetch_now(api: Api, tmp_path: Path) -> None:
    _with_source(api, tmp_path)
    fetched = api.post("/v1/exchanges/feed/fetch", "curate")
    assert fetched.status_code == 200, fetched.text
    assert (fetched.json()["ok"], fetched.json()["added"]) == (True, 1)
    (source,) = api.get("/v1/exchanges", "curate").json()["sources"]
    assert source["status"] == "ok"
    assert source["counts"]["entries"] == 1
    assert source["checkpoint"]["entries"] == 1
    assert api.get("/v1/exchanges/nope", "curate").json()["type"] == "/problems/source-not-found"
    assert api.get("/v1/exchanges", "match").status_code == 403

    def matches() -> list[dict[str, Any]]:
        body = api.post("/v1/match", "match", json={"signals": {"md5": "a" * 32}}).json()
        found: list[dict[str, Any]] = body["matches"]
        return found

    assert poll(lambda: bool(matches()))  # the matcher's next refresh
    assert matches()[0]["entries"][0]["exchange"] == {
        "source": "feed", "upstream_id": "md5:" + "a" * 32, "categories": [], "opinions": {},
    }  # fmt: skip


def test_hma_exchange_routes(api: Api, tmp_path: Path) -> None:
    _with_source(api, tmp_path)
    assert api.get("/c/exchanges", "curate").json() == ["feed"]
    assert {"safespace", "list"} <= set(api.get("/c/exchanges/apis", "curate").json())
    schema = api.get("/c/exchanges/api/safespace/schema", "curate").json()
    assert "remote_bank" in schema["config_schema"]["properties"]
    assert schema["credentials"] == ["api_key"]
    assert api.get("/c/exchanges/api/ftp/schema", "curate").status_code == 400
    one = api.get("/c/exchange/feed", "curate").json()
    assert (one["api"], one["bank"], one["enabled"]) == ("list", "common", True)


def test_the_feed_needs_the_exchange_scope_and_answers_410_past_pruning(api: Api) -> None:
    api.post("/v1/banks", "curate", json={"name": "common"})
    api.post("/v1/banks/common/entries", "curate",
             json={"entries": [{"signal_type": "md5", "value": "b" * 32}]})  # fmt: skip
    api.keys["exchange"] = api.state.keys.create("exchange", name="peer")[1]
    assert api.get("/v1/exchange/banks/common/feed", "curate").status_code == 403
    first = api.get("/v1/exchange/banks/common/feed", "exchange").json()
    assert [e["value"] for e in first["entries"]] == ["b" * 32]
    assert first["more"] is True  # the log follows
    with api.state.db.transaction() as s:
        s.add(ChangeLogPruned(id=1, through_seq=10**6, deleted=0))
    gone = api.get("/v1/exchange/banks/common/feed", "exchange", params={"seq": 1})
    assert gone.status_code == 410
    assert gone.json()["type"] == "/problems/stale-checkpoint"


def test_metrics_per_source(api: Api, tmp_path: Path) -> None:
    _with_source(api, tmp_path)
    api.post("/v1/exchanges/feed/fetch", "curate")
    text = api.get("/metrics").text
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    key = (("source", "feed"), ("type", "list"))
    assert samples[("safespace_exchange_up", key)] == 1.0
    assert samples[("safespace_exchange_entries", key)] == 1.0
