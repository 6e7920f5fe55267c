"""Scan a folder tree against the banks: hash in a process pool, match in this process.

A scan is resumable: every finished file is appended to a state file (JSON lines) and
flushed at once, so an interrupted scan started again with the same state file skips what
is done and its summary still covers the whole tree.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safespace.errors import SafeSpaceError
from safespace.signals import DecodeLimits, Signals, hash_file
from safespace.signals._video_query import video_query

__all__ = ["FileOutcome", "ScanSummary", "default_state_path", "iter_files", "scan"]

STATE_VERSION = 1


@dataclass
class FileOutcome:
    """What one file gave: its signals and matches, or an error."""

    path: str
    signals: dict[str, Any] | None = None
    matches: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    error_code: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "signals": self.signals,
            "matches": self.matches,
            "error": self.error,
            "error_code": self.error_code,
        }


@dataclass
class ScanSummary:
    root: str
    files: int = 0
    matched_files: int = 0
    matches: int = 0
    errors: int = 0
    resumed: int = 0
    error_paths: list[dict[str, str]] = field(default_factory=list)

    def add(self, outcome: FileOutcome) -> None:
        self.files += 1
        if outcome.error is not None:
            self.errors += 1
            self.error_paths.append({"path": outcome.path, "error": outcome.error})
        if outcome.matches:
            self.matched_files += 1
            self.matches += len(outcome.matches)

    def to_json(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "files": self.files,
            "matched_files": self.matched_files,
            "matches": self.matches,
            "errors": self.errors,
            "resumed": self.resumed,
            "error_paths": self.error_paths,
        }


def iter_files(root: Path) -> Iterator[Path]:
    """Regular files below ``root``, in a stable order, not following links to folders."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                yield path


def default_state_path(data_dir: Path, root: Path, banks: Iterable[str]) -> Path:
    key = json.dumps([str(root.resolve()), sorted(banks)]).encode()
    return data_dir / "scans" / f"{hashlib.sha256(key).hexdigest()[:16]}.jsonl"


def _hash_one(
    path: str, exact: bool, limits: DecodeLimits
) -> tuple[str, Signals | None, str | None, str | None]:
    try:
        signals = hash_file(path, exact=exact, limits=limits)
        return path, video_query(path, signals, threads=1), None, None  # a video: its frames
    except SafeSpaceError as exc:
        return path, None, str(exc), exc.code
    except OSError as exc:
        return path, None, f"cannot read file: {exc.strerror or exc}", "io-error"


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
_WATCH_SECONDS = 1.0


def worker_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of hashing processes that die with this one (:func:`_exit_with_parent`).

    Spawned, not forked. A fork copies this process as it is at that moment, locks held by
    its other threads included (PyAV's, a logging handler's, a server's); a worker that then
    needs one of them waits for ever. Seen in CI: a backfill's worker stuck converting a
    video frame, and the backfill with it. A spawned worker starts clean and imports what
    it needs (once per worker: about 0.6 s on a 2-core test machine).
    """
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    )


def _exit_with_parent(parent: int) -> None:
    """Pool initializer: end this worker when the scan that started it dies (even ``kill -9``).

    On Linux the kernel sends SIGKILL when the parent exits (``PR_SET_PDEATHSIG``); a daemon
    thread that watches ``os.getppid()`` does the same everywhere else, and covers a parent
    that died before the request was made.
    """
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still works
    if os.getppid() != parent:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_WATCH_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="safespace-scan-parent-watch", daemon=True).start()


def _load_state(state_path: Path) -> dict[str, FileOutcome]:
    done: dict[str, FileOutcome] = {}
    if not state_path.exists():
        return done
    with state_path.open("r", encoding="utf-8") as fh:
        for line in fh:
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by an interruption: that file is simply redone
            if item.get("version") == STATE_VERSION and "path" in item:
                done[item["path"]] = FileOutcome(
                    path=item["path"],
                    signals=item.get("signals"),
                    matches=item.get("matches") or [],
                    error=item.get("error"),
                    error_code=item.get("error_code"),
                )
    return done


MatchFn = Callable[[Signals], list[dict[str, Any]]]


def scan(
    root: Path,
    match: MatchFn,
    *,
    state_path: Path,
    workers: int | None = None,
    exact: bool = False,
    limits: DecodeLimits,
    on_outcome: Callable[[FileOutcome, bool], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> ScanSummary:
    """Hash and match every file below ``root``; ``on_outcome(outcome, resumed)`` sees each."""
    files = [str(p) for p in iter_files(root)]
    if on_total:
        on_total(len(files))
    state_path.parent.mkdir(parents=True, exist_ok=True)
    done = _load_state(state_path)
    summary = ScanSummary(root=str(root))
    todo: list[str] = []
    for path in files:
        if path in done:
            summary.add(done[path])
            summary.resumed += 1
            if on_outcome:
                on_outcome(done[path], True)
        else:
            todo.append(path)
    workers = max(1, workers or os.cpu_count() or 1)
    pool_of = worker_pool(workers)
    with state_path.open("a", encoding="utf-8") as state, pool_of as pool:
        pending: set[Future[tuple[str, Signals | None, str | None, str | None]]] = set()
        queue = iter(todo)
        window = workers * 4

        def refill() -> None:
            for path in queue:
                pending.add(pool.submit(_hash_one, path, exact, limits))
                if len(pending) >= window:
                    break

        try:
            refill()
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    pending.discard(fut)
                    path, signals, error, code = fut.result()
                    outcome = FileOutcome(path=path, error=error, error_code=code)
                    if signals is not None:
                        outcome.signals = signals.as_dict()
                        outcome.matches = match(signals)
                    record = {"version": STATE_VERSION, **outcome.to_json()}
                    state.write(json.dumps(record) + "\n")
                    state.flush()
                    summary.add(outcome)
                    if on_outcome:
                        on_outcome(outcome, False)
                refill()
        except BaseException:
            # Interrupted: drop queued work at once; what finished is already in the state file.
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return summary
