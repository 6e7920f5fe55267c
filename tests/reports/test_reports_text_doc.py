"""docs/reports.md's "Text matches in actions and referrals" examples have exactly the keys
the code produces: the webhook body of a confirmed text-only item and its JSON referral are
built from a real review item and compared, key by key, with the JSON blocks in that section.

Placeholder data only (example.org, ``placeholder-term-N``)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from safespace.access import record_matches
from safespace.banks._match_results import Match
from safespace.banks._text_match import TextMatch
from safespace.reports._queue import ReviewPolicy, ReviewQueue
from safespace.reports._referrals import Reporter, validate_cybertip
from safespace.signals import KEYWORD, URL
from safespace.store import Database
from safespace.store._models_reports import WebhookAction

DOC = Path(__file__).resolve().parents[2] / "docs" / "reports.md"
SECTION = "## Text matches in actions and referrals"
POST = "look hxxps://www[.]example[.]org/listed/page.html?ref=2 and placeholder-term-1 here"
LINK = "hxxps://www[.]example[.]org/listed/page.html?ref=2"


def _doc_examples() -> list[Any]:
    text = DOC.read_text(encoding="utf-8")
    assert SECTION in text, f"{DOC.name} lost its section {SECTION!r}"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```json\n(.*?)```", section, flags=re.S)
    return [json.loads(block) for block in blocks]


def _shape(value: Any) -> Any:
    """The keys of every object, recursively; a list by the shape of its items."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        shapes = {json.dumps(_shape(v), sort_keys=True) for v in value}
        return sorted(shapes)
    return type(value).__name__ if value is not None else None


def _confirmed_text_item(database: Database) -> tuple[ReviewQueue, int]:
    start, kw = POST.index(LINK), POST.index("placeholder-term-1")
    matches = [
        TextMatch(
            Match("iwf-urls", "normal", 1, URL.name, "example.org/listed/page.html", 0),
            start,
            start + len(LINK),
        ),
        TextMatch(
            Match("words", "normal", 2, KEYWORD.name, "placeholder-term-1", 0),
            kw,
            kw + len("placeholder-term-1"),
        ),
    ]
    assert record_matches(database, "post-9", matches, None, {}) == 2
    queue = ReviewQueue(
        database, ReviewPolicy(webhook_url="http://127.0.0.1:9/h", webhook_secret="w" * 32)
    )
    assert queue.sync() == 1
    (item,) = [i for i in queue.list_items() if i.content_id == "post-9"]
    queue.claim(item.id, "ann", "reviewer")
    queue.decide(item.id, "ann", "reviewer", "confirm", "clear", "B1")
    return queue, item.id


def test_the_documented_webhook_and_referral_have_the_codes_keys(database: Database) -> None:
    webhook_doc, referral_doc = _doc_examples()
    queue, item_id = _confirmed_text_item(database)

    with database.session() as s:
        bodies = [json.loads(a.payload) for a in s.scalars(select(WebhookAction))]
    assert sorted(b["kind"] for b in bodies) == ["preserve_evidence", "take_down_content"]
    (take_down,) = [b for b in bodies if b["kind"] == webhook_doc["kind"]]
    assert _shape(webhook_doc) == _shape(take_down)
    assert webhook_doc["target"]["text_matches"] == take_down["target"]["text_matches"]
    assert LINK not in json.dumps(bodies)

    reporter = Reporter(email="safety@example.org", platform="Example Forum")
    body, _ = queue.export_referral(item_id, "json", "user:ann", reporter)
    referral = json.loads(body)
    assert _shape(referral_doc) == _shape(referral)
    assert referral["content"]["hashes"] == referral_doc["content"]["hashes"] == []
    assert referral["content"]["text_matches"] == referral_doc["content"]["text_matches"]
    assert referral_doc["notes"].replace("item 12", f"item {item_id}") == referral["notes"]
    assert LINK.encode() not in body

    xml, _ = queue.export_referral(item_id, "xml", "user:ann", reporter)
    validate_cybertip(xml, what="report")
    assert b"example.org/listed/page.html at characters" in xml


def test_the_generic_referral_example_has_the_text_matches_key() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### Generic JSON referral", 1)[1].split("\n## ", 1)[0]
    (example,) = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", section, flags=re.S)]
    assert example["content"]["text_matches"] == []
