"""What a person sends with a self-report, checked: the hashes of each file and the answers.

The API route checks each field with these as it reads the body; the service checks the
whole report again before it writes anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from urllib.parse import urlsplit

from safespace.errors import InvalidInput
from safespace.signals import SIGNAL_TYPES, MediaKind
from safespace.store._models_selfreports import AGE_BANDS

__all__ = [
    "MAX_ITEMS",
    "MAX_URLS",
    "NewSelfReport",
    "ReportItem",
    "check_age_band",
    "check_email",
    "check_item",
    "check_locale",
    "check_report",
    "check_url",
]

MAX_ITEMS = 20
MAX_URLS = 10
MAX_URL_LENGTH = 2048
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}")
_LOCALE = re.compile(r"([a-z]{2,3})(?:-([A-Za-z]{2}))?")


@dataclass(frozen=True)
class ReportItem:
    """One picked file as hashes: MD5 always, PDQ for images the browser could decode."""

    md5: str
    media_kind: str = "image"
    pdq: str | None = None
    pdq_quality: int | None = None


@dataclass(frozen=True)
class NewSelfReport:
    items: Sequence[ReportItem]
    age_band: str
    locale: str = "en"
    seen_at_urls: Sequence[str] = ()
    contact_email: str | None = None


_FIELDS = frozenset(f.name for f in fields(ReportItem))
# The signal types a ReportItem has a field for (what the browser computes), by registry.
ITEM_TYPES = tuple(k for k in SIGNAL_TYPES.values() if k.name in _FIELDS)


def check_item(item: ReportItem) -> ReportItem:
    """The item in canonical form, or InvalidInput/InvalidSignal saying what is wrong."""
    if item.media_kind not in (MediaKind.IMAGE, MediaKind.VIDEO):
        raise InvalidInput("media_kind must be 'image' or 'video'")
    media = MediaKind(item.media_kind)
    canonical: dict[str, object] = {}
    for kind in ITEM_TYPES:
        value = getattr(item, kind.name)
        quality_field = kind.quality_field if kind.quality_field in _FIELDS else None
        quality = getattr(item, quality_field) if quality_field else None
        if value is None:
            if quality is not None:
                raise InvalidInput(f"{quality_field} without {kind.name}")
            continue
        if media not in kind.media and MediaKind.FILE not in kind.media:
            raise InvalidInput(
                f"a {media} has no {kind.name.upper()} hash: send {kind.name} as null"
            )
        canonical[kind.name] = kind.normalize(value)
        if quality_field is not None and (
            isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100
        ):
            raise InvalidInput(
                f"{quality_field} must be a whole number 0..100 when {kind.name} is given"
            )
    return replace(item, **canonical)  # type: ignore[arg-type]


def check_age_band(value: str) -> str:
    if value not in AGE_BANDS:
        raise InvalidInput(f"age_band must be one of {', '.join(AGE_BANDS)}")
    return value


def check_locale(value: str) -> str:
    """A language tag like ``en`` or ``en-GB``, returned as ``en-GB``."""
    found = _LOCALE.fullmatch(value) if isinstance(value, str) else None
    if found is None:
        raise InvalidInput("locale must be a language tag like 'en' or 'en-GB'")
    lang, region = found.groups()
    return f"{lang}-{region.upper()}" if region else lang


def check_url(value: str) -> str:
    """An http(s) address with a host, no user name or password, no spaces."""
    if not isinstance(value, str) or not value or len(value) > MAX_URL_LENGTH:
        raise InvalidInput(f"a web address must be 1..{MAX_URL_LENGTH} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput("a web address must not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        raise InvalidInput("not a valid web address") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise InvalidInput("a web address must start with http:// or https:// and name a site")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("a web address must not contain a user name or password")
    return value


def check_email(value: str) -> str:
    if not isinstance(value, str) or len(value) > 254 or not _EMAIL.fullmatch(value):
        raise InvalidInput("email must be an address like name@example.org")
    return value


def check_report(report: NewSelfReport) -> NewSelfReport:
    if not 1 <= len(report.items) <= MAX_ITEMS:
        raise InvalidInput(f"a report needs 1..{MAX_ITEMS} items")
    if len(report.seen_at_urls) > MAX_URLS:
        raise InvalidInput(f"at most {MAX_URLS} web addresses")
    items: dict[tuple[str, str | None], ReportItem] = {}
    for item in report.items:
        checked = check_item(item)
        items.setdefault((checked.md5, checked.pdq), checked)  # the same file twice: once
    return NewSelfReport(
        items=tuple(items.values()),
        age_band=check_age_band(report.age_band),
        locale=check_locale(report.locale),
        seen_at_urls=tuple(dict.fromkeys(check_url(u) for u in report.seen_at_urls)),
        contact_email=None if report.contact_email is None else check_email(report.contact_email),
    )
