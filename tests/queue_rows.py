"""Review items written straight into the database, thousands at a time: the queue tests
need a big queue fast, not one made through HTTP. Benign made-up values only."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from safespace.store import Database
from safespace.store._models import utcnow
from safespace.store._models_queue import ReviewItem

BANKS = ("alpha-list", "beta-list", "gamma-list")
CATEGORIES = ("A", "B", "C")


def md5_of(n: int) -> str:
    return hashlib.md5(f"made-up content {n}".encode()).hexdigest()


def row(n: int, now: datetime, **fields: Any) -> dict[str, Any]:
    """Item ``n``: every 10th a retro-match, every 7th a user report (no bank), the rest
    bank matches; banks and categories in turn; one hour older per 20 items."""
    if n % 10 == 0:
        source = "retro"
    elif n % 7 == 0:
        source = "user-report"
    else:
        source = "match"
    banked = source != "user-report"
    values: dict[str, Any] = {
        "source": source,
        "status": "open",
        "priority": (n % 4) + 1,
        "content_id": f"content-{n}",
        "account_id": f"account-{n % 50}",
        "urls": [],
        "reason": None,
        "reports": 1 if source == "user-report" else 0,
        "bank": BANKS[n % 3] if banked else None,
        "entry_id": n if banked else None,
        "signal_type": None,
        "matched_value": None,
        "distance": 0 if banked else None,
        "category": CATEGORIES[n % 3] if banked else None,
        "hashes": {"md5": md5_of(n)},
        "created_at": now - timedelta(hours=n // 20, minutes=n % 20),
        "updated_at": now,
    }
    return values | fields


def add_items(
    db: Database, count: int, *, now: datetime | None = None, first: int = 1, **fields: Any
) -> list[int]:
    """``count`` open items (numbered from ``first``); returns their ids in that order."""
    now = now or utcnow()
    rows = [row(n, now, **fields) for n in range(first, first + count)]
    with db.transaction() as s:
        for start in range(0, len(rows), 500):
            s.execute(insert(ReviewItem), rows[start : start + 500])
        names = [r["content_id"] for r in rows]
        found = dict(
            s.execute(
                select(ReviewItem.content_id, ReviewItem.id).where(ReviewItem.content_id.in_(names))
            ).all()
        )
    return [found[name] for name in names]
