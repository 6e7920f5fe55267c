"""NCMEC hash sharing (API v2, XML): entries paged through time windows, votes sent back.

The API answers ``GET /v2/entries?from=&to=`` with the entries changed in that window
(``<image>``, ``<video>``, and ``<deletedImage>``/``<deletedVideo>`` tombstones), a page at a
time, each page naming the next one in ``<paging><next>`` (a URL with ``start``, ``size`` and
``max``). Entries are not in time order inside a window, so a window counts as fetched only
once its last page is in: the checkpoint holds the start of the unfinished window (``from``),
its end (``to``) and the next page's URL (``next``). NCMEC asks members not to keep a next
URL for long, so one older than 12 hours is dropped and its window fetched again from its
start (entries are upserts: a page seen twice changes nothing); a checkpoint not renewed for
12 hours is stale (:attr:`NcmecSource.stale_after`).

A window's size adapts: the first fetch asks for everything since ``start_at``; when a window
holds more than ``max_window_entries`` (read from the first page's ``max``), it is halved
before any of it is used, and it doubles again after a window comfortably under the limit.

Each fingerprint of an entry that SafeSpace can match (the types whose
``exchange_names["ncmec"]`` names the tag) becomes one :class:`SourceEntry` with upstream id
``MEMBER/ENTRY/TAG``; every version of an entry also removes its other fingerprints, and a
tombstone removes them all. Votes go back with ``PUT /v2/entries/MEMBER/ENTRY/TYPE/feedback``:
an affirmative vote for a confirmation, a negative one with a reason (a GUID from
``GET /v2/feedback/TYPE/reasons``) for a false positive. Python-threatexchange's NCMEC client
is not used: it pulls in ``requests`` and its own retry policy and raises bare exceptions,
where a source must raise the contract's typed errors and never yield half a page.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal
from xml.etree.ElementTree import Element, ParseError

import httpx
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
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
from safespace.signals import SIGNAL_TYPES

__all__ = ["ENVIRONMENTS", "NCMEC_NAMESPACE", "SOURCE", "NcmecConfig", "NcmecSource"]

log = logging.getLogger("safespace.exchanges.ncmec")

NCMEC_NAMESPACE = "https://hashsharing.ncmec.org/hashsharing/v2"
_NS = f"{{{NCMEC_NAMESPACE}}}"
FORMAT = "ncmec"  # SignalType.exchange_names key

ENVIRONMENTS: Mapping[str, str] = {
    "industry": "https://report.cybertip.org/hashsharing",
    "industry-exploitative": "https://report.cybertip.org/exploitative-hashsharing",
    "law-enforcement": "https://lesp.ncmec.org/csam-hashsharing",
    "ngo": "https://hashsharing.ncmec.org/npo",
    "exploitative": "https://hashsharing.ncmec.org/exploitative",
    "ngo-generative-ai": "https://hashsharing.ncmec.org/generative-ai-csam",
    "ngo-generative-ai-exploitative": "https://hashsharing.ncmec.org/generative-ai-exploitative",
    "test-industry": "https://exttest.cybertip.org/hashsharing",
    "test-industry-exploitative": "https://exttest.cybertip.org/exploitative-hashsharing",
    "test-law-enforcement": "https://betalesp.ncmec.org/csam-hashsharing",
    "test-ngo": "https://hashsharing-test.ncmec.org/npo",
    "test-exploitative": "https://hashsharing-test.ncmec.org/exploitative",
    "test-ngo-generative-ai": "https://hashsharing-test.ncmec.org/generative-ai-csam",
    "test-ngo-generative-ai-exploitative": (
        "https://hashsharing-test.ncmec.org/generative-ai-exploitative"
    ),
}
"""NCMEC's environments (databases), by the name a source's settings use, and their URLs."""

Environment = Literal[
    "industry", "industry-exploitative", "law-enforcement", "ngo", "exploitative",
    "ngo-generative-ai", "ngo-generative-ai-exploitative", "test-industry",
    "test-industry-exploitative", "test-law-enforcement", "test-ngo", "test-exploitative",
    "test-ngo-generative-ai", "test-ngo-generative-ai-exploitative",
]  # fmt: skip

# Fingerprint tag (lower case) -> SafeSpace signal type, from each type's exchange_names.
_TAGS: Mapping[str, str] = {
    wire.lower(): kind.name
    for kind in SIGNAL_TYPES.values()
    if (wire := kind.exchange_name(FORMAT)) is not None
}
NEXT_URL_LIFETIME = timedelta(hours=12)
_TIME = "%Y-%m-%dT%H:%M:%SZ"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class NcmecConfig(BaseModel):
    """An NCMEC source's settings (the username and password are credentials)."""

    environment: Environment = Field(
        "industry", description="which NCMEC database to read (NCMEC's environments)"
    )
    base_url: str | None = Field(
        None, description="the environment's URL, when not NCMEC's own (a proxy, a test server)"
    )
    only_member_ids: list[int] = Field(
        default_factory=list, description="take entries of these member (ESP) ids only"
    )
    start_at: datetime | None = Field(
        None, description="the first fetch takes entries changed since then (default: all)"
    )
    max_window_entries: int = Field(
        100_000, ge=10, description="a time window holding more entries is halved"
    )
    settle_seconds: int = Field(
        5, ge=0, description="windows end this long before now (entries still being written)"
    )
    downvote_reason: str | None = Field(
        None,
        description="the negative-feedback reason (name or GUID) sent with a false positive; "
        "default: the reviewer's reason when it names one of NCMEC's, else NCMEC's first",
    )


def _time(at: datetime) -> str:
    return at.astimezone(UTC).strftime(_TIME)


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _seconds(at: datetime) -> int:
    return int((at - _EPOCH).total_seconds())


def _at(seconds: int) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def upstream_id(member_id: str, entry_id: str, tag: str) -> str:
    """An entry's fingerprint as the source names it: ``MEMBER/ENTRY/TAG``."""
    return f"{member_id}/{entry_id}/{tag.lower()}"


def _split_id(value: str) -> tuple[str, str, str]:
    member, _, rest = value.partition("/")
    entry, _, tag = rest.rpartition("/")
    if not member or not entry or not tag:
        raise SourceRejected(f"{value!r} is not an NCMEC entry's fingerprint (MEMBER/ENTRY/TAG)")
    return member, entry, tag


class _Page:
    """One ``<queryResult>``, read whole: the changes, and the next page's URL."""

    def __init__(self, body: bytes, only_members: frozenset[str]) -> None:
        try:
            root: Element = fromstring(body, forbid_dtd=True)
        except (ParseError, DefusedXmlException) as exc:
            raise SourceUnavailable(
                f"NCMEC answered a truncated or malformed page: {exc}"
            ) from None
        if _local(root.tag) != "queryResult":
            raise SourceUnavailable(f"NCMEC answered <{_local(root.tag)}>, not <queryResult>")
        self.upserts: list[SourceEntry] = []
        self.removals: list[str] = []
        self.skipped = 0
        for group in root:
            if _local(group.tag) not in ("images", "videos"):
                continue
            for item in group:
                self._entry(item, only_members)
        nxt = root.find(f"{_NS}paging/{_NS}next")
        if nxt is None:
            nxt = root.find("paging/next")
        self.next = (nxt.text or "").strip() if nxt is not None else ""

    def _entry(self, item: Element, only_members: frozenset[str]) -> None:
        tag = _local(item.tag).lower()
        deleted = tag.startswith("deleted")
        kind = tag.removeprefix("deleted")
        if kind not in ("image", "video"):
            return
        fields = {_local(child.tag): child for child in item}
        entry_id = (fields["id"].text or "").strip() if "id" in fields else ""
        member = fields["member"].get("id", "").strip() if "member" in fields else ""
        if not entry_id or not member:
            raise SourceUnavailable("NCMEC answered an entry without its id or member id")
        if only_members and member not in only_members:
            return
        present: dict[str, str] = {}
        if not deleted and "fingerprints" in fields:
            for fp in fields["fingerprints"]:
                fp_tag = _local(fp.tag).lower()
                if fp_tag in _TAGS and (fp.text or "").strip():
                    present[fp_tag] = fp.text.strip()  # type: ignore[union-attr]
        self.removals += [upstream_id(member, entry_id, t) for t in _TAGS if t not in present]
        if not present:
            return
        classification = (
            fields["classification"].text if "classification" in fields else None
        ) or None
        stamp = fields["timestamp"].text if "timestamp" in fields else None
        votes = _votes(fields.get("feedback"))
        for fp_tag, value in present.items():
            meta = {"member_id": member, "entry_id": entry_id, "media": kind, "fingerprint": fp_tag}
            if stamp:
                meta["timestamp"] = stamp.strip()
            try:
                entry = SourceEntry(
                    upstream_id(member, entry_id, fp_tag), _TAGS[fp_tag], value,
                    categories=(classification.strip(),) if classification else (),
                    opinions=votes.get(fp_tag, {}), metadata=meta,
                )  # fmt: skip
            except InvalidSignal as exc:  # one unusable hash: logged, never half a page
                log.warning("NCMEC entry %s/%s: %s skipped: %s", member, entry_id, fp_tag, exc)
                self.removals.append(upstream_id(member, entry_id, fp_tag))
                self.skipped += 1
                continue
            self.upserts.append(entry)


def _votes(feedback: Element | None) -> dict[str, dict[str, int]]:
    """Per fingerprint tag: how many members confirmed (upvoted) and disputed (downvoted)."""
    out: dict[str, dict[str, int]] = {}
    if feedback is None:
        return out
    for sentiment in feedback:
        name = _local(sentiment.tag)
        key = {"affirmativeFeedback": "confirmed", "negativeFeedback": "disputed"}.get(name)
        if key is None:
            continue
        members = sum(1 for e in sentiment.iter() if _local(e.tag) == "member")
        fp = (sentiment.get("type") or "").lower()
        counts = out.setdefault(fp, {})
        counts[key] = counts.get(key, 0) + members
    return out


class NcmecSource(BankSource):
    """NCMEC's hash-sharing API v2 (XML), in any of its environments."""

    type_name: ClassVar[str] = "ncmec"
    description: ClassVar[str] = (
        "NCMEC hash sharing (API v2, XML): entries by time window, votes sent back"
    )
    config_model: ClassVar[type[BaseModel]] = NcmecConfig
    credential_names: ClassVar[tuple[str, ...]] = ("username", "password")
    supports_opinions: ClassVar[bool] = True
    stale_after: ClassVar[timedelta | None] = NEXT_URL_LIFETIME

    clock: Callable[[], datetime] = staticmethod(lambda: datetime.now(UTC))
    """Now; tests replace it on an instance."""

    def __init__(
        self, config: BaseModel, credentials: Mapping[str, str], http: httpx.Client
    ) -> None:
        super().__init__(config, credentials, http)
        assert isinstance(config, NcmecConfig)
        self.settings = config
        self.base = (config.base_url or ENVIRONMENTS[config.environment]).rstrip("/")
        user, password = self.credentials.get("username"), self.credentials.get("password")
        if not user or not password:
            raise SourceRejected("an NCMEC source needs its username and password credentials")
        self._auth = httpx.BasicAuth(user, password)
        self._members = frozenset(str(m) for m in config.only_member_ids)
        self._reasons: dict[str, dict[str, str]] = {}

    # --- HTTP ----------------------------------------------------------------------------

    def _request(self, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, url, auth=self._auth, **kwargs)
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"NCMEC {what}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            raise http_error(response, f"NCMEC {what}")
        return response

    def _entries(self, start: int, end: int, next_url: str) -> _Page:
        if next_url:
            if not next_url.startswith("/v2/"):
                raise SourceUnavailable(f"NCMEC named a next page outside /v2: {next_url!r}")
            response = self._request("GET", self.base + next_url, "entries (next page)")
        else:
            params = {"from": _time(_at(start)), "to": _time(_at(end))}
            response = self._request("GET", f"{self.base}/v2/entries", "entries", params=params)
        return _Page(response.content, self._members)

    # --- fetching ------------------------------------------------------------------------

    def fetch(self, checkpoint: Mapping[str, Any] | None) -> Iterator[FetchPage]:
        now = self.clock()
        cp = dict(checkpoint or {})
        first = self.settings.start_at
        start = int(cp.get("from", _seconds(first) if first else 0))
        end = _seconds(now) - self.settings.settle_seconds
        window = int(cp.get("window", 0)) or max(1, end - start)
        resume_to, next_url = cp.get("to"), str(cp.get("next") or "")
        next_at = _parse_time(cp.get("next_at"))
        if next_url and (next_at is None or now - next_at > NEXT_URL_LIFETIME):
            log.info("NCMEC next page URL is over 12 hours old: fetching its window again")
            next_url = ""
        to = int(resume_to) if next_url and resume_to is not None else 0
        seen = 0  # entries in the window so far: a quiet window lets the next one grow
        while start < end:
            if not next_url:
                to, seen = min(end, start + window), 0
                page = self._entries(start, to, "")
                size = _window_size(page.next) if page.next else None
                if size is not None and size > self.settings.max_window_entries and window > 1:
                    window = max(1, window // 2)  # too big: none of it used, try half
                    continue
            else:
                page = self._entries(start, to, next_url)
            seen += len(page.upserts) + len(page.removals)
            stamp = {"window": window}
            if page.next:
                next_url = page.next
                state = {"from": start, "to": to, "next": next_url, "next_at": now.isoformat()}
                yield FetchPage(page.upserts, page.removals, {**state, **stamp}, more=True)
                continue
            next_url, start = "", to
            if seen < self.settings.max_window_entries // 4:
                window = min(window * 2, 1 << 32)
            stamp["window"] = window
            yield FetchPage(page.upserts, page.removals, {"from": start, **stamp}, more=start < end)

    # --- opinions ------------------------------------------------------------------------

    def _reason_guid(self, fp_type: str, reason: str | None) -> str:
        reasons = self._reasons.get(fp_type)
        if reasons is None:
            url = f"{self.base}/v2/feedback/{fp_type}/reasons"
            body = self._request("GET", url, "feedback reasons").content
            try:
                root = fromstring(body, forbid_dtd=True)
            except (ParseError, DefusedXmlException) as exc:
                raise SourceUnavailable(f"NCMEC answered malformed reasons: {exc}") from None
            reasons = {
                r.get("guid", ""): r.get("name", "")
                for r in root.iter()
                if _local(r.tag) == "reason" and r.get("guid")
            }
            self._reasons[fp_type] = reasons
        if not reasons:
            raise SourceRejected(f"NCMEC lists no negative-feedback reasons for {fp_type}")
        for wanted in (self.settings.downvote_reason, reason):
            if not wanted:
                continue
            for guid, name in reasons.items():
                if wanted.strip().lower() in (guid.lower(), name.lower()):
                    return guid
            if wanted is self.settings.downvote_reason:
                raise SourceRejected(
                    f"downvote_reason {wanted!r} is none of NCMEC's: {', '.join(reasons.values())}"
                )
        return next(iter(reasons))

    def send_opinion(self, opinion: Opinion) -> None:
        member, entry, tag = _split_id(opinion.upstream_id)
        fp_type = tag.upper()  # NCMEC's fingerprint type: MD5, PDQ...
        if opinion.verdict is Verdict.CONFIRMED:
            vote = "<affirmative/>"
        else:
            guid = self._reason_guid(fp_type, opinion.reason)
            vote = f"<negative><reasonIds><guid>{_escape(guid)}</guid></reasonIds></negative>"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<feedbackSubmission xmlns="{NCMEC_NAMESPACE}">{vote}</feedbackSubmission>'
        ).encode()
        path = "/".join(urllib.parse.quote(p, safe="") for p in (member, entry, fp_type))
        self._request(
            "PUT",
            f"{self.base}/v2/entries/{path}/feedback",
            "feedback",
            content=body,
            headers={"Content-Type": "application/xml; charset=utf-8"},
        )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _window_size(next_url: str) -> int | None:
    """How many entries the window holds, from the next URL's ``max`` (None if absent)."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(next_url).query)
    try:
        return int(query["max"][0])
    except (KeyError, ValueError, IndexError):
        return None


SOURCE = NcmecSource
