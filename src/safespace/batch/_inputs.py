"""What a batch reads: files below a local folder, or objects below an fsspec URL.

A URL (``s3://bucket/uploads``, ``gs://…``, ``memory://tree``) needs the ``cluster`` extra
(fsspec, plus the filesystem's own package such as ``s3fs``). Workers read objects
themselves, so a cluster's workers need the same access; a filesystem that lives inside one
process (``memory://``) is read here and its bytes sent with the task.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib
import json
import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from safespace.errors import InvalidInput, NotConfigured, SafeSpaceError
from safespace.signals import DecodeLimits, Signals, hash_bytes
from safespace.signals._video_query import video_query

__all__ = [
    "Input",
    "default_state_path",
    "hash_items",
    "is_url",
    "list_inputs",
    "relative_name",
    "tune_malloc",
]

_PROCESS_LOCAL = {"memory"}  # filesystems another process cannot see

Input = tuple[str, bytes | None]  # (path or URL, its bytes when read here)
Hashed = tuple[str, Signals | None, str | None, str | None]  # path, signals, error, code


def default_state_path(data_dir: Path, url: str, banks: Iterable[str], kind: str = "scans") -> Path:
    """The resume file of a run over ``url`` (a folder's comes from ``safespace._scan``)."""
    key = json.dumps([url.rstrip("/"), sorted(banks)]).encode()
    return data_dir / kind / f"{hashlib.sha256(key).hexdigest()[:16]}.jsonl"


def is_url(root: str) -> bool:
    return "://" in root and not root.startswith("file://")


def _fs(url: str) -> tuple[Any, str]:
    try:
        fsspec: Any = importlib.import_module("fsspec")  # the cluster extra; no stubs
    except ImportError:
        raise NotConfigured(
            "reading URLs needs the cluster extra: pip install 'safespace[cluster]'"
        ) from None
    try:
        fs, path = fsspec.core.url_to_fs(url)
        return fs, str(path)
    except (ImportError, ValueError) as exc:
        raise NotConfigured(f"{url}: {exc}") from None


def list_inputs(root: str) -> tuple[list[str], bool]:
    """Every file below ``root`` in a stable order, and whether their bytes must be read here
    (a process-local filesystem) rather than by the workers."""
    from safespace._scan import iter_files

    if not is_url(root):
        folder = Path(root.removeprefix("file://"))
        if not folder.is_dir():
            raise InvalidInput(f"{root}: not a folder")
        return [str(p) for p in iter_files(folder)], False
    fs, path = _fs(root)
    if not fs.isdir(path):
        raise InvalidInput(f"{root}: not a folder")
    names = sorted(fs.find(path, withdirs=False))
    protocol = fs.protocol if isinstance(fs.protocol, str) else fs.protocol[0]
    return [fs.unstrip_protocol(n) for n in names], protocol in _PROCESS_LOCAL


def read_here(url: str) -> bytes:
    fs, path = _fs(url)
    return bytes(fs.cat_file(path))


def relative_name(root: str, item: str) -> str:
    """``item`` relative to ``root``, with forward slashes (a backfill's content id)."""
    if is_url(root):
        _, base = _fs(root)
        _, path = _fs(item)
        return path[len(base) :].lstrip("/") if path.startswith(base) else path
    return Path(item).relative_to(Path(root.removeprefix("file://"))).as_posix()


def _hash_input(item: str, data: bytes | None, exact: bool, limits: DecodeLimits) -> Hashed:
    if data is None and not is_url(item):
        from safespace._scan import _hash_one

        return _hash_one(item, exact, limits)  # the local scan's own hashing, unchanged
    try:
        if data is None:
            fs, path = _fs(item)
            with fs.open(path, "rb") as fh:
                data = fh.read(limits.max_bytes + 1)  # one byte over: refused as too large
        signals = hash_bytes(data, exact=exact, limits=limits)
        return item, video_query(data, signals, threads=1), None, None  # a video: its frames
    except SafeSpaceError as exc:
        return item, None, str(exc), exc.code
    except OSError as exc:
        return item, None, f"cannot read {item}: {exc.strerror or exc}", "io-error"


# glibc mallopt parameters (<malloc.h>) and the sizes a batch worker wants
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 32 * 2**20  # glibc's own ceiling for its dynamic threshold (64-bit)
_TRIM_THRESHOLD = 2 * _MMAP_THRESHOLD  # what the dynamic rule sets beside it
_malloc_tuned = False


def tune_malloc() -> bool:
    """Undo, in this worker process, what a fixed ``MALLOC_TRIM_THRESHOLD_`` does to decoding.

    Dask's nanny starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536``
    (``distributed.nanny.pre-spawn-environ``). Setting any trim threshold turns off glibc's
    dynamic mmap threshold, so each multi-megabyte buffer of an image decode is mmap'd and
    unmapped again, page faults every time: hashing costs about twice the CPU (measured in
    bench/bench_engine.py). When that variable is set (and no mmap threshold was chosen), fix
    the mmap threshold at glibc's dynamic ceiling and the trim threshold at twice it, as the
    dynamic rule would. Once per process; True when it changed something.
    """
    global _malloc_tuned
    if _malloc_tuned:
        return False
    _malloc_tuned = True
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    return bool(
        mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    )


def hash_items(items: Sequence[Input], exact: bool, limits: DecodeLimits) -> list[Hashed]:
    """A task: hash a chunk of inputs on a worker; a file's fault is its own result."""
    tune_malloc()
    return [_hash_input(item, data, exact, limits) for item, data in items]
