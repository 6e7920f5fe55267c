"""The feed's two encodings: ``entries`` (one object per entry, what older clients read) and
``columns`` (one array per field, what this SafeSpace's client asks for) carry the same page;
a columns page that does not fit is malformed and nothing of it is used."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from safespace.banks import BankService
from safespace.banks.formats import HashRecord
from safespace.errors import SourceUnavailable
from safespace.exchanges import ExchangeService, FetchPage
from safespace.exchanges._feed import Feed
from safespace.exchanges._source import SourceEntry
from safespace.exchanges._source_safespace import _page
from safespace.store import Database, open_database

_COPIED = {"exchange": "from-x", "upstream_id": "9", "origin": "feedc0de/9"}  # from a peer


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = open_database(f"sqlite:///{tmp_path / 'safespace.db'}")
    banks = BankService(database)
    banks.create_bank("common")
    banks.add_entries(
        "common",
        [
            HashRecord("md5", f"{1:032x}"),
            HashRecord("md5", f"{2:032x}", source="a list", category="csam,urgent", note="n"),
            HashRecord("md5", f"{3:032x}", extra={"opinions": {"confirmed": 2}}),  # type: ignore[dict-item]
            HashRecord("md5", f"{5:032x}", extra=_COPIED),
        ],
    )
    (entry,) = [e for e in banks.list_entries("common") if e.value == f"{1:032x}"]
    Feed(database).opinion("common", str(entry.id), "md5", entry.value, "false_positive",
                           opinion_id="k:1")  # fmt: skip
    return database


def _wire(page: dict[str, Any]) -> Any:
    return json.loads(json.dumps(page))  # as a client reads it


def _key(entry: SourceEntry) -> tuple[Any, ...]:
    return (entry.upstream_id, entry.signal_type, entry.value, entry.categories,
            dict(entry.opinions), dict(entry.metadata), entry.origin)  # fmt: skip


def test_both_encodings_carry_the_same_entries(db: Database) -> None:
    page = Feed(db).page("common", 0, None, limit=10)
    as_entries, seq, after = _page(_wire(page.to_dict("entries")))
    as_columns, seq2, after2 = _page(_wire(page.to_dict("columns")))
    assert (seq, after) == (seq2, after2)
    assert as_entries.checkpoint == as_columns.checkpoint
    assert as_entries.more == as_columns.more
    assert [_key(e) for e in as_entries.upserts] == [_key(e) for e in as_columns.upserts]
    by_value = {e.value: e for e in as_columns.upserts}
    assert by_value[f"{1:032x}"].opinions == {"disputed": 1}
    assert by_value[f"{2:032x}"].categories == ("csam", "urgent")
    assert by_value[f"{2:032x}"].metadata == {"source": "a list", "note": "n"}
    assert by_value[f"{3:032x}"].opinions == {"confirmed": 2}
    # where a copy began; an entry without an origin began at the peer, which the
    # checkpoint names
    assert by_value[f"{5:032x}"].origin == "feedc0de/9"
    assert by_value[f"{1:032x}"].origin is None
    assert as_columns.checkpoint["instance"] == as_entries.checkpoint["instance"]
    assert as_columns.checkpoint["instance"] == db.instance_id()


def test_a_copy_names_the_peer_it_came_from_as_its_origin(db: Database) -> None:
    service = ExchangeService(db, master_key=os.urandom(32))
    service.add("from-b", type="safespace", bank="common",
                config={"url": "http://127.0.0.1:9", "remote_bank": "b"},
                credentials={"api_key": "k"})  # fmt: skip
    source_id = service.open_source("from-b")[2]
    checkpoint = {"seq": 4, "after_id": None, "instance": "b0b0b0b0b0b0b0b0"}
    page = FetchPage([SourceEntry("77", "md5", f"{6:032x}")], [], checkpoint, more=False)
    service.apply_pages(source_id, [page], expected=None)
    for format in ("entries", "columns"):
        parsed, _, _ = _page(_wire(Feed(db).page("common", 0, None, limit=10).to_dict(format)))
        by_value = {e.value: e for e in parsed.upserts}
        assert by_value[f"{6:032x}"].origin == "b0b0b0b0b0b0b0b0/77"  # the peer's entry 77
        assert by_value[f"{5:032x}"].origin == "feedc0de/9"  # named by the one it came from
        assert by_value[f"{1:032x}"].origin is None  # began here


def test_a_page_from_a_peer_that_names_no_instance_is_read_as_before(db: Database) -> None:
    for format in ("entries", "columns"):
        body = _wire(Feed(db).page("common", 0, None, limit=10).to_dict(format))
        del body["instance"]
        parsed, _, _ = _page(body)
        assert "instance" not in parsed.checkpoint
        assert len(parsed.upserts) == 4


def test_a_columns_page_is_compact_and_nulls_what_is_empty(db: Database) -> None:
    body = Feed(db).page("common", 0, None, limit=10).to_dict("columns")
    columns = body["columns"]
    assert "entries" not in body
    assert len({len(c) for c in columns.values()}) == 1
    assert None in columns["categories"]
    assert None in columns["metadata"]
    assert all(isinstance(i, int) for i in columns["id"])


def test_the_change_log_pages_come_in_columns_too(db: Database) -> None:
    feed = Feed(db)
    first = feed.page("common", 0, None, limit=10)
    BankService(db).add_entries("common", [HashRecord("md5", f"{4:032x}")])
    seq = int(first.cursor["seq"] or 0)
    later = feed.page("common", seq, None, limit=10)
    parsed, _, _ = _page(_wire(later.to_dict("columns")))
    assert [e.value for e in parsed.upserts] == [f"{4:032x}"]
    assert "origin" not in later.to_dict("columns")["columns"]  # no entry came from a peer
    assert [_key(e) for e in parsed.upserts] == [
        _key(e) for e in _page(_wire(later.to_dict("entries")))[0].upserts
    ]


@pytest.mark.parametrize(
    "spoil",
    [
        lambda c: c["value"].pop(),  # columns of different lengths
        lambda c: c["value"].__setitem__(0, "not a hash"),
        lambda c: c.pop("opinions"),
        lambda c: c["id"].__setitem__(0, ""),
        lambda c: c["value"].__setitem__(-1, "0" * 31),  # one digit short
        lambda c: c["value"].__setitem__(1, "0" * 33),  # one too many
        lambda c: c["value"].__setitem__(0, "0" * 31 + "g"),  # not hex
        lambda c: c["value"].__setitem__(0, "0" * 16 + "\n" + "0" * 15),  # a line break
        lambda c: c["value"].__setitem__(2, 12),  # not a string: str() gives digits, too few
        lambda c: c["value"].__setitem__(1, None),
        lambda c: c["value"].__setitem__(0, ["0" * 32]),
        lambda c: c["origin"].pop(),
        lambda c: c["origin"].__setitem__(0, 7),
        lambda c: c["origin"].__setitem__(0, "no-slash"),
        lambda c: c["origin"].__setitem__(0, "x/" + "9" * 200),
    ],
)
def test_a_columns_page_that_does_not_fit_is_malformed(db: Database, spoil: Any) -> None:
    body = _wire(Feed(db).page("common", 0, None, limit=10).to_dict("columns"))
    spoil(body["columns"])
    with pytest.raises(SourceUnavailable):
        _page(body)


@pytest.mark.parametrize("instance", [7, "", "a/b", "f" * 33])
def test_a_page_naming_a_bad_instance_is_malformed(db: Database, instance: Any) -> None:
    body = _wire(Feed(db).page("common", 0, None, limit=10).to_dict("entries"))
    body["instance"] = instance
    with pytest.raises(SourceUnavailable):
        _page(body)


def test_types_this_safespace_lacks_are_left_out(db: Database) -> None:
    body = _wire(Feed(db).page("common", 0, None, limit=10).to_dict("columns"))
    body["columns"]["signal_type"][0] = "no_such_type"
    parsed, _, _ = _page(body)
    assert len(parsed.upserts) == len(body["columns"]["id"]) - 1


@pytest.mark.parametrize(
    "values",
    [
        [f"{i:032x}" for i in range(5)],
        [f"{i:032X}" for i in range(5)],  # upper case: lowered
        [" 0x" + f"{i:032x}".upper() + " " for i in range(3)],  # spaces and 0x: one by one
        [],
    ],
)
def test_a_column_checked_at_once_equals_each_value_checked_alone(values: list[str]) -> None:
    n = len(values)
    ids = [str(i + 1) for i in range(n)]
    many = SourceEntry.many(ids, ["md5"] * n, values, [None] * n, [None] * n, [None] * n)
    alone = [SourceEntry(u, "md5", v) for u, v in zip(ids, values, strict=True)]
    assert [_key(e) for e in many] == [_key(e) for e in alone]


def test_a_bad_value_in_a_column_raises_what_it_raises_alone() -> None:
    from safespace.errors import InvalidSignal

    values = [f"{i:032x}" for i in range(4)] + ["0" * 30]
    n = len(values)
    with pytest.raises(InvalidSignal) as alone:
        SourceEntry("5", "md5", values[-1])
    with pytest.raises(InvalidSignal) as many:
        SourceEntry.many([str(i) for i in range(1, n + 1)], ["md5"] * n, values,
                         [None] * n, [None] * n, [None] * n)  # fmt: skip
    assert str(many.value) == str(alone.value)
