"""Snapshots: round trips (mapped or read), mutation after load, and damaged snapshots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from index_helpers import flip, oracle

from safespace.errors import IndexFormatError, InvalidInput
from safespace.index import PDQIndex


def _built(tmp_path: Path) -> tuple[PDQIndex, dict[int, np.ndarray], np.ndarray]:
    """An index with several segments, tombstones and a non-empty buffer."""
    rng = np.random.default_rng(7)
    queries = rng.integers(0, 256, (4, 32), dtype=np.uint8)
    index = PDQIndex()
    index._buffer_rows = 50
    truth: dict[int, np.ndarray] = {}
    for k in range(230):
        h = flip(queries[k % 4], int(rng.integers(0, 40)), rng)
        index.add([k], h[None, :])
        truth[k] = h
    gone = list(range(0, 230, 7))
    index.remove(gone)
    for g in gone:
        del truth[g]
    assert len(index._segments) >= 2
    assert len(index._buffer) > 0
    return index, truth, queries


@pytest.mark.parametrize("mmap", [True, False])
def test_round_trip(tmp_path: Path, mmap: bool) -> None:
    index, truth, queries = _built(tmp_path)
    index.save(tmp_path / "idx")
    loaded = PDQIndex.load(tmp_path / "idx", mmap=mmap)
    assert len(loaded) == len(index) == len(truth)
    for r in (0, 10, 31, 60):
        assert loaded.search(queries, radius=r) == index.search(queries, radius=r)
        assert loaded.search(queries, radius=r) == oracle(truth, queries, r)
    manifest = json.loads((tmp_path / "idx" / "manifest.json").read_text())
    assert manifest["format"] == "safespace-pdq-index"
    assert manifest["version"] == 1


def test_mutate_after_mapped_load_and_save_over_itself(tmp_path: Path) -> None:
    index, truth, queries = _built(tmp_path)
    path = tmp_path / "idx"
    index.save(path)
    loaded = PDQIndex.load(path)
    rng = np.random.default_rng(3)
    new = np.stack([flip(queries[0], d, rng) for d in range(20)])
    loaded.add(range(1000, 1020), new)
    truth.update(zip(range(1000, 1020), new, strict=True))
    removed = [1, 2, 3, 1000]
    assert loaded.remove(removed) == 4
    for g in removed:
        del truth[g]
    assert loaded.search(queries, radius=31) == oracle(truth, queries, 31)
    loaded.save(path)  # replaces the files this very index has mapped
    assert loaded.search(queries, radius=31) == oracle(truth, queries, 31)
    again = PDQIndex.load(path)
    assert again.search(queries, radius=31) == oracle(truth, queries, 31)
    again.compact()
    again.save(tmp_path / "compacted")
    final = PDQIndex.load(tmp_path / "compacted")
    assert len(final._segments) == 1
    assert final.search(queries, radius=45) == oracle(truth, queries, 45)


def test_empty_index_round_trip(tmp_path: Path) -> None:
    PDQIndex().save(tmp_path / "e")
    loaded = PDQIndex.load(tmp_path / "e")
    assert len(loaded) == 0
    assert loaded.search(np.zeros((1, 32), dtype=np.uint8)) == [[]]


def _saved(tmp_path: Path) -> Path:
    index, _, _ = _built(tmp_path)
    path = tmp_path / "idx"
    index.save(path)
    return path


def _edit_manifest(path: Path, **changes: object) -> None:
    m = json.loads((path / "manifest.json").read_text())
    m.update(changes)
    (path / "manifest.json").write_text(json.dumps(m))


def test_unreadable_manifest(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    (path / "manifest.json").write_text("{not json")
    with pytest.raises(IndexFormatError, match="manifest"):
        PDQIndex.load(path)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"version": 99}, "version"),
        ({"format": "something-else"}, "manifest"),
        ({"entries": 5}, "entries"),
        ({"segments": "nope"}, "segments"),
    ],
)
def test_manifest_mismatch(tmp_path: Path, changes: dict[str, object], message: str) -> None:
    path = _saved(tmp_path)
    _edit_manifest(path, **changes)
    with pytest.raises(IndexFormatError, match=message):
        PDQIndex.load(path)


def test_bad_chunk_layout(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    m = json.loads((path / "manifest.json").read_text())
    m["segments"][0]["widths"][0] += 1
    (path / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IndexFormatError, match="chunk layout"):
        PDQIndex.load(path)


def test_missing_manifest_or_directory(tmp_path: Path) -> None:
    with pytest.raises(IndexFormatError):
        PDQIndex.load(tmp_path / "nowhere")
    path = _saved(tmp_path)
    (path / "manifest.json").unlink()
    with pytest.raises(IndexFormatError):
        PDQIndex.load(path)


@pytest.mark.parametrize("name", ["hashes", "entries", "offsets", "ids", "dead"])
@pytest.mark.parametrize("mmap", [True, False])
def test_truncated_array(tmp_path: Path, name: str, mmap: bool) -> None:
    path = _saved(tmp_path)
    f = path / "seg-0000" / f"{name}.npy"
    data = f.read_bytes()
    f.write_bytes(data[: len(data) - 9])
    with pytest.raises(IndexFormatError, match=name):
        PDQIndex.load(path, mmap=mmap)


def test_missing_array(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    (path / "seg-0000" / "entries.npy").unlink()
    with pytest.raises(IndexFormatError, match="missing"):
        PDQIndex.load(path)


def test_wrong_dtype_and_pickled_object_arrays(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    ids = np.load(path / "seg-0000" / "ids.npy")
    np.save(path / "seg-0000" / "ids.npy", ids.astype(np.float64))
    with pytest.raises(IndexFormatError, match="ids"):
        PDQIndex.load(path)
    np.save(path / "seg-0000" / "ids.npy", np.array([{"x": 1}] * len(ids)), allow_pickle=True)
    with pytest.raises(IndexFormatError, match="ids"):
        PDQIndex.load(path)


@pytest.mark.parametrize("damage", ["entries", "offsets", "ids", "dead"])
def test_damaged_contents(tmp_path: Path, damage: str) -> None:
    """Values a probe would trust (row numbers, bucket bounds, id order) are checked."""
    path = _saved(tmp_path)
    f = path / "seg-0000" / f"{damage}.npy"
    arr = np.load(f)
    if damage == "entries":
        arr[0, 0] = 10**6  # a row number past the end
    elif damage == "offsets":
        arr[3] = arr[-1] + 1
    elif damage == "ids":
        arr[[0, 1]] = arr[[1, 0]]
    else:
        arr[:] = ~arr
    np.save(f, arr)
    with pytest.raises(IndexFormatError):
        PDQIndex.load(path)


def test_save_refuses_to_overwrite_other_things(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("keep me")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "notes.txt").write_text("keep me too")
    for target in (tmp_path / "file.txt", tmp_path / "dir"):
        with pytest.raises(InvalidInput, match="refusing"):
            PDQIndex().save(target)
    assert (tmp_path / "dir" / "notes.txt").read_text() == "keep me too"
