"""The exact-hash table finds a digest among many that share its first 8 bytes (the key it
is sorted by) as it finds one alone, and only that digest."""

from __future__ import annotations

from safespace.banks._snapshot import ExactTable


def test_a_digest_among_many_sharing_its_first_bytes_is_found() -> None:
    digests = [bytes(8) + i.to_bytes(8, "big") for i in range(1000)]
    table = ExactTable.build(16, digests, list(range(1, 1001)))
    assert table.lookup(digests[0]) == [1]
    assert table.lookup(digests[777]) == [778]
    assert table.lookup(bytes(8) + (5000).to_bytes(8, "big")) == []
    assert table.lookup(b"\x01" + bytes(15)) == []


def test_a_digest_listed_twice_gives_both_ids_in_order() -> None:
    shared = [bytes(8) + i.to_bytes(8, "big") for i in range(20)]
    table = ExactTable.build(16, [*shared, shared[3]], [*range(1, 21), 99])
    assert table.lookup(shared[3]) == [4, 99]
    few = ExactTable.build(16, [b"\x02" * 16, b"\x02" * 16], [7, 3])
    assert few.lookup(b"\x02" * 16) == [3, 7]
