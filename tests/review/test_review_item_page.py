"""The item page's history, related items, entry provenance and notes, through the app."""

from __future__ import annotations

from typing import Any

from review_helpers import csrf

from safespace.reports._item_context import MAX_NOTE
from safespace.reports._queue import UserReport

MD5 = "d41d8cd98f00b204e9800998ecf8427e"


def _report(app: Any, content_id: str, account: str, md5: str = MD5) -> int:
    queue = app.app.state.review.queue
    item, _ = queue.report(UserReport(content_id, "user says abuse", account_id=account,
                                      hashes={"md5": md5}))  # fmt: skip
    item_id: int = item.id
    return item_id


def test_item_page_shows_history_neighbours_and_takes_notes(make_app: Any) -> None:
    app = make_app()
    first = _report(app, "post-1", "acct-9")
    second = _report(app, "post-2", "acct-9")
    ann = app.signed_in("ann")
    assert (
        ann.post(f"/console/items/{first}/claim", data={"csrf_token": csrf(ann)}).status_code == 303
    )
    page = ann.get(f"/console/items/{first}").text
    assert 'id="history"' in page
    assert '<span class="badge">claim</span> <strong>ann</strong>' in page
    assert 'id="same-hash"' in page
    assert 'id="same-account"' in page
    assert f'href="/console/items/{second}">Item #{second}</a>' in page
    assert "Same content hash (1)" in page

    url = f"/console/items/{first}/notes"
    assert ann.post(url, data={"csrf_token": "forged", "text": "x"}).status_code == 403
    assert (
        ann.post(
            url, data={"csrf_token": csrf(ann), "text": "Seen this account before."}
        ).status_code
        == 303
    )
    page = ann.get(f"/console/items/{first}").text
    note = '<span class="reason">Seen this account before.</span>'
    assert f'<span class="badge">note</span> <strong>ann</strong>: {note}' in page

    too_long = "z" * (MAX_NOTE + 5)
    refused = ann.post(url, data={"csrf_token": csrf(ann), "text": too_long})
    assert refused.status_code == 400
    assert 'id="note-error"' in refused.text
    assert too_long in refused.text  # kept to shorten, not lost


def test_item_page_shows_the_matched_entry_provenance(make_app: Any) -> None:
    from safespace.access import record_matches
    from safespace.banks._match_results import Match
    from safespace.banks.formats import HashRecord

    app = make_app()
    state = app.app.state.safespace
    state.banks.create_bank("vendor")
    record = HashRecord("md5", MD5, source="vendor-list", note="from the vendor feed",
                        extra={"quality": "91"})  # fmt: skip
    state.banks.add_entries("vendor", [record])
    entry = state.banks.list_entries("vendor")[0].id
    record_matches(state.db, "post-m", [Match("vendor", "normal", entry, "md5", MD5, 0)], None)
    queue = app.app.state.review.queue
    queue.sync()
    item = next(i for i in queue.list_items() if i.content_id == "post-m")
    page = app.signed_in("ann").get(f"/console/items/{item.id}").text
    assert 'id="provenance"' in page
    assert "vendor-list" in page
    assert "from the vendor feed" in page
    assert "<dt>Hash quality</dt><dd>91</dd>" in page
