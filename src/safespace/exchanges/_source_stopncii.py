"""StopNCII.org: hashes people submitted to the StopNCII portal, feedback sent back.

``GET /v1/FetchHashes?startTimestamp=&pageSize=`` answers a page of hash records changed
since ``startTimestamp``; while ``hasMoreRecords`` the next page is asked for with
``nextPageToken``, and the last page's ``nextSetTimestamp`` is where the next fetch starts.
Every call carries the subscription key (``Ocp-Apim-Subscription-Key``) and the endpoint's
function key (``x-functions-key``). A record is the current state of one hash: ``Active``
(or ``Received``) adds or changes it, ``Withdrawn`` or ``Deleted`` removes it. The checkpoint
is ``{"start", "token"}``; a page token is short-lived, so one StopNCII refuses (400) is
dropped and the set fetched again from ``start`` (records are upserts). A checkpoint not
renewed for 30 days is stale: StopNCII's change history may no longer cover it.

Unlike python-threatexchange's client (issue 2004: a truncated 200 page is parsed into an
empty page and the fetch stalls), a page is checked whole before it is used: a body that is
not a complete page, or a record without its fields, raises
:class:`~safespace.errors.SourceUnavailable` and nothing of it is applied. Records of signal
types SafeSpace lacks are skipped. Feedback goes back with ``POST /v1/SubmitFeedback``:
``Blocked`` for a confirmation, ``NotBlocked`` for a false positive.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from datetime import timedelta
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, Field

from safespace.errors import InvalidSignal, SourceRejected, SourceUnavailable
from safespace.exchanges._source import (
    BankSource,
    FetchPage,
    Opinion,
    SourceEntry,
    Verdict,
    http_error,
)
from safespace.signals import exchange_type

__all__ = ["SOURCE", "StopNciiConfig", "StopNciiSource", "upstream_id"]

log = logging.getLogger("safespace.exchanges.stopncii")

FORMAT = "stopncii"  # SignalType.exchange_names key
BASE_URL = "https://api.stopncii.org/v1"
_ACTIVE = frozenset({"active", "received"})
_GONE = frozenset({"withdrawn", "deleted"})
FEEDBACK = {Verdict.CONFIRMED: "Blocked", Verdict.FALSE_POSITIVE: "NotBlocked"}
"""The StopNCII feedback value sent for each verdict."""


class StopNciiConfig(BaseModel):
    """A StopNCII source's settings (the keys are credentials)."""

    base_url: str = Field(BASE_URL, description="the API's URL (StopNCII's own by default)")
    page_size: int = Field(800, ge=1, le=1000, description="hash records asked for a page")
    start_timestamp: int = Field(
        0, ge=0, description="the first fetch takes records changed since then (Unix seconds)"
    )
    feedback_tags: list[str] = Field(
        default_factory=list, description="tags sent with every feedback"
    )


def _fold(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def upstream_id(signal_type: str, value: str) -> str:
    """A record as the source names it: ``SIGNALTYPE:HASH`` (StopNCII's spelling of both)."""
    return f"{signal_type}:{value}"


def _page(body: bytes) -> dict[str, Any]:
    """The page, checked whole: a truncated or malformed body raises, never yields less."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceUnavailable(f"StopNCII sent a truncated or malformed page: {exc}") from None
    if not isinstance(doc, dict):
        raise SourceUnavailable("StopNCII sent a page that is not a JSON object")
    records, more = doc.get("hashRecords"), doc.get("hasMoreRecords")
    next_set, token = doc.get("nextSetTimestamp"), doc.get("nextPageToken")
    if not isinstance(records, list) or not isinstance(more, bool):
        raise SourceUnavailable("StopNCII sent a page without hashRecords or hasMoreRecords")
    if isinstance(next_set, bool) or not isinstance(next_set, int):
        raise SourceUnavailable("StopNCII sent a page without a nextSetTimestamp")
    if more and not (isinstance(token, str) and token):
        raise SourceUnavailable("StopNCII said there is more but sent no nextPageToken")
    if isinstance(doc.get("count"), int) and doc["count"] != len(records):
        raise SourceUnavailable(f"StopNCII's page counts {doc['count']}, holds {len(records)}")
    return doc


def _opinions(feedbacks: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for f in feedbacks if isinstance(feedbacks, list) else ():
        value = f.get("feedbackValue") if isinstance(f, dict) else None
        key = {"Blocked": "confirmed", "NotBlocked": "disputed"}.get(str(value))
        if key:
            out[key] = out.get(key, 0) + 1
    return out


def _changes(records: list[Any]) -> tuple[list[SourceEntry], list[str]]:
    upserts: list[SourceEntry] = []
    removals: list[str] = []
    for record in records:
        if not isinstance(record, dict):
            raise SourceUnavailable("StopNCII sent a hash record that is not an object")
        wire, value, status = (
            record.get("signalType"),
            record.get("hashValue"),
            record.get("hashStatus"),
        )
        if not (isinstance(wire, str) and isinstance(value, str) and isinstance(status, str)):
            raise SourceUnavailable("StopNCII sent a hash record without its type, hash or status")
        if not (wire and value and status):
            raise SourceUnavailable("StopNCII sent a hash record with an empty field")
        kind = exchange_type(FORMAT, wire, _fold)
        if kind is None:
            continue  # a type SafeSpace cannot match (VideoTMK, Text, URL...)
        uid = upstream_id(wire, value)
        if status.lower() in _GONE:
            removals.append(uid)
            continue
        if status.lower() not in _ACTIVE:
            continue  # Unknown: neither listed nor withdrawn; left as it was
        meta = {
            "hash_status": status,
            "last_modified": record.get("lastModtimestamp"),
            "case_numbers": record.get("caseNumbers") or {},
        }
        try:
            upserts.append(
                SourceEntry(uid, kind.name, value, opinions=_opinions(record.get("CSPFeedbacks")),
                            metadata=json.loads(json.dumps(meta)))
            )  # fmt: skip
        except InvalidSignal as exc:
            log.warning("StopNCII record %s skipped: %s", uid, exc)
            removals.append(uid)
        except (TypeError, ValueError) as exc:
            raise SourceUnavailable(f"StopNCII sent a record with odd fields: {exc}") from None
    return upserts, removals


class StopNciiSource(BankSource):
    """StopNCII.org's hash exchange (FetchHashes, SubmitFeedback)."""

    type_name: ClassVar[str] = "stopncii"
    description: ClassVar[str] = (
        "StopNCII.org: hashes submitted by people to the StopNCII portal, feedback sent back"
    )
    config_model: ClassVar[type[BaseModel]] = StopNciiConfig
    credential_names: ClassVar[tuple[str, ...]] = (
        "subscription_key",
        "fetch_function_key",
        "feedback_function_key",
    )
    supports_opinions: ClassVar[bool] = True
    stale_after: ClassVar[timedelta | None] = timedelta(days=30)

    def __init__(
        self, config: BaseModel, credentials: Mapping[str, str], http: httpx.Client
    ) -> None:
        super().__init__(config, credentials, http)
        assert isinstance(config, StopNciiConfig)
        self.settings = config
        self.base = config.base_url.rstrip("/")
        if not self.credentials.get("subscription_key"):
            raise SourceRejected("a StopNCII source needs its subscription_key credential")

    def _call(self, method: str, endpoint: str, key_name: str, **kwargs: Any) -> httpx.Response:
        key = self.credentials.get(key_name)
        if not key:
            raise SourceRejected(f"StopNCII {endpoint} needs the {key_name} credential")
        headers = {
            "Ocp-Apim-Subscription-Key": self.credentials["subscription_key"],
            "x-functions-key": key,
        }
        try:
            response = self.http.request(
                method, f"{self.base}/{endpoint}", headers=headers, **kwargs
            )
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"StopNCII {endpoint}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            raise http_error(response, f"StopNCII {endpoint}")
        return response

    def _fetch_page(self, start: int, token: str) -> dict[str, Any]:
        params: dict[str, Any] = {"startTimestamp": start, "pageSize": self.settings.page_size}
        if token:
            params["nextPageToken"] = token
        response = self._call("GET", "FetchHashes", "fetch_function_key", params=params)
        return _page(response.content)

    def fetch(self, checkpoint: Mapping[str, Any] | None) -> Iterator[FetchPage]:
        cp = dict(checkpoint or {})
        start = int(cp.get("start", self.settings.start_timestamp))
        token = str(cp.get("token") or "")
        while True:
            try:
                doc = self._fetch_page(start, token)
            except SourceRejected:
                if not token:
                    raise
                log.info("StopNCII refused an old page token: fetching the set again")
                token = ""
                continue
            upserts, removals = _changes(doc["hashRecords"])
            if doc["hasMoreRecords"]:
                token = doc["nextPageToken"]
                yield FetchPage(upserts, removals, {"start": start, "token": token}, more=True)
                continue
            start = max(start, doc["nextSetTimestamp"])
            yield FetchPage(upserts, removals, {"start": start}, more=False)
            return

    def send_opinion(self, opinion: Opinion) -> None:
        _, sep, value = opinion.upstream_id.partition(":")
        if not sep or not value:
            raise SourceRejected(f"{opinion.upstream_id!r} is not a StopNCII record's id")
        item = {
            "hashValue": value,
            "feedbackValue": FEEDBACK[opinion.verdict],
            "tags": list(self.settings.feedback_tags),
        }
        self._call(
            "POST",
            "SubmitFeedback",
            "feedback_function_key",
            json={"count": 1, "hashFeedbacks": [item]},
        )


SOURCE = StopNciiSource
