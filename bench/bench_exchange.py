"""Federation throughput: a peer fetch into an empty bank, then a delta into the full bank.

A peer SafeSpace (a real app under uvicorn, in its own process, on its own SQLite database,
as another machine would be) holds N MD5 entries (the MD5s of 0, 1, 2, ...) in one bank; a
local database follows it with a ``safespace`` source. Printed per size:

- the peer's own serve rate: every page of the listing read and decoded by a plain HTTP
  client, nothing applied, with the peer process's CPU seconds;
- full fetch: N entries applied, seconds, entries applied per second (through HTTP, page
  checks, the bulk insert, the upstream-id mapping and the checkpoint, in the service's
  transactions of grouped pages), with this process's CPU seconds;
- delta: 10,000 new entries on the peer (or N/10 when N is smaller), fetched into the full
  bank, with the same figures;
- commit to matchable: from the delta fetch's last commit to a matcher (already loaded, idle
  during the fetch, then refreshing from the change log) matching the last new hash; and
  for a second delta while a worker-like thread refreshes the matcher every 100 ms during
  the fetch ("with the fetch running");
- peak memory of this process and of the peer;
- on SQLite, the size of the write-ahead log's file after the full fetch (SQLite keeps the
  file at its largest size for reuse; a fetch checkpoints it only past 256 MiB);
- the reference, in this process: the same N entries, then the same delta, imported with
  ``BankService.add_entries`` (the plain bulk import, no HTTP, no source) into an empty bank
  of a fresh database of the local kind; each fetch rate is also printed as a ratio of it;
- the floor: N narrow rows (the five columns a fetch stages per entry, ``extra`` NULL as a
  plain entry's is) written into a temporary table of a fresh database of the local kind,
  as a fetch stages them (``banks._bulk.insert_chunk``: the varying columns as JSON arrays
  on SQLite, ``COPY`` on PostgreSQL) and nothing else: no fetch can apply faster than this
  on this machine.

The peer serves its feed in the ``columns`` encoding its own client asks for (one array per
field); ``--format entries`` makes the client ask for the older one-object-per-entry pages.
The machine's load average is printed first and last: on a shared machine, compare ratios.

Usage: ``python bench/bench_exchange.py [--sizes 100000,1000000] [--page 10000]
[--format columns|entries] [--database-url URL]`` (SQLite files in a temporary folder by
default; with ``--database-url`` of a PostgreSQL server, the local side, the reference and
the floor each use a fresh database created there and dropped at the end).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import httpx  # noqa: E402

from safespace.access import KeyService  # noqa: E402
from safespace.banks import BankService, Matcher  # noqa: E402
from safespace.banks import _bulk as bulk  # noqa: E402
from safespace.banks.formats import HashRecord  # noqa: E402
from safespace.exchanges import ExchangeService  # noqa: E402
from safespace.store import open_database  # noqa: E402


def _md5(i: int) -> str:
    """The i-th test hash: the MD5 of its number, spread as real MD5s are (sequential
    values would share their first bytes and go into every index in order)."""
    return hashlib.md5(str(i).encode()).hexdigest()


def _records(start: int, count: int) -> list[HashRecord]:
    return [HashRecord("md5", _md5(i)) for i in range(start, start + count)]


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _serve_peer(folder: str) -> None:
    """The peer process: serve ``folder``'s database on a free port, printed first."""
    import uvicorn

    from safespace.api import create_app
    from safespace.config import Settings

    url = f"sqlite:///{Path(folder) / 'safespace.db'}"
    app = create_app(Settings(data_dir=Path(folder), database_url=url))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[sock])


@contextmanager
def _peer(folder: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-peer", str(folder)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        deadline = time.monotonic() + 120
        while True:
            try:
                # ready, not just up: the peer's matcher has loaded its bank, which would
                # otherwise take CPU from the first listing read (the serve rate)
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the peer did not start")
            time.sleep(0.1)
        yield base, proc
    finally:
        proc.terminate()
        proc.wait(30)


def _cpu_of(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` so far (0 where /proc is missing)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_of(pid: int) -> float:
    """Peak resident memory of process ``pid`` in MiB (0 where /proc is missing)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def _fresh(database_url: str | None, folder: Path, name: str) -> Iterator[str]:
    """A URL of a fresh, empty database of the local kind, dropped afterwards."""
    if database_url is None:
        directory = folder / name
        directory.mkdir(parents=True)
        yield f"sqlite:///{directory / 'safespace.db'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    db_name = f"safespace_bench_{os.getpid()}_{name.replace('-', '_')}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
        conn.execute(f'CREATE DATABASE "{db_name}"')
    try:
        yield url.set(database=db_name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def _reference(url: str, size: int, delta: int) -> tuple[float, float]:
    """Entries/s of a plain bulk import of the N entries into an empty bank, then the delta."""
    db = open_database(url)
    try:
        banks = BankService(db)
        banks.create_bank("reference")
        records = _records(0, size)
        began = time.perf_counter()
        banks.add_entries("reference", records)
        full = size / (time.perf_counter() - began)
        records = _records(size, delta)
        began = time.perf_counter()
        banks.add_entries("reference", records)
        return full, delta / (time.perf_counter() - began)
    finally:
        db.close()


def _floor(url: str, size: int) -> float:
    """Rows/s of writing N narrow rows into a temporary table and nothing else."""
    db = open_database(url)
    # a fetch leaves a plain entry's extra NULL: the move writes it around the upstream id
    rows = [("md5", _md5(i), None, None, str(i)) for i in range(size)]
    try:
        with db.transaction() as s:
            conn = s.connection()
            conn.exec_driver_sql(
                "CREATE TEMP TABLE floor_stage (signal_type VARCHAR(16), value VARCHAR(256), "
                "category VARCHAR(256), extra TEXT, upstream_id VARCHAR(256))"
            )
            names = ("signal_type", "value", "category", "extra", "upstream_id")
            began = time.perf_counter()
            for start in range(0, size, 50_000):
                bulk.insert_chunk(conn, "floor_stage", names, rows[start : start + 50_000])
            took = time.perf_counter() - began
            conn.exec_driver_sql("DROP TABLE floor_stage")
        return size / took
    finally:
        db.close()


def _serve_rate(base: str, key: str, page: int) -> tuple[int, float]:
    """(entries, seconds) to read and decode every page of the listing, applying nothing."""
    headers = {"Authorization": f"Bearer {key}"}
    seq, after, count = 0, None, 0
    began = time.perf_counter()
    with httpx.Client(timeout=300) as client:
        while True:
            params: dict[str, int | str] = {"seq": seq, "limit": page, "format": "columns"}
            if after is not None:
                params["after_id"] = after
            body = client.get(
                f"{base}/v1/exchange/banks/common/feed", params=params, headers=headers
            ).json()
            count += len(body["columns"]["id"])
            seq, after = body["cursor"]["seq"], body["cursor"]["after_id"]
            if after is None:  # the listing is done; the change log follows
                break
    return count, time.perf_counter() - began


def _matchable(matcher: Matcher, last: str, since: float) -> float:
    while not matcher.match([("md5", last)]).matches:
        matcher.refresh()
    return max(0.0, time.perf_counter() - since)


def run(size: int, page: int, fmt: str, database_url: str | None, folder: Path) -> None:
    delta = min(10_000, max(1, size // 10))
    with _fresh(database_url, folder, f"floor-{size}") as url:
        floor = _floor(url, size)
    print(f"size {size:,}: floor (narrow staging rows alone) {floor:,.0f} rows/s; "
          f"load average {_load()}")  # fmt: skip
    with _fresh(database_url, folder, f"reference-{size}") as url:
        ref_full, ref_delta = _reference(url, size, delta)
    print(f"size {size:,}: reference bulk import {ref_full:,.0f} entries/s, "
          f"delta {ref_delta:,.0f} entries/s")  # fmt: skip
    peer_dir = folder / f"peer-{size}"
    peer_dir.mkdir(parents=True)
    peer_db = open_database(f"sqlite:///{peer_dir / 'safespace.db'}")
    BankService(peer_db).create_bank("common")
    for start in range(0, size, 200_000):
        BankService(peer_db).add_entries("common", _records(start, min(200_000, size - start)))
    key = KeyService(peer_db).create("exchange", name="bench")[1]
    with _peer(peer_dir) as (base, proc), _fresh(database_url, folder, f"local-{size}") as url:
        cpu = _cpu_of(proc.pid)
        served, took = _serve_rate(base, key, page)
        print(f"size {size:,}: peer serves {served:,} entries in {took:.2f} s, "
              f"{served / took:,.0f} entries/s (pages read and decoded, nothing applied; "
              f"peer CPU {_cpu_of(proc.pid) - cpu:.2f} s)")  # fmt: skip
        local = open_database(url)
        BankService(local).create_bank("mirror")
        exchanges = ExchangeService(local, master_key=os.urandom(32))
        exchanges.add("peer", type="safespace", bank="mirror", credentials={"api_key": key},
                      config={"url": base, "remote_bank": "common", "page_size": page})  # fmt: skip
        if fmt == "entries":  # the client of a SafeSpace before the columns encoding
            _ask_for_entries()
        cpu, peer_cpu = time.process_time(), _cpu_of(proc.pid)
        began = time.perf_counter()
        report = exchanges.fetch_once("peer")
        took = time.perf_counter() - began
        assert report.ok, report.error
        assert report.added == size, (report.added, size)
        rate = report.added / took
        print(f"size {size:,}: full fetch {report.added:,} entries in {took:.2f} s, "
              f"{rate:,.0f} entries/s, {report.pages} pages, "
              f"{rate / ref_full:.2f}x the reference")  # fmt: skip
        print(f"size {size:,}: full fetch CPU: this process {time.process_time() - cpu:.2f} s, "
              f"the peer {_cpu_of(proc.pid) - peer_cpu:.2f} s; "
              f"{took * floor / size:.2f}x the floor's time; load average {_load()}")  # fmt: skip
        if url.startswith("sqlite:///"):  # the log's file keeps its largest size for reuse
            wal = Path(url.removeprefix("sqlite:///") + "-wal")
            print(f"size {size:,}: write-ahead log after the full fetch: "
                  f"{wal.stat().st_size / 2**20:,.1f} MiB on disk (its largest)")  # fmt: skip
        matcher = Matcher.from_database(local)
        BankService(peer_db).add_entries("common", _records(size, delta))
        began = time.perf_counter()
        report = exchanges.fetch_once("peer")
        committed = time.perf_counter()
        assert report.ok, report.error
        assert report.added == delta, (report.added, delta)
        idle = _matchable(matcher, _md5(size + delta - 1), committed)
        took = committed - began
        rate = delta / took
        print(f"size {size:,}: delta {delta:,} entries in {took:.2f} s, {rate:,.0f} entries/s; "
              f"commit to matchable {idle * 1000:.0f} ms; "
              f"{rate / ref_delta:.2f}x the reference")  # fmt: skip
        running = _delta_with_worker(exchanges, matcher, peer_db, size + delta, delta)
        print(f"size {size:,}: commit to matchable with the fetch running (a worker "
              f"refreshing every 100 ms): {running * 1000:.0f} ms")  # fmt: skip
        print(f"size {size:,}: peak memory {_peak_mib():,.0f} MiB (this process), "
              f"{_peak_of(proc.pid):,.0f} MiB (the peer)")  # fmt: skip
        local.close()
    peer_db.close()


def _delta_with_worker(
    exchanges: ExchangeService, matcher: Matcher, peer_db: object, start: int, delta: int
) -> float:
    """Seconds from a delta fetch's last commit to its last hash matching, while a thread
    refreshes the matcher every 100 ms (as a worker's freshness loop does) all along."""
    BankService(peer_db).add_entries("common", _records(start, delta))  # type: ignore[arg-type]
    last = _md5(start + delta - 1)
    stop = threading.Event()
    seen: list[float] = []

    def worker() -> None:
        while not stop.is_set():
            matcher.refresh()
            if not seen and matcher.match([("md5", last)]).matches:
                seen.append(time.perf_counter())
            stop.wait(0.1)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    report = exchanges.fetch_once("peer")
    committed = time.perf_counter()
    assert report.ok, report.error
    assert report.added == delta, (report.added, delta)
    while not seen:
        time.sleep(0.005)
    stop.set()
    thread.join(30)
    return max(0.0, seen[0] - committed)


def _ask_for_entries() -> None:
    """Make the peer source leave out ``format=columns`` (an older client's requests)."""
    from safespace.exchanges import _source_safespace as peer

    get = peer.PeerSource._get_raw

    def _get_raw(self: peer.PeerSource, params: dict[str, str | int]) -> bytes:
        return get(self, {k: v for k, v in params.items() if k != "format"})

    peer.PeerSource._get_raw = _get_raw  # type: ignore[method-assign,assignment]


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve-peer":
        _serve_peer(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated bank sizes")
    parser.add_argument("--page", type=int, default=10_000, help="entries per feed page")
    parser.add_argument("--format", default="columns", choices=("columns", "entries"),
                        help="the feed encoding the client asks for")  # fmt: skip
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server: the local side's fresh databases")  # fmt: skip
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}, load average {_load()}, "
          f"feed format {args.format}, local database "
          f"{'postgresql' if args.database_url else 'sqlite'}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            run(size, args.page, args.format, args.database_url, Path(tmp))
    print(f"done; load average {_load()}")


if __name__ == "__main__":
    main()
