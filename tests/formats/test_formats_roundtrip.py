"""Property tests: writing records and parsing them back gives the same records."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safespace.banks.formats import HashRecord, get_format
from safespace.banks.formats._csvfmt import _ALIASES, _header_key
from safespace.banks.formats._stopncii import _CONSUMED, _RECORDS_KEYS, _STRUCTURED

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HEX_DIGITS = {"pdq": 64, "md5": 32, "sha256": 64}

# Printable text: no control characters or surrogates, and no surrounding whitespace
# (text formats trim fields; XML cannot hold most control characters).
text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\ufffe\uffff"),
    min_size=1,
    max_size=20,
).filter(lambda s: s == s.strip() and bool(s))
maybe_text = st.none() | text
moments = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
whole_seconds = moments.map(lambda d: d.replace(microsecond=0))


@st.composite
def signal(draw: st.DrawFn) -> tuple[str, str]:
    kind = draw(st.sampled_from(sorted(HEX_DIGITS)))
    bits = draw(st.integers(0, 2 ** (HEX_DIGITS[kind] * 4) - 1))
    return kind, f"{bits:0{HEX_DIGITS[kind]}x}"


@st.composite
def hma_record(draw: st.DrawFn) -> HashRecord:
    return HashRecord(*draw(signal()))


csv_keys = text.filter(lambda k: "\n" not in k and _header_key(k) not in _ALIASES)


@st.composite
def csv_record(draw: st.DrawFn) -> HashRecord:
    return HashRecord(
        *draw(signal()),
        source=draw(maybe_text),
        category=draw(maybe_text),
        note=draw(st.none() | text | st.just('two\nlines, "quoted"\n# not a comment')),
        added_at=draw(st.none() | moments),
        extra=draw(st.dictionaries(csv_keys, text, max_size=3)),
    )


stop_keys = st.text(min_size=1, max_size=12).filter(
    lambda k: (
        k.lower() not in _CONSUMED
        and k.lower() not in _RECORDS_KEYS
        and k not in _STRUCTURED
        and not any("\ud800" <= c <= "\udfff" for c in k)
    )
)
any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@st.composite
def stopncii_record(draw: st.DrawFn) -> HashRecord:
    return HashRecord(
        *draw(signal()),
        source=draw(maybe_text),
        category=draw(maybe_text),
        note=draw(maybe_text),
        added_at=draw(st.none() | whole_seconds),
        extra=draw(st.dictionaries(stop_keys, any_text, max_size=3)),
    )


@st.composite
def ncmec_record(draw: st.DrawFn) -> HashRecord:
    extra: dict[str, str] = {}
    if draw(st.booleans()):
        extra["ncmec_id"] = draw(text)
    if draw(st.booleans()):
        extra["member_id"] = str(draw(st.integers(1, 10_000)))
    if draw(st.booleans()):
        extra["entry_type"] = "video"
    if draw(st.booleans()):
        extra["fp.sha1"] = f"{draw(st.integers(0, 2**160 - 1)):040x}"
    return HashRecord(
        *draw(signal()),
        source=draw(maybe_text),
        category=draw(maybe_text),
        note=draw(maybe_text),
        added_at=draw(st.none() | moments),
        extra=extra,
    )


def _round_trip(name: str, records: list[HashRecord]) -> list[HashRecord]:
    fmt = get_format(name)
    result = fmt.parse(fmt.write(records))
    assert result.rejects == []
    assert result.withdrawn == []
    return [r for _, r in result.records]


@SETTINGS
@given(st.lists(hma_record(), max_size=20))
def test_hma_round_trip(records: list[HashRecord]) -> None:
    assert _round_trip("hma", records) == records


@SETTINGS
@given(st.lists(csv_record(), max_size=10))
def test_csv_round_trip(records: list[HashRecord]) -> None:
    assert _round_trip("csv", records) == records


@SETTINGS
@given(st.lists(stopncii_record(), max_size=10))
def test_stopncii_round_trip(records: list[HashRecord]) -> None:
    assert _round_trip("stopncii", records) == records


@SETTINGS
@given(st.lists(ncmec_record(), max_size=10))
def test_ncmec_round_trip(records: list[HashRecord]) -> None:
    images = [r for r in records if r.extra.get("entry_type") != "video"]
    videos = [r for r in records if r.extra.get("entry_type") == "video"]
    assert _round_trip("ncmec", records) == images + videos


@SETTINGS
@given(st.sampled_from(["hma", "csv", "stopncii", "ncmec"]), st.lists(csv_record(), max_size=5))
def test_writing_is_stable_after_one_round_trip(name: str, records: list[HashRecord]) -> None:
    """Whatever a format drops, a second write/parse cycle drops nothing more."""
    fmt = get_format(name)
    once = fmt.write(r for _, r in fmt.parse(fmt.write(records)).records)
    assert fmt.write(r for _, r in fmt.parse(once).records) == once
