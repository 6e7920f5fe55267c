"""``QueueFeeds`` on its own, and as the collaborator a ``ReviewQueue`` holds.

The feeds take what they need of the queue at each call (clock, endpoint, sealer, policy,
how an item is loaded): a queue's clock or sealer replaced after it was made is used.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from safespace.reports import _sealing as sealing
from safespace.reports._queue import ReviewPolicy, ReviewQueue, UserReport
from safespace.reports._queue_feeds import QueueFeeds
from safespace.store import Database
from safespace.store._models_queue import ReviewItem, ReviewMedia

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _updated_at(db: Database, item_id: int) -> datetime:
    with db.session() as s:
        value = s.scalar(select(ReviewItem.updated_at).where(ReviewItem.id == item_id))
    assert value is not None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def test_feeds_alone_make_one_item_per_content_and_load_it_their_callers_way(
    database: Database,
) -> None:
    now = [T0]
    feeds = QueueFeeds(database, clock=lambda: now[0])

    def load(s: Session, item_id: int) -> tuple[str, int]:
        return "loaded", item_id

    (tag, first), new = feeds.report(
        UserReport("post-1", "one"), load=load, sealer=None, store_media=False
    )
    now[0] = T0 + timedelta(minutes=5)
    (_, again), new_again = feeds.report(
        UserReport("post-1", "two"), load=load, sealer=None, store_media=False
    )
    assert (tag, new, new_again, again) == ("loaded", True, False, first)
    assert _updated_at(database, first) == T0 + timedelta(minutes=5)  # the clock, at the call
    assert feeds.sync() == 0  # no endpoint needed to read empty feeds


def test_the_queue_holds_its_feeds_and_passes_its_current_clock_and_sealer(
    database: Database,
) -> None:
    queue = ReviewQueue(database, ReviewPolicy(store_media=True))
    assert not isinstance(queue, QueueFeeds)
    assert isinstance(queue.feeds, QueueFeeds)
    queue.clock = lambda: T0  # replaced after the queue (and its feeds) were made
    item, _ = queue.report(UserReport("post-2", "r", media=b"x", media_type="image/png"))
    queue.clock = lambda: T0 + timedelta(hours=1)
    queue.report(UserReport("post-2", "again"))
    assert _updated_at(database, item.id) == T0 + timedelta(hours=1)
    assert queue.media(item.id) is None  # no sealer yet: nothing kept, never plaintext

    queue.sealer = sealing.MediaSealer(bytes(range(32)))
    sealed, _ = queue.report(UserReport("post-3", "r", media=b"y", media_type="image/png"))
    assert queue.media(sealed.id) == ("image/png", b"y")
    with database.session() as s:
        row = s.get(ReviewMedia, sealed.id)
        assert row is not None
        assert row.data != b"y"
