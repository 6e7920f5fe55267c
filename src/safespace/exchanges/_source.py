"""The bank-source contract: what every source of hash lists (an exchange) implements.

Shaped like python-threatexchange's ``SignalExchangeAPI``: a source fetches *deltas* (added,
changed and removed entries, each with its upstream id) from a *checkpoint*, says when a
checkpoint is too old to resume from, and sends *opinions* (a reviewer's confirmation or
false positive) back. The differences are deliberate:

* a page is the unit of work: :class:`ExchangeService` applies one :class:`FetchPage` and
  its checkpoint in one database transaction, so a crash (kill -9 included) resumes from the
  last committed checkpoint with nothing lost or applied twice;
* faults are typed: :class:`~safespace.errors.SourceUnavailable` (transient: the network, a
  5xx answer, a truncated or malformed page; retried with backoff) and
  :class:`~safespace.errors.SourceRejected` (permanent until someone fixes it: bad
  credentials, a 4xx answer). A source never yields part of a page: it reads and checks the
  whole page first, then yields it or raises;
* checkpoints are plain JSON objects (stored as they are), not pickled classes.

Writing a source: a module ``_source_<type>.py`` in this package with one subclass of
:class:`BankSource` bound to the module-level name ``SOURCE``, and the type's name added to
:data:`safespace.exchanges._registry.SOURCE_TYPES`. Its tests subclass
``tests/exchanges/source_contract.py``'s ``SourceContract``.
"""

from __future__ import annotations

import json
import queue
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ValidationError

from safespace._gc import gc_paused
from safespace.errors import InvalidRequest, InvalidSignal, SourceRejected, SourceUnavailable
from safespace.signals import SIGNAL_TYPES, HexSignalType, SignalType, get_signal_type

__all__ = [
    "FETCHED_AT",
    "BankSource",
    "FetchPage",
    "Opinion",
    "SourceEntry",
    "Verdict",
    "checkpoint_time",
    "close_pages",
    "http_error",
    "known_signal_type",
    "read_ahead",
]

FETCHED_AT = "fetched_at"
"""The checkpoint key holding when it was committed (ISO 8601, UTC).

:class:`ExchangeService` writes it on every checkpoint it commits unless the source set it;
:meth:`BankSource.is_stale` reads it.
"""


class Verdict(StrEnum):
    """A reviewer's verdict on a match against a source's entry."""

    CONFIRMED = "confirmed"
    FALSE_POSITIVE = "false_positive"


@dataclass(frozen=True, slots=True)
class SourceEntry:
    """One entry as the source has it, keyed by ``upstream_id`` (unique within the source).

    ``signal_type`` and ``value`` are resolved through :mod:`safespace.signals`' registry on
    construction: an alias becomes the type's name and the value its canonical form, and an
    unknown type or malformed value raises :class:`~safespace.errors.InvalidSignal` (a source
    skips types SafeSpace lacks with :func:`known_signal_type` before building entries, and
    turns a malformed value into :class:`~safespace.errors.SourceUnavailable`: a malformed
    page). ``opinions`` counts what the source's members said (``{"confirmed": 3,
    "disputed": 1}``); ``metadata`` is anything else worth keeping, JSON-able. ``origin``
    (federation only): where the entry began, ``"<instance id>/<entry id>"``, so a fetch
    knows a copy of one of its own entries (an echo) when one comes back.
    """

    upstream_id: str
    signal_type: str
    value: str
    categories: tuple[str, ...] = ()
    opinions: Mapping[str, int] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    origin: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.upstream_id, str) or not self.upstream_id:
            raise InvalidSignal("an entry needs a non-empty upstream id")
        kind = get_signal_type(self.signal_type)
        object.__setattr__(self, "signal_type", kind.name)
        object.__setattr__(self, "value", kind.normalize(self.value))
        object.__setattr__(self, "categories", tuple(self.categories))

    @classmethod
    def many(
        cls,
        upstream_ids: Sequence[str],
        signal_types: Sequence[str],
        values: Sequence[str],
        categories: Sequence[Sequence[str] | None],
        opinions: Sequence[Mapping[str, int] | None],
        metadata: Sequence[Mapping[str, Any] | None],
        origins: Sequence[str | None] | None = None,
    ) -> list[SourceEntry]:
        """Entries from columns of equal length, checked as the constructor checks one.

        Each signal type is resolved once for the lot, not once per entry (a page of
        thousands builds several times faster); raises what the constructor raises.
        """
        count = len(upstream_ids)
        if not all(len(c) == count for c in (signal_types, values, categories, opinions,
                                              metadata, origins or upstream_ids)):  # fmt: skip
            raise ValueError("the columns differ in length")
        kinds = {t: get_signal_type(t) for t in set(signal_types)}
        canonical = _normalized_column(kinds, signal_types, values)
        if "" in upstream_ids or not all(isinstance(u, str) for u in upstream_ids):
            raise InvalidSignal("an entry needs a non-empty upstream id")
        names = [kinds[t].name for t in signal_types] if len(kinds) > 1 else None
        only = next(iter(kinds.values())).name if len(kinds) == 1 else ""
        out: list[SourceEntry] = []
        add = out.append
        new = object.__new__
        put = object.__setattr__  # what a frozen dataclass's own __init__ does
        empty: dict[str, Any] = {}
        with gc_paused():
            for i in range(count):
                entry = new(cls)
                put(entry, "upstream_id", upstream_ids[i])
                put(entry, "signal_type", only if names is None else names[i])
                put(entry, "value", canonical[i])
                put(entry, "categories", tuple(categories[i] or ()))
                put(entry, "opinions", opinions[i] or empty)
                put(entry, "metadata", metadata[i] or empty)
                put(entry, "origin", None if origins is None else origins[i])
                add(entry)
        return out


def _normalized_column(
    kinds: Mapping[str, SignalType], signal_types: Sequence[str], values: Sequence[str]
) -> list[str]:
    """Each value's canonical form (what ``kind.normalize`` gives, raising what it raises).

    A column of one hex type that is already canonical but for its case (what a SafeSpace
    peer sends) is checked at once: lower-cased and matched by one regular expression over
    the joined column. Anything else (other types, spaces, a ``0x`` prefix, a bad value) is
    normalised value by value, so a bad value raises the same error as alone.
    """
    if len(kinds) == 1:
        kind = next(iter(kinds.values()))
        fast = _hex_column(kind, values)
        if fast is not None:
            return fast
        return [kind.normalize(v) for v in values]
    return [kinds[t].normalize(v) for t, v in zip(signal_types, values, strict=True)]


_HEX_COLUMNS: dict[int, re.Pattern[str]] = {}


def _hex_column(kind: SignalType, values: Sequence[str]) -> list[str] | None:
    """``values`` lower-cased when every one is ``kind``'s hex digits and nothing else;
    None when some value needs (or fails) :meth:`HexSignalType.normalize` one by one."""
    if not isinstance(kind, HexSignalType) or type(kind).normalize is not HexSignalType.normalize:
        return None
    if not values:
        return []
    try:
        joined = "\n".join(values).lower()
    except TypeError:  # not all strings: normalize says which
        return None
    n = kind.hex_length
    pattern = _HEX_COLUMNS.get(n)
    if pattern is None:
        pattern = _HEX_COLUMNS[n] = re.compile(f"[0-9a-f]{{{n}}}(?:\n[0-9a-f]{{{n}}})*")
    if pattern.fullmatch(joined) is None:
        return None
    out = joined.split("\n")
    return out if len(out) == len(values) else None


@dataclass(frozen=True)
class FetchPage:
    """One page of changes: applied, with its checkpoint, in one transaction.

    ``upserts`` are entries added or changed (the same ``upstream_id`` replaces what was
    stored under it); ``removals`` are upstream ids no longer listed. An id in both is an
    error of the source. ``checkpoint`` is where to resume after this page (a JSON object);
    ``more`` is True while the source has further pages right now (the fetcher keeps going).
    ``complete`` (optional, default False) says the page lists *everything* the source has
    now, as a list at a URL does: whatever the source put in the bank before and is not in
    the page is removed (the diff against the last copy is the service's, not the source's).
    """

    upserts: Sequence[SourceEntry]
    removals: Sequence[str]
    checkpoint: Mapping[str, Any]
    more: bool
    complete: bool = False

    def __post_init__(self) -> None:
        try:
            json.dumps(self.checkpoint, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"a checkpoint must be a JSON object: {exc}") from exc


@dataclass(frozen=True)
class Opinion:
    """What a reviewer decided about a match against one of the source's entries."""

    upstream_id: str
    signal_type: str
    value: str
    verdict: Verdict
    reason: str | None
    decided_at: datetime


def known_signal_type(name: str) -> str | None:
    """SafeSpace's name for the signal type ``name`` (or an alias), None if it has none."""
    try:
        kind = get_signal_type(name)
    except InvalidSignal:
        return None
    return kind.name if kind.name in SIGNAL_TYPES else None


def checkpoint_time(checkpoint: Mapping[str, Any] | None) -> datetime | None:
    """When ``checkpoint`` was committed (its :data:`FETCHED_AT`), None if unknown."""
    if not checkpoint:
        return None
    raw = checkpoint.get(FETCHED_AT)
    if not isinstance(raw, str):
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class BankSource(ABC):
    """A source of hash-list entries that fills one bank (an exchange).

    Class attributes describe the type: ``type_name`` (as in the registry),
    ``description`` (one line, shown by ``/c/exchanges/apis``), ``config_model`` (a pydantic
    model of the non-secret settings; its JSON schema is what ``/c/exchanges/api/NAME/schema``
    shows), ``credential_names`` (the secrets it needs, sealed at rest), ``supports_opinions``
    and ``stale_after`` (how old a checkpoint may get before the source cannot resume from it;
    None: never stale).

    An instance is built for one fetch or one opinion and may keep state between pages of
    one :meth:`fetch`; everything that must survive a restart goes in the checkpoint.
    """

    type_name: ClassVar[str]
    description: ClassVar[str]
    config_model: ClassVar[type[BaseModel]]
    credential_names: ClassVar[tuple[str, ...]] = ()
    supports_opinions: ClassVar[bool] = False
    stale_after: ClassVar[timedelta | None] = None

    def __init__(
        self, config: BaseModel, credentials: Mapping[str, str], http: httpx.Client
    ) -> None:
        self.config = config
        self.credentials = dict(credentials)
        self.http = http

    @classmethod
    def parse_config(cls, raw: Mapping[str, Any]) -> BaseModel:
        """``raw`` checked against :attr:`config_model` (422 ``invalid-request`` if it fails)."""
        try:
            return cls.config_model.model_validate(dict(raw))
        except ValidationError as exc:
            errors: list[dict[str, object]] = [
                {"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()
            ]
            raise InvalidRequest(f"{cls.type_name} source settings do not fit", errors) from exc

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        """The JSON schema of the settings, with the credential names beside it."""
        schema = cls.config_model.model_json_schema()
        schema["x-credentials"] = list(cls.credential_names)
        return schema

    @abstractmethod
    def fetch(self, checkpoint: Mapping[str, Any] | None) -> Iterator[FetchPage]:
        """Pages of changes since ``checkpoint`` (None: everything), in order.

        Raises :class:`~safespace.errors.SourceUnavailable` or
        :class:`~safespace.errors.SourceRejected` instead of yielding a bad page; pages
        already yielded stay applied.
        """

    def is_stale(self, checkpoint: Mapping[str, Any] | None, now: datetime) -> bool:
        """True when fetching from ``checkpoint`` would miss changes: start over instead.

        The default: the checkpoint's :data:`FETCHED_AT` is older than :attr:`stale_after`.
        """
        if self.stale_after is None or not checkpoint:
            return False
        when = checkpoint_time(checkpoint)
        return when is not None and now - when > self.stale_after

    def send_opinion(self, opinion: Opinion) -> None:
        """Tell the source what a reviewer decided (raises the errors :meth:`fetch` does)."""
        raise SourceRejected(f"{self.type_name} sources take no opinions")


def http_error(response: httpx.Response, what: str) -> SourceUnavailable | SourceRejected:
    """The contract's error for a failed HTTP answer: 5xx and 429 transient, other 4xx not."""
    status = response.status_code
    text = f"{what}: HTTP {status}"
    if status >= 500 or status in (408, 429):
        return SourceUnavailable(text)
    return SourceRejected(text)


_DONE = object()


def close_pages(pages: Iterator[FetchPage]) -> None:
    """Close a source's page iterator now, where it has ``close`` (a generator does), so
    what it holds (a helper thread, a response) goes before its HTTP client does."""
    close = getattr(pages, "close", None)
    if close is not None:
        close()


def read_ahead(pages: Iterator[FetchPage], depth: int) -> Iterator[FetchPage]:
    """``pages``, produced in a helper thread up to ``depth`` pages ahead of the caller.

    A fetch applies pages in groups; while one group's statements run (the database
    releases the interpreter lock) the helper reads, decodes and checks the next group's
    pages, so the two overlap on two cores. A fault in ``pages`` reaches the caller after
    the pages before it, as it would without the helper; a caller that stops early stops
    the helper (and closes ``pages``).
    """
    ready: queue.Queue[Any] = queue.Queue(max(1, depth))
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for page in pages:
                if not put(page):
                    return
            put(_DONE)
        except BaseException as exc:  # handed to the caller, raised there
            put(exc)
        finally:
            close_pages(pages)

    helper = threading.Thread(target=produce, name="safespace-fetch-ahead", daemon=True)
    helper.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        helper.join()
