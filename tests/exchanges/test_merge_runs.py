"""``_merged`` (a group's consecutive pages as one) against the plain rule it implements:
for each upstream id its last change wins, and an id keeps the place of its last change.
The quick way for a listing (no removals, no id twice) must give exactly the same page."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from safespace.exchanges import FetchPage, SourceEntry
from safespace.exchanges._service import _merged


def _reference(run: list[FetchPage]) -> tuple[list[tuple[str, str]], list[str]]:
    upserts: dict[str, SourceEntry] = {}
    removals: dict[str, None] = {}
    for page in run:
        for upstream_id in page.removals:
            upserts.pop(upstream_id, None)
            removals[upstream_id] = None
        for entry in page.upserts:
            removals.pop(entry.upstream_id, None)
            upserts.pop(entry.upstream_id, None)
            upserts[entry.upstream_id] = entry
    return [(e.upstream_id, e.value) for e in upserts.values()], list(removals)


def _page(changes: list[tuple[int, int | None]], seq: int) -> FetchPage:
    """A page from (upstream id, version or None for a removal); an id once per page."""
    latest = dict(changes)
    upserts = [
        SourceEntry(f"u{i}", "md5", hashlib.md5(f"{i}/{v}".encode()).hexdigest())
        for i, v in latest.items()
        if v is not None
    ]
    removals = [f"u{i}" for i, v in latest.items() if v is None]
    return FetchPage(upserts, removals, {"seq": seq}, more=True)


changes = st.lists(st.tuples(st.integers(0, 30), st.one_of(st.none(), st.integers(0, 3))))


@given(st.lists(changes, min_size=2, max_size=5), st.booleans())
def test_a_merged_run_is_the_last_change_of_each_id(pages: list[list[tuple[int, int | None]]],
                                                     listing: bool) -> None:  # fmt: skip
    if listing:  # no removals: the quick way, or its fallback when an id comes twice
        pages = [[(i, 0 if v is None else v) for i, v in page] for page in pages]
    run = [_page(page, n) for n, page in enumerate(pages)]
    merged = _merged(run)
    assert ([(e.upstream_id, e.value) for e in merged.upserts], list(merged.removals)) == (
        _reference(run)
    )
    assert merged.checkpoint == run[-1].checkpoint
