"""Batch scans and backfills on an engine: the local process pool (default) or Dask.

:func:`open_engine` picks where hashing runs (``"local"``, or ``"dask"`` with a scheduler
address, or a local cluster without one); :func:`run_scan` and :func:`run_backfill` walk a
folder or an fsspec URL (``s3://…``; the ``cluster`` extra), hash on the engine and record
every finished file in a JSON-lines state file, so a killed worker, scheduler or client
resumes without hashing a done file again and without a duplicate line or row.
See docs/operations.md ("Batch scans on a cluster").
"""

from safespace.batch._engines import ENGINES, DaskEngine, Engine, LocalEngine, open_engine
from safespace.batch._inputs import default_state_path, is_url, list_inputs, relative_name
from safespace.batch._run import BackfillSummary, ContentSink, run_backfill, run_scan

__all__ = [
    "ENGINES",
    "BackfillSummary",
    "ContentSink",
    "DaskEngine",
    "Engine",
    "LocalEngine",
    "default_state_path",
    "is_url",
    "list_inputs",
    "open_engine",
    "relative_name",
    "run_backfill",
    "run_scan",
]
