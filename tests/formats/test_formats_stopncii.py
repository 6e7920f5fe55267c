"""StopNCII FetchHashes JSON pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from safespace.banks.formats import HashRecord, get_format, parse
from safespace.errors import ImportFormatError

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d35c785545392755e7e4164457657269"
CASE = "00000000-0000-4000-8000-000000000001"


def _page(records: list[dict[str, Any]], **page: Any) -> dict[str, Any]:
    return {
        "count": len(records),
        "nextPageToken": "token-1",
        "nextSetTimestamp": 1714557600,
        "hasMoreRecords": False,
        "hashRecords": records,
        **page,
    }


def _item(value: str, signal_type: str = "ImagePDQ", **fields: Any) -> dict[str, Any]:
    return {
        "lastModtimestamp": 1714557600,
        "hashValue": value,
        "hashStatus": "Active",
        "caseNumbers": {CASE: "Active"},
        "signalType": signal_type,
        **fields,
    }


def test_realistic_page(hexes) -> None:
    pdq = hexes(64)
    feedback = [{"source": "ExampleCSP", "feedbackValue": "Blocked", "tags": ["T1"]}]
    doc = _page(
        [
            _item(pdq, CSPFeedbacks=feedback, hashRegions=["UK"]),
            _item(MD5.upper(), "VideoMD5", hashStatus="Received", caseNumbers={}),
        ],
        hasMoreRecords=True,
    )
    result = parse(json.dumps(doc, indent=2).encode(), "stopncii")
    assert result.rejects == []
    assert result.withdrawn == []
    when = datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert result.records == [
        (
            1,
            HashRecord(
                "pdq",
                pdq,
                source="StopNCII",
                added_at=when,
                extra={
                    "hashStatus": "Active",
                    "caseNumbers": json.dumps({CASE: "Active"}, separators=(",", ":")),
                    "CSPFeedbacks": json.dumps(feedback, separators=(",", ":")),
                    "hashRegions": '["UK"]',
                },
            ),
        ),
        (
            2,
            HashRecord(
                "md5",
                MD5,
                source="StopNCII",
                added_at=when,
                extra={"hashStatus": "Received", "caseNumbers": "{}"},
            ),
        ),
    ]


def test_withdrawn_and_deleted_hashes_are_never_records() -> None:
    doc = _page(
        [
            _item(PDQ, hashStatus="Withdrawn"),
            _item(MD5, "VideoMD5", hashStatus="Deleted"),
            _item(PDQ),
        ]
    )
    result = parse(json.dumps(doc).encode(), "stopncii")
    assert [n for n, _ in result.records] == [3]
    assert [(w.line, w.record and w.record.value) for w in result.withdrawn] == [
        (1, PDQ),
        (2, MD5),
    ]
    assert "Withdrawn" in result.withdrawn[0].reason


def test_array_of_pages_json_lines_and_bare_record_array() -> None:
    p1, p2 = _page([_item(PDQ)]), _page([_item(MD5, "VideoMD5")])
    for data in (
        json.dumps([p1, p2]),
        json.dumps(p1) + "\n\n" + json.dumps(p2) + "\n",
        json.dumps([_item(PDQ), _item(MD5, "VideoMD5")]),
    ):
        result = parse(data.encode(), "stopncii")
        assert [(n, r.signal_type) for n, r in result.records] == [(1, "pdq"), (2, "md5")]


def test_field_name_variants_are_accepted() -> None:
    doc = {"records": [{"hash_value": PDQ, "signal_type": "pdq", "timestamp": "2024-05-01"}]}
    result = parse(json.dumps(doc).encode(), "stopncii")
    assert result.records == [
        (1, HashRecord("pdq", PDQ, source="StopNCII", added_at=datetime(2024, 5, 1, tzinfo=UTC)))
    ]


def test_every_rejection_has_its_position_and_reason() -> None:
    doc = _page(
        [
            _item(PDQ),  # 1 ok
            _item(PDQ, "VideoTMK"),  # 2 unsupported type
            _item(MD5),  # 3 wrong length for ImagePDQ
            {"signalType": "ImagePDQ"},  # 4 no value
            _item(PDQ, lastModtimestamp="last tuesday"),  # 5 bad date
            _item(PDQ, lastModtimestamp=True),  # 6 bad date type
            "not an object",  # 7
            {"hashValue": PDQ},  # 8 no type
            _item(PDQ, signalType=7),  # 9 type not text
            _item(PDQ, lastModtimestamp=1e20),  # 10 out of range
            _item(PDQ, note=3),  # 11 own field not text
        ]
    )
    result = parse(json.dumps(doc).encode(), "stopncii")
    assert [n for n, _ in result.records] == [1]
    reasons = {r.line: r.reason for r in result.rejects}
    assert sorted(reasons) == list(range(2, 12))
    assert "unsupported StopNCII signalType 'VideoTMK'" in reasons[2]
    assert "64 hex digits" in reasons[3]
    assert "missing or non-text hashValue" in reasons[4]
    assert "bad date 'last tuesday'" in reasons[5]
    assert "number of seconds" in reasons[6]
    assert "not a JSON object" in reasons[7]
    assert reasons[8] == "missing signalType"
    assert reasons[9] == "signalType must be text"
    assert "out of range" in reasons[10]
    assert reasons[11] == "note must be text"
    assert result.rejects[0].text.startswith('{"lastModtimestamp":1714557600,"hashValue"')


def test_default_signal_type_fills_a_missing_type() -> None:
    result = parse(json.dumps([{"hashValue": MD5}]).encode(), "stopncii", default_signal_type="md5")
    assert result.records[0][1].signal_type == "md5"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"hashRecords": [', "not valid JSON"),
        (b'{"a": 1}\n{"hashRecords": [}\n', "line 2"),
        (b'{"count": 0}', "not a StopNCII FetchHashes page"),
        (b"[1, 2]", "page 1"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b"\xff\xfe\x00\xd8", "UTF-16"),
    ],
)
def test_whole_file_errors(data: bytes, message: str) -> None:
    with pytest.raises(ImportFormatError, match=message):
        parse(data, "stopncii")


def test_write_is_a_page_that_reads_back() -> None:
    records = [
        HashRecord(
            "pdq",
            PDQ,
            source="StopNCII",
            added_at=datetime(2024, 5, 1, 10, tzinfo=UTC),
            extra={"hashStatus": "Active", "caseNumbers": json.dumps({CASE: "Active"})},
        ),
        HashRecord("md5", MD5, source="Example Hotline", category="B", note="n"),
        HashRecord("sha256", PDQ, source=None),
    ]
    fmt = get_format("stopncii")
    out = fmt.write(records)
    page = json.loads(out)
    assert page["count"] == 3
    assert page["hasMoreRecords"] is False
    assert page["nextSetTimestamp"] == 1714557600
    first = page["hashRecords"][0]
    assert first["signalType"] == "ImagePDQ"
    assert first["caseNumbers"] == {CASE: "Active"}
    assert "source" not in first
    assert page["hashRecords"][1]["signalType"] == "VideoMD5"
    assert page["hashRecords"][2]["source"] is None
    back = [r for _, r in fmt.parse(out).records]
    assert back[1:] == records[1:]
    assert back[0].extra["caseNumbers"] == json.dumps({CASE: "Active"}, separators=(",", ":"))


def test_write_of_nothing_is_an_empty_page() -> None:
    page = json.loads(get_format("stopncii").write([]))
    assert page["hashRecords"] == []
    assert page["count"] == 0
