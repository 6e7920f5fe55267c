"""Scans and backfills from ``s3://`` (issue 13): fsspec's ``s3fs`` against a real
S3-compatible HTTP server on this machine (moto's server mode, in a thread of the test).

The same tree, uploaded to a bucket, scans on the local pool and on a two-worker Dask cluster
(the workers read the objects themselves) with the records of a scan of the folder, and
backfills into the content-hash store the rows a backfill of the folder gives.

Needs moto[server] and s3fs (the dev extra) and the cluster extra; under CI=true their
absence fails.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from test_cli_scan_cluster import _need_cluster_extra, _records, _tree, cluster, known

pytestmark = pytest.mark.slow
RunCli = Callable[..., Any]
__all__ = ["cluster", "known"]  # fixtures, used by name


def _need_s3() -> None:
    _need_cluster_extra()
    try:
        import moto.server  # noqa: F401
        import s3fs  # noqa: F401
    except ImportError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"moto[server] or s3fs is missing but CI=true: {exc}")
        pytest.skip(f"needs moto[server] and s3fs (the dev extra): {exc}")


@pytest.fixture
def s3(
    monkeypatch: pytest.MonkeyPatch, testdata: Path, tmp_path: Path
) -> Iterator[tuple[Path, dict[str, str], str]]:
    """A local S3 server holding the test tree under s3://<bucket>/tree (a new bucket each
    test: moto keeps its buckets per process); the tree's folder, the environment that points
    boto at the server, and the tree's URL."""
    _need_s3()
    import s3fs
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = {
            "AWS_ENDPOINT_URL": f"http://{host}:{port}",
            "AWS_ACCESS_KEY_ID": "test-only",
            "AWS_SECRET_ACCESS_KEY": "test-only",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        root = _tree(testdata, tmp_path / "tree", copies=1)
        fs = s3fs.S3FileSystem(skip_instance_cache=True)
        bucket = f"uploads-{uuid.uuid4().hex[:12]}"
        fs.mkdir(bucket)
        for path in sorted(root.rglob("*")):
            if path.is_file():
                fs.pipe_file(
                    f"{bucket}/tree/{path.relative_to(root).as_posix()}", path.read_bytes()
                )
        s3fs.S3FileSystem.clear_instance_cache()  # the commands make their own, as users do
        yield root, env, f"s3://{bucket}/tree"
    finally:
        server.stop()


def _by_name(state: Path, base: str) -> dict[str, Any]:
    out = {}
    for path, r in _records(state).items():
        name = path.split(base, 1)[1] if base in path else path
        out[name.lstrip("/")] = (r["signals"], r["matches"], r["error_code"])
    return out


def _scan(run_cli: RunCli, root: Path | str, state: Path, *extra: str) -> dict[str, Any]:
    result = run_cli("scan", str(root), "--state", str(state), "--no-progress", *extra)
    assert result.exit_code == 0, result.stderr
    summary: dict[str, Any] = result.rows[-1]["summary"]
    return summary


def test_s3_scans_on_the_pool_and_the_cluster_as_the_folder(
    run_cli: RunCli,
    known: None,
    cluster: Any,
    s3: tuple[Path, dict[str, str], str],
    tmp_path: Path,
) -> None:
    root, env, url = s3
    folder = _scan(run_cli, root, tmp_path / "folder.jsonl")
    in_pool = _scan(run_cli, url, tmp_path / "pool.jsonl", "--workers", "2")
    before = cluster.run(_environ, list(env))
    cluster.run(_restore, env)  # the workers reach the bucket as the client does
    try:
        address = str(cluster.scheduler.address)
        on_dask = _scan(run_cli, url, tmp_path / "dask.jsonl", "--scheduler", address)
    finally:
        for worker, old in before.items():
            cluster.run(_restore, old, workers=[worker])
    for summary in (in_pool, on_dask):
        for key in ("files", "matched_files", "matches", "errors"):
            assert summary[key] == folder[key], key
    assert folder["matched_files"] > 0
    expected = _by_name(tmp_path / "folder.jsonl", str(root))
    assert _by_name(tmp_path / "pool.jsonl", url.removeprefix("s3://")) == expected
    assert _by_name(tmp_path / "dask.jsonl", url.removeprefix("s3://")) == expected


def _environ(keys: list[str]) -> dict[str, str | None]:
    return {k: os.environ.get(k) for k in keys}


def _restore(old: dict[str, str] | dict[str, str | None]) -> None:
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def test_s3_backfill_stores_what_the_folder_does_and_resumes(
    run_cli: RunCli,
    monkeypatch: pytest.MonkeyPatch,
    s3: tuple[Path, dict[str, str], str],
) -> None:
    root, _, url = s3
    monkeypatch.setenv("SAFESPACE_CONTENT_RETENTION", "true")
    first = run_cli("backfill", url, "--id-prefix", "s3/", "--workers", "2", "--no-progress")
    assert first.exit_code == 0, first.stderr
    from_s3 = first.rows[-1]["summary"]
    again = run_cli("backfill", url, "--id-prefix", "s3/", "--no-progress")
    assert again.exit_code == 0, again.stderr
    assert again.rows[-1]["summary"]["resumed"] == from_s3["files"]
    local = run_cli("backfill", str(root), "--id-prefix", "dir/", "--no-progress")
    assert local.exit_code == 0, local.stderr
    from_dir = local.rows[-1]["summary"]
    for key in ("files", "stored", "rows_added", "errors"):
        assert from_s3[key] == from_dir[key], key

    from safespace.config import Settings
    from safespace.retro import ContentStore
    from safespace.store import open_database

    db = open_database(Settings().resolved_database_url())
    try:
        store = ContentStore(db)
        assert store.count() == from_s3["rows_added"] + from_dir["rows_added"]
        for name in ("part0/aaa-orig.jpg", "unrelated.png"):
            s3_rows = {(r.signal_type, r.value) for r in store.signals_of(f"s3/{name}")}
            assert s3_rows
            assert s3_rows == {(r.signal_type, r.value) for r in store.signals_of(f"dir/{name}")}
    finally:
        db.close()
