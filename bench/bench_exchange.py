"""Federation throughput: a peer fetch into an empty bank, then a delta into the full bank.

A peer SafeSpace (a real app under uvicorn, on its own database) holds N MD5 entries in one
bank; a local database follows it with a ``safespace`` source. Printed per size:

- full fetch: N entries applied, seconds, entries applied per second (through HTTP, page
  checks, the bulk insert, the upstream-id mapping and the checkpoint, one transaction per
  page);
- delta: 10,000 new entries on the peer (or N/10 when N is smaller), fetched into the full
  bank, with the same figures;
- commit to matchable: from the delta's last page commit to a matcher (already loaded,
  refreshing from the change log) matching the last new hash;
- peak memory of this process (the peer shares it, so it is an upper bound);
- the reference, in the same process: the same N entries, then the same delta, imported
  with ``BankService.add_entries`` (the plain bulk import, no HTTP, no source) into an empty
  bank of a fresh SQLite database; each fetch rate is also printed as a ratio of it.

The peer serves its feed in the ``columns`` encoding its own client asks for (one array per
field); ``--format entries`` makes the client ask for the older one-object-per-entry pages.
The machine's load average is printed first: on a shared machine, compare ratios.

Usage: ``python bench/bench_exchange.py [--sizes 100000,1000000] [--page 10000]
[--format columns|entries] [--database-url URL]`` (SQLite files in a temporary folder by
default; the local side on ``--database-url`` when given, which is emptied first).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from safespace.access import KeyService  # noqa: E402
from safespace.api import create_app  # noqa: E402
from safespace.banks import BankService, Matcher  # noqa: E402
from safespace.banks.formats import HashRecord  # noqa: E402
from safespace.config import Settings  # noqa: E402
from safespace.exchanges import ExchangeService  # noqa: E402
from safespace.store import open_database  # noqa: E402


def _records(start: int, count: int) -> list[HashRecord]:
    return [HashRecord("md5", f"{i:032x}") for i in range(start, start + count)]


def _serve(app: object) -> tuple[str, object, threading.Thread]:
    import socket

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",  # type: ignore[arg-type]
                            access_log=False, lifespan="on")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}", server, thread


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reference(size: int, delta: int, folder: Path) -> tuple[float, float]:
    """Entries/s of a plain bulk import of the N entries into an empty bank, then the delta."""
    directory = folder / f"reference-{size}"
    directory.mkdir(parents=True)
    db = open_database(f"sqlite:///{directory / 'safespace.db'}")
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


def run(size: int, page: int, fmt: str, database_url: str | None, folder: Path) -> None:
    delta = min(10_000, max(1, size // 10))
    ref_full, ref_delta = _reference(size, delta, folder)
    print(f"size {size:,}: reference bulk import {ref_full:,.0f} entries/s, "
          f"delta {ref_delta:,.0f} entries/s")  # fmt: skip
    peer_dir = folder / f"peer-{size}"
    peer_url = f"sqlite:///{peer_dir / 'safespace.db'}"
    peer_dir.mkdir(parents=True)
    peer_db = open_database(peer_url)
    BankService(peer_db).create_bank("common")
    for start in range(0, size, 200_000):
        BankService(peer_db).add_entries("common", _records(start, min(200_000, size - start)))
    key = KeyService(peer_db).create("exchange", name="bench")[1]
    app = create_app(Settings(data_dir=peer_dir, database_url=peer_url))
    base, server, thread = _serve(app)
    try:
        local_url = database_url or f"sqlite:///{folder / f'local-{size}' / 'safespace.db'}"
        local = open_database(local_url)
        BankService(local).create_bank("mirror")
        exchanges = ExchangeService(local, master_key=os.urandom(32))
        exchanges.add("peer", type="safespace", bank="mirror", credentials={"api_key": key},
                      config={"url": base, "remote_bank": "common", "page_size": page})  # fmt: skip
        if fmt == "entries":  # the client of a SafeSpace before the columns encoding
            _ask_for_entries()
        began = time.perf_counter()
        report = exchanges.fetch_once("peer")
        took = time.perf_counter() - began
        assert report.ok, report.error
        assert report.added == size, (report.added, size)
        rate = report.added / took
        print(f"size {size:,}: full fetch {report.added:,} entries in {took:.2f} s, "
              f"{rate:,.0f} entries/s, {report.pages} pages, "
              f"{rate / ref_full:.2f}x the reference")  # fmt: skip
        matcher = Matcher.from_database(local)
        BankService(peer_db).add_entries("common", _records(size, delta))
        began = time.perf_counter()
        report = exchanges.fetch_once("peer")
        committed = time.perf_counter()
        assert report.ok, report.error
        assert report.added == delta, (report.added, delta)
        last = f"{size + delta - 1:032x}"
        while not matcher.match([("md5", last)]).matches:
            matcher.refresh()
        matchable = time.perf_counter() - committed
        took = committed - began
        rate = delta / took
        print(f"size {size:,}: delta {delta:,} entries in {took:.2f} s, {rate:,.0f} entries/s; "
              f"commit to matchable {matchable * 1000:.0f} ms; "
              f"{rate / ref_delta:.2f}x the reference")  # fmt: skip
        print(f"size {size:,}: peak memory {_peak_mib():,.0f} MiB (peer and local together)")
        local.close()
    finally:
        server.should_exit = True  # type: ignore[attr-defined]
        thread.join(10)
        peer_db.close()


def _ask_for_entries() -> None:
    """Make the peer source leave out ``format=columns`` (an older client's requests)."""
    from safespace.exchanges import _source_safespace as peer

    get = peer.PeerSource._get

    def _get(self: peer.PeerSource, params: dict[str, str | int]) -> object:
        return get(self, {k: v for k, v in params.items() if k != "format"})

    peer.PeerSource._get = _get  # type: ignore[method-assign,assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated bank sizes")
    parser.add_argument("--page", type=int, default=10_000, help="entries per feed page")
    parser.add_argument("--format", default="columns", choices=("columns", "entries"),
                        help="the feed encoding the client asks for")  # fmt: skip
    parser.add_argument("--database-url", default=None, help="the local side's database")
    args = parser.parse_args()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}, load average {load}, "
          f"feed format {args.format}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            run(size, args.page, args.format, args.database_url, Path(tmp))


if __name__ == "__main__":
    main()
