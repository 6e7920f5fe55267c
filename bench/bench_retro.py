"""Retro-matching: 10,000 new bank entries against N stored content hashes, import to queue.

For each size N: N random PDQ hashes are stored in the content-hash store (a fresh SQLite
database, or ``--database-url``) and the content index is loaded (both reported, not part of
the figure). Then, timed from the import to the queued items: a hash list of ``--new``
entries (``--planted`` of them near copies, 0..31 bits from a stored hash; the rest random)
is imported into a bank, and one retro-match sweep searches the new entries and queues every
hit. Recall is checked against a brute-force scan of the same entries over every stored hash
(all of them up to 2e10 hash pairs, else ``--brute-queries`` entries, the planted ones
first); the brute-force time is given for all the entries (scaled when sampled) and as a
ratio to the sweep's search.

    python bench/bench_retro.py                       # N = 100,000
    python bench/bench_retro.py --sizes 1000000,10000000
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from safespace.banks import BankService
from safespace.banks._info import bank_thresholds
from safespace.index._segment import scan, words
from safespace.retro import ContentIndex, ContentStore, RetroMatcher
from safespace.signals import DISTANCE, IndexKind, signal_types_with_index
from safespace.store import Bank, open_database

PDQ = next(iter(signal_types_with_index(IndexKind.PDQ_MIH))).name
_CHUNK = 200_000
_BRUTE_PAIRS = 2e10
_VALUE_INDEX = "ix_content_signals_signal_type_value"


def _hexes(raw: np.ndarray) -> list[str]:
    text = raw.tobytes().hex()
    return [text[k : k + 64] for k in range(0, len(text), 64)]


def _rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def run(size: int, new: int, planted: int, brute_queries: int, url: str | None, seed: int) -> None:
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(url or f"sqlite:///{Path(tmp) / 'bench.db'}")
        store = ContentStore(db)
        stored = np.empty((size, 32), dtype=np.uint8)
        t0 = time.perf_counter()
        bulk = db.engine.dialect.name == "sqlite"  # a bulk load: the value index built after
        if bulk:
            with db.engine.begin() as conn:
                conn.exec_driver_sql(f"DROP INDEX {_VALUE_INDEX}")
        for start in range(0, size, _CHUNK):
            part = rng.integers(0, 256, size=(min(_CHUNK, size - start), 32), dtype=np.uint8)
            stored[start : start + len(part)] = part
            store.insert_new((f"c{start + k:09d}", PDQ, h) for k, h in enumerate(_hexes(part)))
        if bulk:
            with db.engine.begin() as conn:
                conn.exec_driver_sql(
                    f"CREATE INDEX {_VALUE_INDEX} ON content_signals (signal_type, value)"
                )
        t_store = time.perf_counter() - t0
        index = ContentIndex()
        t0 = time.perf_counter()
        index.sync(db)
        t_load = time.perf_counter() - t0
        gc.collect()
        print(
            f"N={size:,}: stored {size:,} content hashes in {t_store:.1f} s; content index "
            f"loaded in {t_load:.1f} s ({len(index):,} hashes); peak RSS {_rss_gib():.2f} GiB"
        )

        banks = BankService(db)
        banks.create_bank("bench")
        with db.session() as s:
            bank = s.query(Bank).filter(Bank.name == "bench").one()
            radius = bank_thresholds(bank)[PDQ][DISTANCE]
        index.search(_hexes(stored[:1]), radius)  # compiled once, as in a running server
        matcher = RetroMatcher(db, index=index)
        matcher.sweep_changes()  # the checkpoint
        picks = rng.choice(size, size=planted, replace=False)
        entries = rng.integers(0, 256, size=(new, 32), dtype=np.uint8)
        bits = np.unpackbits(stored[picks], axis=1)
        for row, flips in enumerate(rng.integers(0, radius + 1, size=planted)):
            bits[row, rng.choice(256, size=int(flips), replace=False)] ^= 1
        entries[:planted] = np.packbits(bits, axis=1)
        hexes = _hexes(entries)
        data = "".join(f"{PDQ} {h}\n" for h in hexes).encode()

        t0 = time.perf_counter()
        imported = banks.import_data("bench", data, fmt="hma")
        t_import = time.perf_counter() - t0
        result = matcher.sweep_changes()
        t_total = time.perf_counter() - t0
        assert imported.added == new, imported
        t_search = _search_time(index, hexes, radius)

        # brute force over the stored hashes, the planted entries first
        q = new if size * new <= _BRUTE_PAIRS else min(new, brute_queries)
        qs = words(np.ascontiguousarray(entries[:q]))
        dead = np.zeros(size, dtype=np.bool_)
        scan(qs[:1], words(stored[:1000]), dead[:1000], radius)  # compile
        t0 = time.perf_counter()
        qi, rows, _ = scan(qs, words(stored), dead, radius)
        t_brute = (time.perf_counter() - t0) * new / q
        expected = {(f"c{int(r):09d}", hexes[int(i)]) for i, r in zip(qi, rows, strict=True)}
        found = _found(db, set(hexes[:q]))
        recall = len(expected & found) / len(expected) if expected else 1.0
        extra = len(found - expected)
        db.close()
    print(
        f"  {new:,} new entries ({planted:,} planted copies): import {t_import:.2f} s, "
        f"import to queued items {t_total:.2f} s; {result.hits:,} hits, "
        f"{result.queued:,} items queued"
    )
    print(
        f"  search of the new entries in the content index {t_search:.3f} s; brute force "
        f"{t_brute:.3f} s ({'all' if q == new else f'{q:,} sampled,'} entries) = "
        f"{t_brute / t_search:,.0f}x the index; {t_brute / t_total:,.1f}x import to queue"
    )
    print(
        f"  recall {recall:.4f} vs brute force ({len(expected):,} pairs over {q:,} entries, "
        f"{extra} not in brute force); peak RSS {_rss_gib():.2f} GiB"
    )


def _search_time(index: ContentIndex, hexes: list[str], radius: int) -> float:
    t0 = time.perf_counter()
    index.search(hexes, radius)
    return time.perf_counter() - t0


def _found(db: object, values: set[str]) -> set[tuple[str, str]]:
    from sqlalchemy import select

    from safespace.store import BankEntry
    from safespace.store._models_retro import RetroHit

    with db.session() as s:  # type: ignore[attr-defined]
        rows = s.execute(
            select(RetroHit.content_id, BankEntry.value).join(
                BankEntry, BankEntry.id == RetroHit.entry_id
            )
        ).all()
    return {(c, v) for c, v in rows if v in values}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="100000", help="stored content hashes, comma list")
    parser.add_argument("--new", type=int, default=10_000, help="new bank entries")
    parser.add_argument("--planted", type=int, default=1_000, help="near copies among them")
    parser.add_argument(
        "--brute-queries", type=int, default=1_000, help="entries brute-forced when all are slow"
    )
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args(argv)
    for size in (int(s.replace("_", "").replace(",", "")) for s in args.sizes.split(",")):
        planted = min(args.planted, args.new, size)
        run(size, args.new, planted, args.brute_queries, args.database_url, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
