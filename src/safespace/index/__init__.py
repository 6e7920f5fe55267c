"""Exact PDQ search. Public API: :class:`PDQIndex`.

Placeholder brute-force implementation (correct, slow); the multi-index-hashing index
replaces its internals behind the same API.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["PDQIndex"]

HashesLike = npt.NDArray[np.uint8] | Sequence[str]


def _as_array(hashes: HashesLike) -> npt.NDArray[np.uint8]:
    if isinstance(hashes, np.ndarray):
        arr = np.ascontiguousarray(hashes, dtype=np.uint8)
        return arr.reshape(-1, 32)
    return np.array([np.frombuffer(bytes.fromhex(h), dtype=np.uint8) for h in hashes],
                    dtype=np.uint8).reshape(-1, 32)


class PDQIndex:
    def __init__(self) -> None:
        self._ids = np.zeros(0, dtype=np.int64)
        self._hashes = np.zeros((0, 32), dtype=np.uint8)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: Iterable[int], hashes: HashesLike) -> None:
        id_arr = np.fromiter(ids, dtype=np.int64)
        arr = _as_array(hashes)
        self._ids = np.concatenate([self._ids, id_arr])
        self._hashes = np.concatenate([self._hashes, arr])

    def remove(self, ids: Iterable[int]) -> None:
        keep = ~np.isin(self._ids, np.fromiter(ids, dtype=np.int64))
        self._ids, self._hashes = self._ids[keep], self._hashes[keep]

    def search(self, hashes: HashesLike, radius: int = 31) -> list[list[tuple[int, int]]]:
        queries = _as_array(hashes)
        out: list[list[tuple[int, int]]] = []
        for q in queries:
            d = np.unpackbits(self._hashes ^ q, axis=1).sum(axis=1)
            hit = np.nonzero(d <= radius)[0]
            order = np.argsort(d[hit], kind="stable")
            out.append([(int(self._ids[i]), int(d[i])) for i in hit[order]])
        return out
