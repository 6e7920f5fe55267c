"""Shared helpers for the PDQ index tests: random hashes, planted neighbours, an oracle."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import numpy.typing as npt

from safespace.index import _segment

Hashes = npt.NDArray[np.uint8]


def flip(h: Hashes, d: int, rng: np.random.Generator) -> Hashes:
    """A copy of hash ``h`` with exactly ``d`` distinct bits flipped."""
    bits = np.unpackbits(h)
    pos = rng.choice(256, size=d, replace=False)
    bits[pos] ^= 1
    return np.packbits(bits)


def oracle(entries: dict[int, Hashes], queries: Hashes, radius: int) -> list[list[tuple[int, int]]]:
    """Brute force over a dict id -> hash: the answer every search must give."""
    if not entries:
        return [[] for _ in range(len(queries))]
    ids = np.array(list(entries), dtype=np.int64)
    hashes = np.stack(list(entries.values()))
    out = []
    for q in queries:
        d = np.unpackbits(hashes ^ q, axis=1).sum(axis=1)
        hit = np.nonzero(d <= radius)[0]
        out.append(sorted(((int(ids[i]), int(d[i])) for i in hit), key=lambda p: (p[1], p[0])))
    return out


TIGHT = {
    "CANDIDATE_ROOM": 2,
    "SCAN_CAP": 0,
    "QUERY_CAP": 1,
    "PARALLEL_SCAN": 1,
    "PARALLEL_PROBE": 1,
    "BLOCK_ROWS": 7,
}


@contextmanager
def tight_buffers(on: bool = True) -> Iterator[None]:
    """Tiny output buffers and parallel kernels even for tiny inputs: every re-run path runs."""
    saved = {k: getattr(_segment, k) for k in TIGHT}
    if on:
        for k, v in TIGHT.items():
            setattr(_segment, k, v)
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(_segment, k, v)
