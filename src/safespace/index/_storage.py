"""The on-disk snapshot: a directory with ``manifest.json`` and plain ``.npy`` arrays.

Never pickle: every array is loaded with ``allow_pickle=False`` and checked against the
manifest (dtype, shape) and for the invariants the kernels rely on, so a damaged or foreign
snapshot raises :class:`IndexFormatError` instead of crashing or answering wrongly.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from safespace.errors import IndexFormatError, InvalidInput
from safespace.index import _kernels as kern
from safespace.index._plan import plan_from
from safespace.index._segment import Segment, Tables

FORMAT = "safespace-pdq-index"
VERSION = 1
MANIFEST = "manifest.json"

# name -> (dtype, shape given rows n and chunk count m)
_SEGMENT_FILES: dict[str, np.dtype[Any]] = {
    "ids": np.dtype("<i8"),
    "hashes": np.dtype("|u1"),
    "dead": np.dtype("|b1"),
    "offsets": np.dtype("<u4"),
    "entries": np.dtype("<u4"),
}


def _write(path: Path, arr: npt.NDArray[Any]) -> None:
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


def save(path: Path, segments: list[Segment], buf_ids: npt.NDArray[np.int64],
         buf_hashes: npt.NDArray[np.uint8]) -> None:  # fmt: skip
    """Write a complete snapshot next to ``path``, then swap it in with renames."""
    if path.exists() and not (
        path.is_dir() and ((path / MANIFEST).exists() or not any(path.iterdir()))
    ):
        raise InvalidInput(f"refusing to overwrite {path}: it is not a PDQ index directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        entries: list[dict[str, Any]] = []
        for k, seg in enumerate(segments):
            assert seg.tables is not None
            d = tmp / f"seg-{k:04d}"
            d.mkdir()
            t = seg.tables
            arrays: dict[str, npt.NDArray[Any]] = {"ids": seg.ids, "hashes": seg.hashes}
            arrays["dead"] = seg.dead
            arrays |= {"offsets": t.offsets, "entries": t.entries}
            for name, arr in arrays.items():
                _write(d / f"{name}.npy", arr)
            entries.append({
                "dir": d.name,
                "rows": len(seg),
                "live": seg.live,
                "widths": list(t.plan.widths),
                "top_bits": list(t.plan.tbits),
            })  # fmt: skip
        (tmp / "buffer").mkdir()
        _write(tmp / "buffer" / "ids.npy", buf_ids)
        _write(tmp / "buffer" / "hashes.npy", buf_hashes)
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "byte_order": "little",
            "entries": sum(s.live for s in segments) + len(buf_ids),
            "segments": entries,
            "buffer": {"dir": "buffer", "rows": len(buf_ids)},
        }
        with open(tmp / MANIFEST, "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        old = None
        if path.exists():
            old = path.parent / f".{path.name}.old-{uuid.uuid4().hex}"
            path.rename(old)
        tmp.rename(path)
        if old is not None:
            # Files still memory-mapped by a loaded index stay readable after unlinking.
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


_MADV_WILLNEED = 3
_MADV_HUGEPAGE = 14
_HUGE_FROM = 1 << 22  # arrays from this size are mapped with huge pages where the kernel can
_MADV_POPULATE_READ = 22  # Linux 5.14+: fault pages in without touching them one by one
_PAGE = 4096
_TOUCH_STEP = 1 << 26  # bytes per numpy pass when pages are touched by reading


def _madvise(arr: npt.NDArray[Any], advice: int) -> bool:
    """madvise over an array's pages, through ctypes (which releases the GIL meanwhile)."""
    if not sys.platform.startswith("linux") or arr.nbytes == 0:
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return False
    start = arr.ctypes.data & ~(_PAGE - 1)
    length = arr.ctypes.data + arr.nbytes - start
    fn = libc.madvise
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    fn.restype = ctypes.c_int
    return bool(fn(start, length, advice) == 0)


def prefault(arrays: list[npt.NDArray[Any]]) -> None:
    """Bring memory-mapped arrays into memory and into this process's page tables.

    Searches right after a memory-mapped load otherwise fault pages in one at a time, and
    each fault of a cold page waits on the disk: the first query at 100M took seconds. This
    runs in a background thread (``PDQIndex.load``): first a read-ahead hint for every
    array, then each array populated in turn (or, on kernels without MADV_POPULATE_READ,
    read one byte a page).
    """
    for arr in arrays:
        _madvise(arr, _MADV_WILLNEED)
    for arr in arrays:
        if _madvise(arr, _MADV_POPULATE_READ):
            continue
        flat = arr.reshape(-1).view(np.uint8)
        for at in range(0, flat.nbytes, _TOUCH_STEP):
            np.bitwise_or.reduce(flat[at : at + _TOUCH_STEP : _PAGE])


def _bad(path: Path, why: str) -> IndexFormatError:
    return IndexFormatError(f"PDQ index at {path} is unusable: {why}")


def _load_array(path: Path, name: str, dtype: np.dtype[Any], shape: tuple[int, ...],
                mmap: bool) -> npt.NDArray[Any]:  # fmt: skip
    f = path / f"{name}.npy"
    try:
        arr: npt.NDArray[Any] = np.load(f, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise _bad(path, f"{name}.npy is missing") from None
    except (OSError, ValueError, EOFError) as e:
        raise _bad(path, f"{name}.npy cannot be read ({e})") from None
    if arr.dtype != dtype or arr.shape != shape:
        raise _bad(path, f"{name}.npy is {arr.dtype}{arr.shape}, expected {dtype}{shape}")
    if mmap and arr.nbytes >= _HUGE_FROM:
        # Before anything reads the mapping: its page faults then read the file in 2 MiB
        # folios that the kernel maps as huge pages (fewer TLB misses per probe).
        _madvise(arr, _MADV_HUGEPAGE)
    return arr


def _int(value: Any, path: Path, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _bad(path, f"manifest field {what} is not a count")
    return value


def load(
    path: Path, mmap: bool
) -> tuple[list[Segment], npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    try:
        with open(path / MANIFEST, encoding="utf-8") as f:
            manifest = json.load(f)
    except FileNotFoundError:
        raise _bad(path, f"no {MANIFEST}") from None
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise _bad(path, f"{MANIFEST} cannot be read ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _bad(path, f"not a {FORMAT} manifest")
    if manifest.get("version") != VERSION:
        raise _bad(
            path, f"unsupported format version {manifest.get('version')!r} (this is {VERSION})"
        )
    if manifest.get("byte_order") != "little" or sys.byteorder != "little":
        raise _bad(path, "only little-endian snapshots on little-endian machines are supported")
    seg_list = manifest.get("segments")
    buf = manifest.get("buffer")
    if not isinstance(seg_list, list) or not isinstance(buf, dict):
        raise _bad(path, "manifest lacks segments or buffer")
    segments = [_load_segment(path, entry, mmap) for entry in seg_list]
    bdir = path / str(buf.get("dir", "buffer"))
    brows = _int(buf.get("rows"), path, "buffer.rows")
    buf_ids = np.array(_load_array(bdir, "ids", np.dtype("<i8"), (brows,), False))
    buf_hashes = np.array(_load_array(bdir, "hashes", np.dtype("|u1"), (brows, 32), False))
    if len(np.unique(buf_ids)) != brows:
        raise _bad(path, "buffer ids are not unique")
    total = sum(s.live for s in segments) + brows
    if manifest.get("entries") != total:
        raise _bad(path, f"manifest says {manifest.get('entries')!r} entries, arrays hold {total}")
    return segments, buf_ids, buf_hashes


def _load_segment(path: Path, entry: Any, mmap: bool) -> Segment:
    if not isinstance(entry, dict):
        raise _bad(path, "a segment entry is not an object")
    d = path / str(entry.get("dir"))
    if d.parent != path:
        raise _bad(path, "a segment directory is outside the snapshot")
    n = _int(entry.get("rows"), path, "segment rows")
    widths, tbits = entry.get("widths"), entry.get("top_bits")
    plan = None
    if (
        isinstance(widths, list)
        and isinstance(tbits, list)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in widths + tbits)
    ):
        plan = plan_from(widths, tbits)
    if plan is None:
        raise _bad(path, f"{d.name} has an invalid chunk layout")
    if n > 1 << plan.row_bits:
        raise _bad(path, f"{d.name} has more rows than its table entries can number")
    shapes = {
        "ids": (n,),
        "hashes": (n, 32),
        "dead": (n,),
        "offsets": (plan.offsets_len,),
        "entries": (plan.m, n),
    }
    arrs = {
        name: _load_array(d, name, dtype, shapes[name], mmap and name != "dead")
        for name, dtype in _SEGMENT_FILES.items()
    }
    ids = arrs["ids"]
    if n > 1 and not bool(np.all(ids[1:] > ids[:-1])):
        raise _bad(path, f"{d.name} ids are not strictly increasing")
    tb = np.array(plan.tbits, dtype=np.int64)
    if not kern.check_tables(n, tb, plan.off_base, plan.row_bits, arrs["offsets"], arrs["entries"]):
        raise _bad(path, f"{d.name} tables are damaged")
    dead = np.array(arrs["dead"], dtype=np.bool_)
    tables = Tables(plan, arrs["offsets"], arrs["entries"])
    seg = Segment(ids, arrs["hashes"], dead, tables)
    if entry.get("live") != seg.live:
        raise _bad(path, f"{d.name} live count does not match its tombstones")
    return seg
