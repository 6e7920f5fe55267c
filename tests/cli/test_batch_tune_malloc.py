"""``safespace.batch._inputs.tune_malloc`` (issue 13): a batch task resets glibc's mmap and trim
thresholds once per process, and only where ``MALLOC_TRIM_THRESHOLD_`` is set (as Dask's nanny
sets it for every worker) and ``MALLOC_MMAP_THRESHOLD_`` is not (an operator's own choice).
Each case runs in a fresh interpreter, since glibc reads those variables at start."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
from safespace.batch._inputs import tune_malloc
print(tune_malloc(), tune_malloc())
"""


def _run(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return proc.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_only_a_dask_style_trim_threshold_is_undone_and_only_once() -> None:
    assert _run(MALLOC_TRIM_THRESHOLD_="65536") == "True False"
    assert _run() == "False False"
    both = _run(MALLOC_TRIM_THRESHOLD_="65536", MALLOC_MMAP_THRESHOLD_="131072")
    assert both == "False False"


def test_a_dask_worker_gets_the_tuning() -> None:
    from test_cli_scan_cluster import _need_cluster_extra

    _need_cluster_extra()
    from distributed import Client, LocalCluster

    from safespace.batch._inputs import tune_malloc

    with (
        LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
        ) as local,
        Client(local) as client,
    ):
        (env,) = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_")).values()
        assert env is not None  # the nanny's setting, which the tuning is for
        assert client.submit(tune_malloc, pure=False).result() is sys.platform.startswith("linux")
