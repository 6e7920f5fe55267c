"""A hash list at a URL or a path, in any format SafeSpace imports, refetched on a schedule.

Each fetch asks with ``If-None-Match`` / ``If-Modified-Since`` (the ETag and Last-Modified
of the last copy, from the checkpoint); ``304 Not Modified``, or a body whose SHA-256 is the
last copy's, changes nothing. A new copy is one complete page: the service applies it as a
diff against the last copy (entries gone from the list are removed, new ones added, the rest
left alone). A list has no ids of its own, so an entry's upstream id is
``<signal type>:<value>``. A body cut short (shorter than its ``Content-Length``) or one that
does not parse is a transient fault: nothing is applied and the fetch is retried.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, Field, field_validator

from safespace.banks.formats import FORMATS, HashRecord, parse
from safespace.errors import InvalidSignal, SafeSpaceError, SourceRejected, SourceUnavailable
from safespace.exchanges._source import BankSource, FetchPage, SourceEntry, http_error

__all__ = ["SOURCE", "ListConfig", "ListSource"]

_MAX_BYTES = 512 * 1024 * 1024
_Got = tuple[bytes, str | None, str | None]  # body, ETag, Last-Modified


class ListConfig(BaseModel):
    """Where the list is and how to read it."""

    url: str = Field(description="an http(s) URL, or a path on the server")
    format: str | None = Field(
        default=None, description="the list's format (detected from the content when left out)"
    )
    default_signal_type: str | None = Field(
        default=None, description="the type of a bare hash whose type the list does not say"
    )
    max_bytes: int = Field(default=_MAX_BYTES, ge=1, le=4 * 1024 * 1024 * 1024)

    @field_validator("format")
    @classmethod
    def _known_format(cls, value: str | None) -> str | None:
        if value is not None and value not in FORMATS:
            raise ValueError(f"unknown format {value!r} (known: {', '.join(sorted(FORMATS))})")
        return value


def upstream_id(record: HashRecord) -> str:
    """``<type>:<value>``; a value too long for an id is named by its SHA-256."""
    if len(record.value) <= 200:
        return f"{record.signal_type}:{record.value}"
    return f"{record.signal_type}:sha256:{hashlib.sha256(record.value.encode()).hexdigest()}"


class ListSource(BankSource):
    type_name: ClassVar[str] = "list"
    description: ClassVar[str] = "a hash list at a URL or path, any format SafeSpace imports"
    config_model: ClassVar[type[BaseModel]] = ListConfig
    credential_names: ClassVar[tuple[str, ...]] = ()
    supports_opinions: ClassVar[bool] = False
    stale_after: ClassVar[timedelta | None] = None

    @property
    def settings(self) -> ListConfig:
        assert isinstance(self.config, ListConfig)
        return self.config

    def fetch(self, checkpoint: Mapping[str, Any] | None) -> Iterator[FetchPage]:
        last = dict(checkpoint or {})
        url = self.settings.url
        web = url.startswith(("http://", "https://"))
        got = self._get(url, last) if web else self._read(url)
        if got is None:
            return
        body, etag, modified = got
        digest = hashlib.sha256(body).hexdigest()
        if digest == last.get("body_digest"):
            return
        try:
            result = parse(
                body,
                self.settings.format,
                Path(url).name,
                default_signal_type=self.settings.default_signal_type,
            )
        except SafeSpaceError as exc:
            raise SourceUnavailable(f"the list at {url} does not parse: {exc.message}") from None
        if result.rejects and not result.records:
            first = result.rejects[0]
            raise SourceUnavailable(
                f"the list at {url} does not parse: line {first.line}: {first.reason}"
            )
        upserts = []
        for _, record in result.records:
            try:
                upserts.append(_entry(record))
            except InvalidSignal:
                continue
        removals = [upstream_id(w.record) for w in result.withdrawn if w.record is not None]
        yield FetchPage(
            upserts=upserts,
            removals=removals,
            checkpoint={
                "etag": etag,
                "last_modified": modified,
                "body_digest": digest,
                "entries": len(upserts),
                "rejected": len(result.rejects),
            },
            more=False,
            complete=True,
        )

    def _get(
        self, url: str, last: Mapping[str, Any]
    ) -> tuple[bytes, str | None, str | None] | None:
        headers = {}
        if last.get("etag"):
            headers["If-None-Match"] = str(last["etag"])
        if last.get("last_modified"):
            headers["If-Modified-Since"] = str(last["last_modified"])
        try:
            with self.http.stream("GET", url, headers=headers) as response:
                if response.status_code == 304:
                    return None
                if response.status_code != 200:
                    raise http_error(response, f"the list at {url}")
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.settings.max_bytes:
                        raise SourceRejected(
                            f"the list at {url} is over {self.settings.max_bytes} bytes"
                        )
                    chunks.append(chunk)
                body = b"".join(chunks)
                declared = response.headers.get("Content-Length")
                if declared is not None and declared.isdigit() and int(declared) != len(body):
                    raise SourceUnavailable(f"the list at {url} was cut short")
                etag = response.headers.get("ETag")
                modified = response.headers.get("Last-Modified")
        except httpx.HTTPError as exc:
            raise SourceUnavailable(f"the list at {url}: {type(exc).__name__}: {exc}") from None
        return body, etag, modified

    def _read(self, path: str) -> _Got:
        target = Path(path.removeprefix("file://"))
        try:
            size = target.stat().st_size
            if size > self.settings.max_bytes:
                raise SourceRejected(f"the list at {path} is over {self.settings.max_bytes} bytes")
            return target.read_bytes(), None, None
        except FileNotFoundError:
            raise SourceUnavailable(f"no list at {path}") from None
        except OSError as exc:
            raise SourceUnavailable(f"the list at {path}: {exc}") from None


def _entry(record: HashRecord) -> SourceEntry:
    categories = tuple(c.strip() for c in (record.category or "").split(",") if c.strip())
    metadata: dict[str, Any] = {}
    if record.source:
        metadata["source"] = record.source
    if record.note:
        metadata["note"] = record.note
    if record.added_at is not None:
        metadata["added_at"] = record.added_at.isoformat()
    return SourceEntry(
        upstream_id(record), record.signal_type, record.value, categories, {}, metadata
    )


SOURCE = ListSource
