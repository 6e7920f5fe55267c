"""Batch scans and backfills on an engine, resumable through a JSON-lines state file.

The client (the process running the command) is the only writer: workers hash and return,
the client matches or stores each result, then appends its line to the state file and
flushes it. So whatever dies - a worker (the scheduler reruns its tasks), the scheduler or the
client - the state file holds exactly the files that were finished, and the same command
started again skips them. A file redone after a crash between its effect and its line is
harmless: matching has no effect, and the content store refreshes a row it already has
instead of adding one. An exclusive lock on the state file keeps two clients from sharing it.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol, TypeVar

from safespace._scan import STATE_VERSION, FileOutcome, ScanSummary, _load_state
from safespace.batch._engines import Engine
from safespace.batch._inputs import Hashed, Input, hash_items, list_inputs, read_here
from safespace.errors import Conflict, SafeSpaceError
from safespace.signals import DecodeLimits, Signals

__all__ = ["BackfillSummary", "ContentSink", "run_backfill", "run_scan"]

MatchFn = Callable[[Signals], list[dict[str, Any]]]
T = TypeVar("T")


class ContentSink(Protocol):
    """Where a backfill puts hashes: ``remember`` keeps (or refreshes) one content id's
    hashes and returns how many rows it added (the retro content store does this)."""

    def remember(self, content_id: str, signals: object) -> int: ...


@contextmanager
def _state_file(state_path: Path) -> Iterator[IO[str]]:
    state_path.parent.mkdir(parents=True, exist_ok=True)
    with state_path.open("a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(f"{state_path} is in use by another run") from None
        fh.seek(0, 2)
        if fh.tell():
            fh.seek(fh.tell() - 1)
            if fh.read(1) != "\n":  # a line cut short by a crash: end it, it is ignored
                fh.write("\n")
        yield fh


READ_HERE_TASK = 64  # files a task carries at most when their bytes travel with it


def task_sizes(total: int, workers: int, most: int) -> Iterator[int]:
    """Files per task, in the order tasks are handed out (guided self-scheduling).

    Each task takes an even share of the files not yet handed out, as if they were cut into
    twice as many tasks as there are workers, but at most ``most`` and at least an eighth of
    it: tasks are large while much is left, which spreads the engine's per-task cost over
    many files, and shrink towards the end, so no worker is still on a long task while the
    others have nothing left to do. A small tree is shared among all the workers.
    """
    floor = max(1, min(most // 8, total // (4 * workers)))
    left = total
    while left > 0:
        size = min(left, max(floor, min(most, -(-left // (2 * workers)))))
        yield size
        left -= size


def _jobs(
    todo: list[str], sizes: Iterable[int], read_local: bool, exact: bool, limits: DecodeLimits
) -> Iterator[tuple[list[Input], bool, DecodeLimits]]:
    start = 0
    for size in sizes:
        part = todo[start : start + size]
        start += size
        yield [(p, read_here(p) if read_local else None) for p in part], exact, limits


def _hashed(
    engine: Engine, todo: list[str], read_local: bool, exact: bool, limits: DecodeLimits
) -> Iterator[Hashed]:
    most = min(engine.chunk, READ_HERE_TASK) if read_local else engine.chunk
    sizes = task_sizes(len(todo), engine.workers, most)
    jobs = _jobs(todo, sizes, read_local, exact, limits)
    for results in engine.imap_unordered(hash_items, jobs, window=engine.workers * 4):
        yield from results


def _pending(
    root: str,
    state_path: Path,
    load_done: Callable[[Path], dict[str, T]],
    on_resumed: Callable[[T], None],
    *,
    engine: Engine,
    exact: bool,
    limits: DecodeLimits,
    on_total: Callable[[int], None] | None,
) -> Iterator[tuple[Hashed, Callable[[dict[str, Any]], None]]]:
    """The resumable loop scans and backfills share: files already in the state file go to
    ``on_resumed``; each other file is hashed on the engine and yielded with ``record``, which
    appends its line to the state file (and flushes) once the caller has done its effect."""
    files, read_local = list_inputs(root)
    if on_total:
        on_total(len(files))
    with _state_file(state_path) as state:
        done = load_done(state_path)
        todo: list[str] = []
        for path in files:
            if path in done:
                on_resumed(done[path])
            else:
                todo.append(path)

        def record(line: dict[str, Any]) -> None:
            state.write(json.dumps(line) + "\n")
            state.flush()

        for hashed in _hashed(engine, todo, read_local, exact, limits):
            yield hashed, record


def run_scan(
    root: str,
    match: MatchFn,
    *,
    engine: Engine,
    state_path: Path,
    exact: bool = False,
    limits: DecodeLimits,
    on_outcome: Callable[[FileOutcome, bool], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> ScanSummary:
    """``safespace._scan.scan`` on any engine and for URLs; the same state file format."""
    summary = ScanSummary(root=root)

    def resumed(outcome: FileOutcome) -> None:
        summary.add(outcome)
        summary.resumed += 1
        if on_outcome:
            on_outcome(outcome, True)

    pending = _pending(
        root, state_path, _load_state, resumed,
        engine=engine, exact=exact, limits=limits, on_total=on_total,
    )  # fmt: skip
    for (path, signals, error, code), record in pending:
        outcome = FileOutcome(path=path, error=error, error_code=code)
        if signals is not None:
            outcome.signals = signals.as_dict()
            outcome.matches = match(signals)
        record({"version": STATE_VERSION, **outcome.to_json()})
        summary.add(outcome)
        if on_outcome:
            on_outcome(outcome, False)
    return summary


@dataclass
class BackfillSummary:
    root: str
    files: int = 0
    stored: int = 0  # files hashed into the store (their rows added or refreshed)
    rows_added: int = 0  # new rows (a file stored before refreshes its rows instead)
    errors: int = 0
    resumed: int = 0
    error_paths: list[dict[str, str]] = field(default_factory=list)

    def add(self, item: dict[str, Any]) -> None:
        self.files += 1
        if item.get("error") is not None:
            self.errors += 1
            self.error_paths.append({"path": item["path"], "error": item["error"]})
        else:
            self.stored += 1
            self.rows_added += int(item.get("rows_added") or 0)

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _load_backfill(state_path: Path) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    if state_path.exists():
        for line in state_path.read_text(encoding="utf-8").splitlines():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue  # cut short by a crash: that file is redone
            if item.get("version") == STATE_VERSION and "path" in item:
                done[item["path"]] = item
    return done


def run_backfill(
    root: str,
    sink: ContentSink,
    content_id: Callable[[str], str],
    *,
    engine: Engine,
    state_path: Path,
    limits: DecodeLimits,
    on_item: Callable[[dict[str, Any], bool], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> BackfillSummary:
    """Hash every file below ``root`` into ``sink`` under ``content_id(path)``; resumable."""
    summary = BackfillSummary(root=root)

    def resumed(item: dict[str, Any]) -> None:
        summary.add(item)
        summary.resumed += 1
        if on_item:
            on_item(item, True)

    pending = _pending(
        root, state_path, _load_backfill, resumed,
        engine=engine, exact=False, limits=limits, on_total=on_total,
    )  # fmt: skip
    for (path, signals, error, code), record in pending:
        item: dict[str, Any] = {"version": STATE_VERSION, "path": path, "content_id": None}
        item.update(rows_added=0, error=error, error_code=code)
        if signals is not None:
            try:
                item["content_id"] = cid = content_id(path)
                item["rows_added"] = sink.remember(cid, signals)
            except SafeSpaceError as exc:  # an unusable content id, say
                item.update(error=str(exc), error_code=exc.code)
        record(item)
        summary.add(item)
        if on_item:
            on_item(item, False)
    return summary
