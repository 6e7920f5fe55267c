"""Benchmark the HTTP service: cold start, freshness, and PDQ lookups per second over HTTP.

For each bank size N: builds (once, kept in --cache-dir) a SQLite bank of N random PDQ
hashes, starts ``safespace serve`` with --workers workers, and measures

- cold start: process start to every worker answering /readyz, without and with a snapshot;
- freshness: a hash added through another database handle, polled on fresh connections
  until every worker matches it (max over --trials);
- throughput and latency of ``POST /v1/match`` (JSON PDQ) with ``wrk`` in its own process;
- the same for HMA's ``GET /m/lookup?signal_type=pdq&signal=...`` (the same queries) and for
  ``/healthz`` (the floor: no work at all), measured in turn in the same sitting, and the
  ratios /m/lookup / /healthz (goal: at least 0.8) and /v1/match / /healthz;
- the in-process ``Matcher.match`` rate (the ceiling) and the workers' memory.

Usage::

    python bench/bench_service.py --sizes 1000000,10000000 --duration 20 --connections 32

The bank build is resumable: an interrupted run continues where it stopped.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from safespace.access import KeyService
from safespace.api._lookups import entries_for
from safespace.banks import BankService, Matcher
from safespace.banks.formats import HashRecord
from safespace.store import open_database

try:
    import psutil
except ImportError:  # the bench extra is not installed
    psutil = None

GOAL_RPS = 4000
GOAL_P99_MS = 20.0
GOAL_COLD_S = 5.0
GOAL_FRESH_S = 1.0
CHUNK = 500_000
BANK = "bench"


def raw_hashes(start: int, count: int) -> npt.NDArray[np.uint8]:
    """Deterministic random PDQ hashes number start..start+count, as bytes (resumable builds;
    ``start`` is a multiple of CHUNK)."""
    rng = np.random.default_rng(start)
    return rng.integers(0, 256, size=(count, 32), dtype=np.uint8)


def as_hex(rows: npt.NDArray[np.uint8]) -> list[str]:
    return [row.tobytes().hex() for row in rows]


def hashes(start: int, count: int) -> list[str]:
    """``raw_hashes`` as hex strings."""
    return as_hex(raw_hashes(start, count))


def value_ordered(n: int) -> npt.NDArray[np.uint8]:
    """The same n hashes as ``hashes(0..n)``, sorted by value (first 8 bytes).

    For banks far larger than memory's page cache: added in random order, every chunk
    touches pages all over the bank's two value indexes and each commit rewrites them (a
    100M build would write terabytes); in value order each chunk extends the indexes at
    their end. Only the order of the rows (and so their ids) differs."""
    raw = np.empty((n, 32), dtype=np.uint8)
    for start in range(0, n, CHUNK):
        raw[start : start + CHUNK] = raw_hashes(start, min(CHUNK, n - start))
    order = np.argsort(raw[:, :8].copy().view(">u8").ravel(), kind="stable")
    out: npt.NDArray[np.uint8] = raw[order]
    return out


def build_bank(folder: Path, n: int, order: str = "random") -> str:
    """The bank of n hashes in folder/safespace.db (added in chunks; resumes); the API key.

    ``order`` "random" adds them in generation order, "value" sorted (see value_ordered);
    a bank keeps the order it was started with (the cache folder's name says which)."""
    db = open_database(f"sqlite:///{folder / 'safespace.db'}")
    try:
        service = BankService(db)
        if BANK not in {b.name for b in service.list_banks()}:
            service.create_bank(BANK, description="random PDQ hashes for bench_service.py")
        have = next(b for b in service.list_banks() if b.name == BANK).entry_counts.get("pdq", 0)
        started = time.perf_counter()
        ordered = value_ordered(n) if order == "value" and have < n else None
        for start in range(have - have % CHUNK, n, CHUNK):
            count = min(CHUNK, n - start)
            if ordered is None:
                chunk = hashes(start, count)
            else:
                chunk = as_hex(ordered[start : start + count])
            service.add_entries(BANK, (HashRecord("pdq", h) for h in chunk))
            print(f"  bank: {start + count:,}/{n:,} ({time.perf_counter() - started:.0f} s)")
        key_file = folder / "key.txt"
        if not key_file.exists():
            key_file.write_text(KeyService(db).create("match", name="bench")[1])
        return key_file.read_text().strip()
    finally:
        db.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def request(port: int, method: str, path: str, body: Any = None, key: str = "") -> tuple[int, Any]:
    """One request on a fresh connection (so it may reach any worker)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        r = conn.getresponse()
        data = r.read()
        return r.status, json.loads(data) if data else None
    finally:
        conn.close()


class Server:
    def __init__(self, folder: Path, workers: int) -> None:
        self.port = free_port()
        self.workers = workers
        env = dict(os.environ, SAFESPACE_DATA_DIR=str(folder), SAFESPACE_RATE_LIMIT_PER_SECOND="0")
        env.pop("SAFESPACE_DATABASE_URL", None)
        exe = Path(sys.executable).with_name("safespace")
        cmd = [str(exe), "serve", "--port", str(self.port)]
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [*cmd, "--workers", str(workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(folder / "serve.log", "a"),  # noqa: SIM115
            start_new_session=True,
        )

    def wait_ready(self, confirm: int = 16, timeout: float = 900) -> tuple[float, float]:
        """Seconds until the first /readyz 200, and until every worker listens and then
        ``confirm`` fresh connections in a row all answered 200 (every worker ready).

        Each worker has its own socket: one that does not listen yet gets no connections,
        so the streak counts only once all of them listen (seen with psutil)."""
        first = None
        streak = 0
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("safespace serve exited; see serve.log in the cache folder")
            try:
                status, _ = request(self.port, "GET", "/readyz")
            except OSError:
                status = 0
            if status == 200:
                first = first or time.perf_counter() - self.started
                streak = streak + 1 if self.all_listening() else 0
                if streak >= confirm:
                    return first, time.perf_counter() - self.started
            else:
                streak = 0
            time.sleep(0.02)
        raise RuntimeError("the service did not become ready")

    def all_listening(self) -> bool:
        """Every worker process has its listening socket (True without psutil: unknown)."""
        if psutil is None:
            return True
        try:
            workers = [
                p
                for p in psutil.Process(self.proc.pid).children()
                if "resource_tracker" not in " ".join(p.cmdline())
            ]
            return len(workers) >= self.workers and all(
                any(
                    c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == self.port
                    for c in w.net_connections(kind="tcp")
                )
                for w in workers
            )
        except psutil.Error:
            return False

    def memory(self) -> list[tuple[int, int]]:
        """(RSS, USS) of each worker process, in bytes."""
        if psutil is None:
            return []
        out = []
        for child in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                info = child.memory_full_info()
                if info.rss > 100 << 20:  # workers hold the matcher; skip helper processes
                    out.append((info.rss, info.uss))
            except psutil.Error:
                pass
        return out

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def freshness(folder: Path, port: int, key: str, trials: int, probes: int) -> list[float]:
    """Seconds from commit until ``probes`` fresh connections in a row all match the hash."""
    db = open_database(f"sqlite:///{folder / 'safespace.db'}")
    service = BankService(db)
    delays = []
    try:
        for trial in range(trials):
            h = os.urandom(32).hex()
            service.add_entries(BANK, [HashRecord("pdq", h, note=f"freshness {trial}")])
            committed = time.perf_counter()
            body = {"signals": {"pdq": h}}
            while True:
                seen: list[bool] = []

                def probe(seen: list[bool] = seen, body: dict[str, Any] = body) -> None:
                    status, data = request(port, "POST", "/v1/match", body, key)
                    seen.append(status == 200 and bool(data["matched"]))

                threads = [threading.Thread(target=probe) for _ in range(probes)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                if all(seen):
                    delays.append(time.perf_counter() - committed)
                    break
                if time.perf_counter() - committed > 60:
                    delays.append(float("inf"))
                    break
            # keep the bank at N for the next run
            service.remove_entries(e.id for e in entries_for(db, BANK, [("pdq", h)]))
            time.sleep(0.3)
    finally:
        db.close()
    return delays


GOAL_HMA_VS_HEALTHZ = 0.8

# One line per request in BENCH_BODIES: "METHOD PATH" or "METHOD PATH BODY" (JSON, no spaces
# before it matters: the first two spaces split).
LUA = """
local reqs = {}
local f = io.open(os.getenv("BENCH_BODIES"), "r")
for line in f:lines() do
  local method, rest = line:match("^(%S+) (.*)$")
  local path, body = rest:match("^(%S+) (.*)$")
  if path == nil then path = rest end
  reqs[#reqs + 1] = {method, path, body}
end
f:close()
local i = 0
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
request = function()
  i = i % #reqs + 1
  local r = reqs[i]
  return wrk.format(r[1], r[2], nil, r[3])
end
"""


def match_lines(bodies: list[str]) -> list[str]:
    """``POST /v1/match`` with each query as JSON."""
    return [f"POST /v1/match {json.dumps({'signals': {'pdq': q}})}" for q in bodies]


def lookup_lines(bodies: list[str]) -> list[str]:
    """HMA's ``GET /m/lookup`` with each query in the query string."""
    return [f"GET /m/lookup?signal_type=pdq&signal={q}" for q in bodies]


HEALTHZ = ["GET /healthz"]


def queries(n: int, count: int, hit_ratio: float) -> list[str]:
    """PDQ queries: random ones (misses) and near-copies (0-15 bits off) of bank hashes."""
    rng = np.random.default_rng(12345)
    bank = raw_hashes(0, min(n, CHUNK))
    out = []
    for _ in range(count):
        if rng.random() < hit_ratio:
            raw = bank[int(rng.integers(0, len(bank)))].copy()
            for bit in rng.choice(256, size=int(rng.integers(0, 16)), replace=False):
                raw[bit // 8] ^= np.uint8(1 << (bit % 8))
            out.append(raw.tobytes().hex())
        else:
            out.append(rng.integers(0, 256, size=32, dtype=np.uint8).tobytes().hex())
    return out


def run_wrk(port: int, key: str, lines: list[str], conns: int, duration: int) -> dict[str, float]:
    """wrk over the requests in ``lines`` (see LUA), round robin."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-wrk-"))
    try:
        (tmp / "post.lua").write_text(LUA)
        (tmp / "bodies.txt").write_text("\n".join(lines) + "\n")
        env = dict(os.environ, BENCH_BODIES=str(tmp / "bodies.txt"), BENCH_KEY=key)
        cmd = ["wrk", "-t1", f"-c{conns}", f"-d{duration}s", "--latency", "-s", "post.lua"]
        out = subprocess.run(
            [*cmd, f"http://127.0.0.1:{port}"], cwd=tmp, env=env, capture_output=True, text=True
        ).stdout
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result: dict[str, float] = {}
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            result["rps"] = float(parts[1])
        elif len(parts) == 2 and parts[0] in ("50%", "99%"):
            result[parts[0]] = _ms(parts[1])
        elif "Non-2xx" in line:
            result["errors"] = float(parts[-1])
    if "rps" not in result:
        raise RuntimeError(f"wrk failed:\n{out}")
    return result


def _ms(text: str) -> float:
    for unit, scale in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    return float(text)


def in_process_rate(folder: Path, bodies: list[str]) -> tuple[float, float]:
    """Matcher.match calls per second in this process, and its load time from the snapshot."""
    import numba

    # One search thread, as each worker has (``index_threads``): no query split over threads.
    saved = numba.get_num_threads()
    numba.set_num_threads(1)
    db = open_database(f"sqlite:///{folder / 'safespace.db'}")
    try:
        started = time.perf_counter()
        m = Matcher.load_or_build(db, folder / "snapshots")
        load = time.perf_counter() - started
        for q in bodies[:200]:
            m.match([("pdq", q)])
        started = time.perf_counter()
        for q in bodies:
            m.match([("pdq", q)])
        return len(bodies) / (time.perf_counter() - started), load
    finally:
        numba.set_num_threads(saved)
        db.close()


def ratio(value: float, goal: float, lower_is_better: bool = False) -> str:
    r = goal / value if lower_is_better else value / goal
    return f"{r:.2f}x {'(meets)' if r >= 1 else '(misses)'}"


def bench_size(n: int, args: argparse.Namespace) -> None:
    suffix = "-value-order" if args.build_order == "value" else ""
    folder = Path(args.cache_dir) / f"n{n}{suffix}"
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\n== {n:,} PDQ hashes, {args.workers} workers (cache: {folder})")
    started = time.perf_counter()
    key = build_bank(folder, n, args.build_order)
    print(f"  bank ready in {time.perf_counter() - started:.0f} s")

    shutil.rmtree(folder / "snapshots", ignore_errors=True)
    server = Server(folder, args.workers)
    first, cold_db = server.wait_ready(timeout=args.start_timeout)
    server.stop()
    print(f"  cold start, no snapshot (read the database, write a snapshot): {cold_db:.1f} s")
    server = Server(folder, args.workers)
    first, cold = server.wait_ready(timeout=args.start_timeout)
    print(f"  cold start from the snapshot: first worker {first:.2f} s, all {cold:.2f} s")
    print(f"    goal {GOAL_COLD_S:.0f} s: {ratio(cold, GOAL_COLD_S, True)}; "
          f"vs no snapshot: {cold_db / cold:.1f}x faster")  # fmt: skip
    try:
        mem = server.memory()
        for k, (rss, uss) in enumerate(mem):
            print(f"  worker {k}: RSS {rss / 2**20:.0f} MiB, unique {uss / 2**20:.0f} MiB")
        snap_bytes = sum(f.stat().st_size for f in (folder / "snapshots").rglob("*.npy"))
        print(f"  snapshot on disk: {snap_bytes / 2**20:.0f} MiB")

        delays = freshness(folder, server.port, key, args.trials, args.probes)
        worst = max(delays)
        print(f"  freshness over {args.trials} trials: max {worst:.2f} s, "
              f"median {float(np.median(delays)):.2f} s; goal {GOAL_FRESH_S:.0f} s: "
              f"{ratio(worst, GOAL_FRESH_S, True)}")  # fmt: skip

        bodies = queries(n, 2000, args.hit_ratio)
        rate, load = in_process_rate(folder, bodies)
        print(f"  in-process Matcher.match: {rate:,.0f}/s on one core (loaded in {load:.2f} s)")
        run_wrk(server.port, key, match_lines(bodies), args.connections, 3)  # warm up
        for run in range(1, args.runs + 1):
            r = run_wrk(server.port, key, match_lines(bodies), args.connections, args.duration)
            print(f"  HTTP POST /v1/match run {run} (wrk, {args.connections} connections,"
                  f" {args.duration} s, {args.hit_ratio:.0%} near-hits): {r['rps']:,.0f} req/s,"
                  f" p50 {r['50%']:.1f} ms, p99 {r['99%']:.1f} ms,"
                  f" non-2xx {r.get('errors', 0):.0f}")  # fmt: skip
            print(f"    goal {GOAL_RPS} req/s: {ratio(r['rps'], GOAL_RPS)}; goal p99 "
                  f"{GOAL_P99_MS:.0f} ms: {ratio(r['99%'], GOAL_P99_MS, True)}; "
                  f"HTTP / in-process ceiling: {r['rps'] / rate:.2f}")  # fmt: skip
        if args.route_rounds:
            compare_routes(server.port, key, bodies, args)
    finally:
        server.stop()


def compare_routes(port: int, key: str, bodies: list[str], args: argparse.Namespace) -> None:
    """POST /v1/match, HMA's GET /m/lookup (the same queries) and /healthz, in turn, for
    --route-rounds rounds, each led by the next route: on a busy machine the load drifts, so
    the ratio is taken within each round and the median reported."""
    routes = {
        "POST /v1/match": match_lines(bodies),
        "GET /m/lookup": lookup_lines(bodies),
        "GET /healthz": HEALTHZ,
    }
    rps: dict[str, list[float]] = {name: [] for name in routes}
    ratios: list[float] = []
    names = list(routes)
    for round_no in range(1, args.route_rounds + 1):
        turn = (round_no - 1) % len(names)  # each route leads a round in turn: no order bias
        for name in names[turn:] + names[:turn]:
            lines = routes[name]
            r = run_wrk(port, key, lines, args.connections, args.duration)
            rps[name].append(r["rps"])
            print(f"  round {round_no}: HTTP {name} (wrk, {args.connections} connections, "
                  f"{args.duration} s): {r['rps']:,.0f} req/s, p50 {r['50%']:.1f} ms, "
                  f"p99 {r['99%']:.1f} ms, non-2xx {r.get('errors', 0):.0f}")  # fmt: skip
        ratios.append(rps["GET /m/lookup"][-1] / rps["GET /healthz"][-1])
    med = {name: float(np.median(values)) for name, values in rps.items()}
    hma = float(np.median(ratios))
    print("  median req/s: " + ", ".join(f"{n} {v:,.0f}" for n, v in med.items()))
    print(f"    /m/lookup / /healthz (median of rounds): {hma:.2f}, goal "
          f"{GOAL_HMA_VS_HEALTHZ}: {ratio(hma, GOAL_HMA_VS_HEALTHZ)}; /v1/match / /healthz: "
          f"{med['POST /v1/match'] / med['GET /healthz']:.2f}; /m/lookup / /v1/match: "
          f"{med['GET /m/lookup'] / med['POST /v1/match']:.2f}")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000000", help="comma-separated bank sizes")
    p.add_argument("--duration", type=int, default=20, help="seconds of load per measurement")
    p.add_argument("--connections", type=int, default=32, help="wrk connections")
    p.add_argument("--runs", type=int, default=1, help="HTTP load measurements in a row")
    p.add_argument(
        "--route-rounds",
        type=int,
        default=3,
        help="rounds of /v1/match, /m/lookup and /healthz in turn (0: skip the comparison)",
    )
    p.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    p.add_argument("--trials", type=int, default=5, help="freshness trials")
    p.add_argument("--probes", type=int, default=8, help="fresh connections per freshness poll")
    p.add_argument("--hit-ratio", type=float, default=0.1, help="share of near-copy queries")
    default_cache = Path(tempfile.gettempdir()) / "safespace-bench-service"
    p.add_argument("--cache-dir", default=str(default_cache), help="where banks are kept")
    p.add_argument(
        "--build-order",
        choices=("random", "value"),
        default="random",
        help="add the bank's hashes in random or value order (value: for banks that do not fit "
        "in memory, such as 100M; kept in a folder of its own)",
    )
    p.add_argument(
        "--start-timeout", type=float, default=900, help="seconds to wait for a cold start"
    )
    args = p.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("needs wrk, the HTTP load generator (Debian: apt-get install -y wrk)")
    for n in (int(s) for s in args.sizes.split(",")):
        bench_size(n, args)


if __name__ == "__main__":
    main()
