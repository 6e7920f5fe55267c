"""NCMEC Hash Sharing v2 XML."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from safespace.banks.formats import HashRecord, get_format, parse
from safespace.errors import ImportFormatError

PDQ = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
MD5 = "d35c785545392755e7e4164457657269"
SHA1 = "a1" * 20
WHEN = datetime(2024, 5, 1, 10, tzinfo=UTC)


def _doc(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<queryResult xmlns="https://hashsharing.ncmec.org/hashsharing/v2">\n'
        f"{body}"
        "</queryResult>\n"
    ).encode()


def test_realistic_query_result(hexes) -> None:
    pdq, vmd5 = hexes(64), hexes(32)
    data = _doc(
        f"""\
  <images count="2" maxTimestamp="2024-05-01T10:00:00Z">
    <image>
      <member id="42">Example Member</member>
      <timestamp>2024-05-01T10:00:00Z</timestamp>
      <id>image1</id>
      <classification>A1</classification>
      <fingerprints>
        <md5>{MD5.upper()}</md5>
        <sha1>{SHA1}</sha1>
        <pdq>{pdq}</pdq>
        <videntifier rel="self" href="/v2/entries/1/fingerprints/VIDENTIFIER"/>
      </fingerprints>
      <feedback lastUpdateTimestamp="2024-05-01T10:00:00Z"/>
    </image>
    <deletedImage>
      <member id="43">Other Member</member>
      <id>image4</id>
      <timestamp>2024-05-01T10:00:00Z</timestamp>
    </deletedImage>
  </images>
  <videos count="1" maxTimestamp="2024-05-01T10:00:00Z">
    <video>
      <member id="42">Example Member</member>
      <timestamp>2024-05-01T10:00:00Z</timestamp>
      <id>video1</id>
      <classification>B2</classification>
      <fingerprints><md5>{vmd5}</md5></fingerprints>
    </video>
  </videos>
  <paging><next>/v2/entries?from=a&amp;to=b&amp;start=2001</next></paging>
"""
    )
    result = parse(data, "ncmec")
    assert result.rejects == []
    image_extra = {"ncmec_id": "image1", "member_id": "42", "fp.sha1": SHA1}
    member = "Example Member"
    assert result.records == [
        (10, HashRecord("md5", MD5, member, "A1", added_at=WHEN, extra=image_extra)),
        (12, HashRecord("pdq", pdq, member, "A1", added_at=WHEN, extra=image_extra)),
        (
            29,
            HashRecord(
                "md5",
                vmd5,
                member,
                "B2",
                added_at=WHEN,
                extra={"entry_type": "video", "ncmec_id": "video1", "member_id": "42"},
            ),
        ),
    ]
    assert len(result.withdrawn) == 1
    gone = result.withdrawn[0]
    assert gone.line == 17
    assert gone.record is None
    assert gone.ref == {"entry_type": "image", "ncmec_id": "image4", "member_id": "43"}


def test_prefixed_namespace_and_bare_images_root() -> None:
    data = (
        '<ns:images xmlns:ns="https://hashsharing.ncmec.org/hashsharing/v2">'
        f"<ns:image><ns:id>i</ns:id><ns:fingerprints><ns:pdq>{PDQ}</ns:pdq>"
        "</ns:fingerprints></ns:image></ns:images>"
    ).encode()
    assert [r.value for _, r in parse(data, "ncmec").records] == [PDQ]


def test_every_rejection_has_its_line_and_reason() -> None:
    data = _doc(
        f"""\
  <images>
    <image><id>ok</id><fingerprints><md5>{MD5}</md5></fingerprints></image>
    <image><id>sha1-only</id><fingerprints><sha1>{SHA1}</sha1></fingerprints></image>
    <image><id>no-fp</id></image>
    <image><id>bad-date</id><timestamp>yesterday</timestamp>
      <fingerprints><md5>{MD5}</md5></fingerprints></image>
    <image><id>bad-md5</id><fingerprints>
      <md5>{MD5}00</md5>
      <pdq>{PDQ}</pdq>
    </fingerprints></image>
    <image><id>empty</id><fingerprints><pdq/></fingerprints></image>
  </images>
"""
    )
    result = parse(data, "ncmec")
    assert [(n, r.extra["ncmec_id"]) for n, r in result.records] == [(4, "ok"), (11, "bad-md5")]
    reasons = {r.line: (r.text, r.reason) for r in result.rejects}
    assert sorted(reasons) == [5, 6, 7, 10, 13]
    assert reasons[5][0] == "<image> id=sha1-only"
    assert "found: sha1" in reasons[5][1]
    assert "found: none" in reasons[6][1]
    assert "bad date 'yesterday'" in reasons[7][1]
    assert reasons[10] == (f"<md5>{MD5}00</md5>", "md5 hash must be 32 hex digits, got 34")
    assert "64 hex digits, got 0" in reasons[13][1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<queryResult><images><image>", "malformed XML at line 1"),
        (b"", "malformed XML"),
        (b"<html><body/></html>", "not an NCMEC hash-sharing document"),
        (
            b'<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "aaaa">]><queryResult>&a;</queryResult>',
            "DTD, entity",
        ),
        (
            b'<!DOCTYPE q SYSTEM "http://example.invalid/x.dtd"><queryResult/>',
            "DTD, entity",
        ),
    ],
)
def test_whole_file_errors(data: bytes, message: str) -> None:
    with pytest.raises(ImportFormatError, match=message):
        parse(data, "ncmec")


def test_billion_laughs_is_refused() -> None:
    lol = b'<!ENTITY l0 "lol">' + b"".join(
        b'<!ENTITY l%d "&l%d;&l%d;&l%d;&l%d;">' % (i, i - 1, i - 1, i - 1, i - 1)
        for i in range(1, 10)
    )
    data = b'<?xml version="1.0"?><!DOCTYPE q [' + lol + b"]><queryResult>&l9;</queryResult>"
    with pytest.raises(ImportFormatError):
        parse(data, "ncmec")


def test_write_groups_one_entry_and_round_trips() -> None:
    extra = {"ncmec_id": "e1", "member_id": "7", "fp.sha1": SHA1}
    records = [
        HashRecord("md5", MD5, source="M & Co", category="A2", added_at=WHEN, extra=extra),
        HashRecord("pdq", PDQ, source="M & Co", category="A2", added_at=WHEN, extra=extra),
        HashRecord("sha256", PDQ, note="<kept>", extra={"entry_type": "video"}),
        HashRecord("pdq", PDQ),
    ]
    fmt = get_format("ncmec")
    out = fmt.write(records)
    text = out.decode()
    assert text.count("<image>") == 2
    assert text.count("<video>") == 1
    assert '<images count="2" maxTimestamp="2024-05-01T10:00:00Z">' in text
    assert '<member id="7">M &amp; Co</member>' in text
    assert f"<sha1>{SHA1}</sha1>" in text
    back = [r for _, r in fmt.parse(out).records]
    # Images are written before videos.
    assert back == [records[0], records[1], records[3], records[2]]


def test_text_that_xml_cannot_hold_is_replaced_not_fatal() -> None:
    out = get_format("ncmec").write([HashRecord("pdq", PDQ, note="bell\x07")])
    assert [r.note for _, r in parse(out, "ncmec").records] == ["bell\ufffd"]
