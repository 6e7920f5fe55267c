"""Another SafeSpace as a bank source (federation): its feed of one bank's changes.

The peer serves ``GET /v1/exchange/banks/{bank}/feed?seq=S&after_id=A&limit=N`` to a key
with the ``exchange`` scope (see :mod:`safespace.exchanges._feed`); the cursor it returns is
the checkpoint, so each page and its cursor commit together here. The checkpoint also keeps
the peer's instance id (``instance``), and an entry the peer took in from elsewhere carries
its ``origin``: what lets a fetch here tell an echo of its own entry (see
:func:`~safespace.exchanges._service._gone_echoes`). Opinions go back with
``POST /v1/exchange/banks/{bank}/opinions``; each carries an id built from the entry, the
verdict and the decision's time, so a resend after a lost answer counts once over there.
A page is checked whole (shape, every hash) before it is used: a page that is not JSON, cut
short or malformed raises :class:`~safespace.errors.SourceUnavailable` and nothing of it
is applied.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field, field_validator

from safespace.errors import (
    SafeSpaceError,
    SourceRejected,
    SourceUnavailable,
    StaleCheckpoint,
)
from safespace.exchanges._source import (
    BankSource,
    FetchPage,
    Opinion,
    SourceEntry,
    http_error,
    known_signal_type,
    read_ahead,
)

__all__ = ["SOURCE", "PeerConfig", "PeerSource"]

T = TypeVar("T")


class PeerConfig(BaseModel):
    """Where the peer is and which of its banks to follow."""

    url: str = Field(description="the peer's base URL, e.g. https://safespace.example.org")
    remote_bank: str = Field(description="the bank on the peer to follow")
    page_size: int = Field(default=10_000, ge=1, le=10_000)  # the most a peer serves

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("the peer's URL must start with http:// or https://")
        return value.rstrip("/")


READ_AHEAD = 12  # pages decoded ahead of the caller: a group of 100,000 changes and more


class PeerSource(BankSource):
    type_name: ClassVar[str] = "safespace"
    description: ClassVar[str] = "another SafeSpace: one of its banks, changes and opinions"
    config_model: ClassVar[type[BaseModel]] = PeerConfig
    credential_names: ClassVar[tuple[str, ...]] = ("api_key",)
    supports_opinions: ClassVar[bool] = True
    stale_after: ClassVar[timedelta | None] = None  # the peer says so (410) when it is

    @property
    def settings(self) -> PeerConfig:
        assert isinstance(self.config, PeerConfig)
        return self.config

    def _url(self, tail: str) -> str:
        return f"{self.settings.url}/v1/exchange/banks/{quote(self.settings.remote_bank)}/{tail}"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credentials.get('api_key', '')}"}

    def fetch(self, checkpoint: Mapping[str, Any] | None) -> Iterator[FetchPage]:
        """Pages from ``checkpoint``, read, decoded and checked by a helper thread up to
        :data:`READ_AHEAD` pages ahead (:func:`read_ahead`), while the caller applies the
        pages before them."""
        return read_ahead(self._fetch_in_turn(checkpoint), READ_AHEAD)

    def _fetch_in_turn(self, checkpoint: Mapping[str, Any] | None) -> Iterator[FetchPage]:
        """Pages from ``checkpoint``; the next page is requested and transferred (in one
        helper thread) while this one is decoded and checked. Only whole, checked pages are
        yielded."""
        cursor = dict(checkpoint or {})
        seq = int(cursor.get("seq") or 0)
        after = cursor.get("after_id")
        with ThreadPoolExecutor(1, thread_name_prefix="safespace-peer-get") as pool:
            pending = pool.submit(self._get_raw, self._params(seq, after))
            try:
                while True:
                    body = _decode(pending.result())
                    seq, after, more = _cursor(body)
                    if more:
                        pending = pool.submit(self._get_raw, self._params(seq, after))
                    page, _, _ = _page(body)
                    yield page
                    if not page.more:
                        return
            finally:
                pending.cancel()  # a page read ahead and never asked for is dropped

    def _params(self, seq: int, after: int | None) -> dict[str, str | int]:
        params: dict[str, str | int] = {
            "seq": seq,
            "limit": self.settings.page_size,
            "format": "columns",  # a peer too old to know it answers with entries
        }
        if after is not None:
            params["after_id"] = int(after)
        return params

    def _get(self, params: Mapping[str, str | int]) -> Any:
        return _decode(self._get_raw(params))

    def _get_raw(self, params: Mapping[str, str | int]) -> bytes:
        """The body of one feed answer, not yet decoded."""
        try:
            response = self.http.get(self._url("feed"), params=params, headers=self._headers())
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"the peer: {type(exc).__name__}: {exc}") from None
        if response.status_code == 410:
            raise StaleCheckpoint("the peer no longer serves changes from this checkpoint")
        if response.status_code != 200:
            raise http_error(response, "the peer's feed")
        return response.content

    def send_opinion(self, opinion: Opinion) -> None:
        ident = hashlib.sha256(
            f"{opinion.upstream_id}\n{opinion.verdict.value}\n{opinion.decided_at.isoformat()}"
            .encode()
        ).hexdigest()[:32]  # fmt: skip
        body = {
            "upstream_id": opinion.upstream_id,
            "signal_type": opinion.signal_type,
            "value": opinion.value,
            "verdict": opinion.verdict.value,
            "reason": opinion.reason,
            "decided_at": opinion.decided_at.isoformat(),
            "opinion_id": ident,
        }
        try:
            response = self.http.post(self._url("opinions"), json=body, headers=self._headers())
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"the peer: {type(exc).__name__}: {exc}") from None
        if response.status_code not in (200, 201):
            raise http_error(response, "the peer's opinions")


def _decode(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise SourceUnavailable("the peer's feed page is not JSON (cut short?)") from None


def _cursor(body: Any) -> tuple[int, int | None, bool]:
    """The page's cursor and ``more`` (to ask for the next page before checking this one);
    SourceUnavailable when they do not fit."""
    try:
        cursor = body["cursor"]
        after = cursor.get("after_id")
        return int(cursor["seq"]), None if after is None else int(after), body["more"] is True
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SourceUnavailable(f"the peer's feed page is malformed: {exc}") from None


def _page(body: Any) -> tuple[FetchPage, int, int | None]:
    """A feed answer checked whole; SourceUnavailable when any part does not fit."""
    try:
        cursor = body["cursor"]
        seq = int(cursor["seq"])
        after = cursor.get("after_id")
        after = None if after is None else int(after)
        more = body["more"]
        if not isinstance(more, bool) or seq < 0:
            raise ValueError("bad cursor")
        instance = _instance(body.get("instance"))
        upserts = _columns(body["columns"]) if "columns" in body else []
        for item in () if "columns" in body else body["entries"]:
            kind = known_signal_type(str(item["signal_type"]))
            if kind is None:
                continue  # a type this SafeSpace lacks
            upserts.append(
                SourceEntry(
                    str(item["id"]),
                    kind,
                    str(item["value"]),
                    tuple(str(c) for c in item.get("categories") or ()),
                    {str(k): int(v) for k, v in dict(item.get("opinions") or {}).items()},
                    dict(item.get("metadata") or {}),
                    _origin(item.get("origin")),
                )
            )
        removals = [str(r) for r in body["removals"]]
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, SafeSpaceError) as exc:
        if isinstance(exc, SourceRejected):
            raise
        raise SourceUnavailable(f"the peer's feed page is malformed: {exc}") from None
    checkpoint: dict[str, Any] = {"seq": seq, "after_id": after}
    if instance is not None:  # who the peer is: the feed here names it as its entries' origin
        checkpoint["instance"] = instance
    return FetchPage(upserts, removals, checkpoint, more), seq, after


def _instance(value: Any) -> str | None:
    """The serving peer's instance id (None from a peer too old to name itself)."""
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 32 or "/" in value:
        raise ValueError("bad instance id")
    return value


def _origin(value: Any) -> str | None:
    """Where an entry the peer took in from elsewhere began (None: it began at the peer)."""
    if value is None:
        return None
    if not isinstance(value, str) or not 3 <= len(value) <= _ORIGIN_MAX or "/" not in value:
        raise ValueError("bad origin")
    return value


_ORIGIN_MAX = 128


def _columns(columns: Any) -> list[SourceEntry]:
    """The entries of a page in the ``columns`` encoding (types SafeSpace lacks left out)."""
    ids = [str(i) for i in columns["id"]]
    types = [str(t) for t in columns["signal_type"]]
    values = [str(v) for v in columns["value"]]
    categories = [
        None if c is None else tuple(str(x) for x in c) for c in columns["categories"]
    ]  # fmt: skip
    opinions = [
        None if o is None else {str(k): int(v) for k, v in dict(o).items()}
        for o in columns["opinions"]
    ]
    metadata = [None if m is None else dict(m) for m in columns["metadata"]]
    named = columns.get("origin")  # only when some entry began elsewhere
    origins = None if named is None else [_origin(o) for o in named]
    if origins is not None and len(origins) != len(ids):
        raise ValueError("the columns differ in length")
    known = {t: known_signal_type(t) for t in set(types)}
    if None in known.values():  # a type this SafeSpace lacks: leave its entries out
        keep = [i for i, t in enumerate(types) if known[t] is not None]
        ids, types, values = _pick(ids, keep), _pick(types, keep), _pick(values, keep)
        categories, opinions = _pick(categories, keep), _pick(opinions, keep)
        metadata = _pick(metadata, keep)
        origins = None if origins is None else _pick(origins, keep)
    return SourceEntry.many(ids, types, values, categories, opinions, metadata, origins)


def _pick(column: list[T], keep: list[int]) -> list[T]:
    return [column[i] for i in keep]


SOURCE = PeerSource
