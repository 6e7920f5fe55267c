"""Request bodies. Strict types (no "31" for 31, no 1 for true) and no unknown fields, so a
typo is a 422 rather than silently ignored. Hash values are checked by the domain (400)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

__all__ = ["BankCreate", "BankUpdate", "EntriesAdd", "EntryIn", "EntryUpdate", "MatchRequest"]

MAX_BATCH = 10_000
_Text = Annotated[StrictStr, Field(max_length=4096)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


_Thresholds = dict[StrictStr, dict[StrictStr, StrictInt]]
_THRESHOLDS = (
    'Match thresholds per signal type, e.g. {"pdq": {"distance": 31}}; each type\'s '
    "thresholds, defaults and bounds are in docs/signals.md. Not given: the defaults."
)
_PDQ_DISTANCE = "The flat spelling of thresholds.pdq.distance (0..128), kept for old clients."
_NOT_THRESHOLDS = {"name", "kind", "thresholds", "enabled", "description"}


class BankCreate(_Body):
    name: StrictStr = Field(description="1-64 letters, digits, '-', '_' or '.'.")
    kind: StrictStr = Field("normal", description="normal, or allow (suppresses matches).")
    thresholds: _Thresholds | None = Field(None, description=_THRESHOLDS)
    pdq_distance: StrictInt | None = Field(None, description=_PDQ_DISTANCE)
    description: _Text = ""


class BankUpdate(_Body):
    kind: StrictStr | None = None
    thresholds: _Thresholds | None = Field(None, description=_THRESHOLDS)
    pdq_distance: StrictInt | None = Field(None, description=_PDQ_DISTANCE)
    enabled: StrictBool | None = None
    description: _Text | None = None


def bank_thresholds(body: BankCreate | BankUpdate) -> dict[str, object]:
    """The thresholds a bank body gives, nested and flat (``pdq_distance``) together."""
    flat = body.model_dump(exclude_none=True, exclude=_NOT_THRESHOLDS)
    return {**(body.thresholds or {}), **flat}


class EntryIn(_Body):
    signal_type: StrictStr = Field(description="pdq, md5 or sha256 (or an alias).")
    value: StrictStr = Field(max_length=256, description="The hash, in hex.")
    source: StrictStr | None = None
    category: StrictStr | None = None
    note: _Text | None = None
    added_at: datetime | None = None
    extra: dict[str, StrictStr] = Field(default_factory=dict)


class EntriesAdd(_Body):
    entries: list[EntryIn] = Field(min_length=1, max_length=MAX_BATCH)


class EntryUpdate(_Body):
    enabled: StrictBool


class MatchRequest(_Body):
    signals: dict[str, StrictStr | StrictInt] = Field(
        default_factory=dict,
        description='Hashes by signal type, e.g. {"pdq": "...", "md5": "..."}; '
        "optionally pdq_quality (0..100), so a low-quality PDQ is not matched. "
        "May be left out when text is given.",
    )
    text: StrictStr | None = Field(
        None,
        description="A post, comment or message: its listed links (however hidden) and "
        "keywords are matched against URL and keyword banks, with spans. Never stored.",
    )
    dihedral: StrictBool = Field(False, description="Also match rotated and flipped copies.")
    banks: list[StrictStr] | None = Field(
        None, description="Only report these normal banks (allow banks always apply)."
    )
    content_id: StrictStr | None = Field(
        None, description="Your reference for the content; recorded with each match."
    )
