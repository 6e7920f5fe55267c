"""Matcher snapshots on local disk, so a worker starts in seconds instead of re-reading the banks.

A snapshot is a directory ``snap-<seq>-<time>-<random>`` inside the snapshot folder:

- ``index/``: the :class:`~safespace.index.PDQIndex`, saved with its own ``save()``;
- ``bank.npy`` (entry id -> bank id, int32) and ``indexed.npy`` (entry id -> is in the PDQ
  index, bool);
- ``exact-<type>-{hi,raw,ids}.npy``: entries of exact types sorted by digest, searched with
  ``np.searchsorted`` on the first 8 bytes;
- ``frames-<type>-{ids,pdq,times,quality}.npy``: the good frames of the entries of types
  matched frame by frame (``IndexKind.FRAMES``), one row per frame; the frame index is
  rebuilt from them at load;
- ``snapshot.json``, written last: format version, the change-log ``seq`` the snapshot
  reflects, the database's identity, the banks (with their thresholds per signal type), and
  the size of every file.

Everything loads memory-mapped (copy-on-write for the arrays a refresh changes), so several
workers on one machine share the pages. Directories are written under a temporary name and
renamed into place, and one writer at a time holds ``.lock`` (``flock``), so concurrent starts
never see half a snapshot. A snapshot from another database, an unknown version, or a damaged
one is skipped with a warning (and the matcher is rebuilt from the database).
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select

from safespace.banks._matching_frames import FrameArrays
from safespace.errors import IndexFormatError, InvalidSignal
from safespace.index import PDQIndex
from safespace.signals import get_signal_type
from safespace.store import Change, Database

__all__ = [
    "FORMAT",
    "VERSION",
    "ExactTable",
    "SnapshotData",
    "database_identity",
    "list_snapshots",
    "load_snapshot",
    "log_mark",
    "prune",
    "snapshot_lock",
    "snapshot_seq",
    "write_snapshot",
]

log = logging.getLogger("safespace.snapshot")

FORMAT = "safespace-matcher-snapshot"
VERSION = 3  # 2: banks carry thresholds per signal type; indexed.npy. 3: frames-<type>-*
MANIFEST = "snapshot.json"
LOCK = ".lock"
PREFIX = "snap-"

I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]


class ExactTable:
    """An immutable table of raw digests -> entry ids, sorted by digest (mmap-friendly)."""

    def __init__(self, hi: npt.NDArray[np.uint64], raw: U8, ids: I64) -> None:
        self.hi, self.raw, self.ids = hi, raw, ids

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, width: int, digests: Sequence[bytes], ids: Sequence[int]) -> ExactTable:
        return cls.empty(width).merged(np.zeros(0, np.bool_), digests, ids)

    @classmethod
    def empty(cls, width: int) -> ExactTable:
        return cls(np.zeros(0, np.uint64), np.zeros((0, width), np.uint8), np.zeros(0, np.int64))

    def lookup(self, digest: bytes) -> list[int]:
        if not len(self.hi) or len(digest) != self.raw.shape[1]:
            return []
        key = np.uint64(int.from_bytes(digest[:8], "big"))
        lo = int(np.searchsorted(self.hi, key, "left"))
        end = int(np.searchsorted(self.hi, key, "right"))
        if end - lo > 8:  # many digests share the first 8 bytes: compare the run at once
            same = (self.raw[lo:end] == np.frombuffer(digest, dtype=np.uint8)).all(axis=1)
            return [int(self.ids[lo + k]) for k in np.flatnonzero(same)]
        return [int(self.ids[k]) for k in range(lo, end) if self.raw[k].tobytes() == digest]

    def merged(self, live: npt.NDArray[np.bool_], digests: Sequence[bytes], ids: Sequence[int]
               ) -> ExactTable:  # fmt: skip
        """The rows where ``live`` is true, plus new rows: a new table."""
        width = self.raw.shape[1]
        raw = np.concatenate([np.asarray(self.raw[live]), _rows(width, digests)])
        id_arr = np.concatenate([np.asarray(self.ids[live]), np.asarray(ids, dtype=np.int64)])
        hi = _high(raw)
        order = np.lexsort((id_arr, hi))
        return ExactTable(hi[order], np.ascontiguousarray(raw[order]), id_arr[order])


def _rows(width: int, digests: Sequence[bytes]) -> U8:
    return np.frombuffer(b"".join(digests), dtype=np.uint8).reshape(-1, width)


def _high(raw: U8) -> npt.NDArray[np.uint64]:
    """The first 8 bytes of each digest as a big-endian number, so order is byte order."""
    if not len(raw):
        return np.zeros(0, dtype=np.uint64)
    return np.ascontiguousarray(raw[:, :8]).view(">u8").ravel().astype(np.uint64)


@dataclass
class SnapshotData:
    """Everything a matcher is built from, as arrays; ``banks`` rows are JSON-friendly."""

    seq: int
    identity: str
    mark: str | None  # fingerprint of the change-log row at ``seq``
    count: int
    banks: list[dict[str, Any]]
    bank: npt.NDArray[np.int32]
    pdq: npt.NDArray[np.bool_]
    exact: dict[str, ExactTable]
    index: PDQIndex
    frames: dict[str, FrameArrays] = dataclasses.field(default_factory=dict)


# --- database identity ------------------------------------------------------------------------


def database_identity(db: Database) -> str:
    """A fingerprint of this database: its first change-log row (timestamped to the
    microsecond when the first bank was made), so a snapshot of another database, even at
    the same URL, is never used."""
    with db.session() as s:
        row = s.execute(
            select(Change.seq, Change.bank_id, Change.op, Change.at).order_by(Change.seq).limit(1)
        ).first()
    text = "empty" if row is None else "|".join(str(v) for v in row)
    return hashlib.sha256(f"{db.dialect}|{text}".encode()).hexdigest()[:32]


def log_mark(db: Database, seq: int) -> str | None:
    """A fingerprint of the change-log row ``seq`` (None when there is none, or seq is 0)."""
    if seq <= 0:
        return None
    with db.session() as s:
        row = s.execute(
            select(Change.bank_id, Change.entry_id, Change.op, Change.at).where(Change.seq == seq)
        ).first()
    return None if row is None else "|".join(str(v) for v in row)


# --- the folder: lock, listing, pruning --------------------------------------------------------


@contextmanager
def snapshot_lock(folder: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold the folder's writer lock; yields False (without waiting) when ``wait`` is off and
    another process holds it. Released when the holder exits, even if it crashes."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def list_snapshots(folder: Path, identity: str) -> list[Path]:
    """This database's complete snapshots, newest (highest seq, then latest written) first."""
    if not folder.is_dir():
        return []
    prefix = f"{PREFIX}{identity[:12]}-"
    found = [p for p in folder.iterdir() if p.name.startswith(prefix) and p.is_dir()]
    return sorted(found, key=lambda p: p.name, reverse=True)


def snapshot_seq(path: Path) -> int:
    """The change-log seq a snapshot reflects, from its name (-1 when not a snapshot name)."""
    parts = path.name.split("-")
    return int(parts[2]) if len(parts) == 5 and parts[2].isdigit() else -1


def prune(folder: Path, identity: str, keep: int = 2) -> None:
    """Keep this database's ``keep`` newest snapshots; remove the rest, other databases'
    snapshots (one folder serves one database) and stale temporary directories.

    Workers that mapped a removed snapshot keep reading it: unlinked files stay readable.
    Call with the lock held.
    """
    mine = list_snapshots(folder, identity)
    for old in mine[keep:]:
        shutil.rmtree(old, ignore_errors=True)
    for other in folder.glob(f"{PREFIX}*"):
        if other.is_dir() and other not in mine:
            log.warning("removing matcher snapshot %s: it is from another database", other.name)
            shutil.rmtree(other, ignore_errors=True)
    cutoff = time.time() - 3600
    for tmp in folder.glob(".tmp-*"):
        try:
            if tmp.stat().st_mtime < cutoff:
                shutil.rmtree(tmp, ignore_errors=True)
        except OSError:
            pass


# --- writing and reading -----------------------------------------------------------------------


def _save(path: Path, arr: npt.NDArray[Any]) -> None:
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


def write_snapshot(folder: Path, data: SnapshotData) -> Path:
    """Write ``data`` as a new snapshot directory, atomically; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = f"{data.seq:016d}-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
    name = f"{PREFIX}{data.identity[:12]}-{stamp}"
    tmp = folder / f".tmp-{name}"
    tmp.mkdir()
    try:
        data.index.save(tmp / "index")
        arrays: dict[str, npt.NDArray[Any]] = {"bank": data.bank, "indexed": data.pdq}
        for kind, table in data.exact.items():
            arrays |= {f"exact-{kind}-hi": table.hi, f"exact-{kind}-raw": table.raw}
            arrays[f"exact-{kind}-ids"] = table.ids
        for kind, fa in data.frames.items():
            arrays |= {f"frames-{kind}-ids": fa.ids, f"frames-{kind}-pdq": fa.pdq}
            arrays |= {f"frames-{kind}-times": fa.times, f"frames-{kind}-quality": fa.quality}
        sizes = {}
        for key, arr in arrays.items():
            _save(tmp / f"{key}.npy", arr)
            sizes[f"{key}.npy"] = (tmp / f"{key}.npy").stat().st_size
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "seq": data.seq,
            "identity": data.identity,
            "mark": data.mark,
            "entries": data.count,
            "exact": sorted(data.exact),
            "frames": sorted(data.frames),
            "banks": data.banks,
            "files": sizes,
            "written_at": time.time(),
        }
        with open(tmp / MANIFEST, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        final = folder / name
        tmp.rename(final)
        _fsync_dir(folder)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _bad(path: Path, why: str) -> IndexFormatError:
    return IndexFormatError(f"matcher snapshot {path.name} is unusable: {why}")


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _bad(path, f"no {MANIFEST}") from None
    except (OSError, ValueError) as e:
        raise _bad(path, f"{MANIFEST} cannot be read ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _bad(path, "not a matcher snapshot")
    if manifest.get("version") != VERSION:
        raise _bad(path, f"format version {manifest.get('version')!r}, this is {VERSION}")
    for field in ("seq", "entries"):
        value = manifest.get(field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _bad(path, f"manifest field {field} is not a count")
    return manifest


def _array(path: Path, name: str, manifest: dict[str, Any], dtype: str, ndim: int,
           mode: str | None) -> npt.NDArray[Any]:  # fmt: skip
    f = path / f"{name}.npy"
    files = manifest.get("files") or {}
    try:
        if f.stat().st_size != files.get(f.name):
            raise _bad(path, f"{f.name} has the wrong size (truncated or replaced)")
        arr: npt.NDArray[Any] = np.load(f, mmap_mode=mode, allow_pickle=False)  # type: ignore[arg-type]
    except FileNotFoundError:
        raise _bad(path, f"{f.name} is missing") from None
    except (OSError, ValueError, EOFError) as e:
        raise _bad(path, f"{f.name} cannot be read ({e})") from None
    if arr.dtype != np.dtype(dtype) or arr.ndim != ndim:
        raise _bad(path, f"{f.name} is {arr.dtype} with {arr.ndim} dimensions")
    return arr


def load_snapshot(path: Path, *, mmap: bool = True) -> SnapshotData:
    """Open one snapshot directory; :class:`IndexFormatError` when it is damaged."""
    manifest = read_manifest(path)
    ro, cow = ("r", "c") if mmap else (None, None)
    bank = _array(path, "bank", manifest, "<i4", 1, cow)
    pdq = _array(path, "indexed", manifest, "|b1", 1, cow)
    if len(pdq) != len(bank):
        raise _bad(path, "bank and pdq arrays differ in length")
    if int(np.count_nonzero(bank)) != manifest["entries"]:
        raise _bad(path, "entry count does not match the entry-to-bank array")
    exact = {}
    for kind in manifest.get("exact") or []:
        try:
            width = get_signal_type(str(kind)).width
        except InvalidSignal:
            raise _bad(path, f"unknown signal type {kind!r}") from None
        if width is None:
            raise _bad(path, f"{kind} has no fixed width")
        hi = _array(path, f"exact-{kind}-hi", manifest, "<u8", 1, ro)
        raw = _array(path, f"exact-{kind}-raw", manifest, "|u1", 2, ro)
        ids = _array(path, f"exact-{kind}-ids", manifest, "<i8", 1, ro)
        if raw.shape != (len(hi), width) or len(ids) != len(hi):
            raise _bad(path, f"exact-{kind} arrays disagree in shape")
        if len(hi) > 1 and bool(np.any(hi[1:] < hi[:-1])):
            raise _bad(path, f"exact-{kind} is not sorted")
        exact[kind] = ExactTable(hi, raw, ids)
    frames = {}
    for kind in manifest.get("frames") or []:
        try:
            get_signal_type(str(kind))
        except InvalidSignal:
            raise _bad(path, f"unknown signal type {kind!r}") from None
        fa = FrameArrays(
            _array(path, f"frames-{kind}-ids", manifest, "<i8", 1, ro),
            _array(path, f"frames-{kind}-pdq", manifest, "|u1", 2, ro),
            _array(path, f"frames-{kind}-times", manifest, "<f8", 1, ro),
            _array(path, f"frames-{kind}-quality", manifest, "|u1", 1, ro),
        )
        n = len(fa.ids)
        if fa.pdq.shape != (n, 32) or len(fa.times) != n or len(fa.quality) != n:
            raise _bad(path, f"frames-{kind} arrays disagree in shape")
        frames[str(kind)] = fa
    index = PDQIndex.load(path / "index", mmap=mmap)
    if len(index) != int(np.count_nonzero(pdq & (bank != 0))):
        raise _bad(path, "the PDQ index and the entry arrays disagree")
    banks = manifest.get("banks")
    if not isinstance(banks, list) or not all(isinstance(b, dict) for b in banks):
        raise _bad(path, "manifest lacks the banks")
    mark = manifest.get("mark")
    return SnapshotData(
        seq=manifest["seq"],
        identity=str(manifest.get("identity")),
        mark=mark if isinstance(mark, str) else None,
        count=manifest["entries"],
        banks=banks,
        bank=bank,
        pdq=pdq,
        exact=exact,
        index=index,
        frames=frames,
    )
