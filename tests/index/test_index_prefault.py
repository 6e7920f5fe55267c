"""A memory-mapped load prefaults its arrays in the background; answers never change."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from safespace.index import PDQIndex, _storage


def _saved(tmp_path: Path) -> tuple[Path, np.ndarray, list[list[tuple[int, int]]]]:
    rng = np.random.default_rng(3)
    data = rng.integers(0, 256, (3000, 32), dtype=np.uint8)
    index = PDQIndex()
    index.add(np.arange(3000), data)
    index.compact()
    path = tmp_path / "idx"
    index.save(path)
    return path, data, index.search(data[:20], radius=31)


@pytest.mark.parametrize("populate", [True, False])
def test_prefault_thread_runs_and_answers_are_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, populate: bool
) -> None:
    path, data, expected = _saved(tmp_path)
    if not populate:  # a kernel without madvise: pages are touched by reading instead
        monkeypatch.setattr(_storage, "_madvise", lambda arr, advice: False)
        monkeypatch.setattr(_storage, "_TOUCH_STEP", 4096 * 3)
    loaded = PDQIndex.load(path, mmap=True)
    first = loaded.search(data[:20], radius=31)  # while the prefault may still run
    assert loaded._prefault is not None
    loaded._prefault.join(timeout=60)
    assert not loaded._prefault.is_alive()
    assert first == expected
    assert loaded.search(data[:20], radius=31) == expected


def test_no_prefault_when_asked_or_not_mapped(tmp_path: Path) -> None:
    path, data, expected = _saved(tmp_path)
    for index in (PDQIndex.load(path, mmap=True, prefault=False), PDQIndex.load(path, mmap=False)):
        assert index._prefault is None
        assert index.search(data[:20], radius=31) == expected


def test_prefault_of_plain_and_empty_arrays() -> None:
    """Arrays that are not mapped, and empty ones, are fine to prefault."""
    _storage.prefault([np.zeros(0, dtype=np.uint8), np.arange(100_000, dtype=np.int64)])
