"""A bank exported as an HMA local file reads unchanged in python-threatexchange, and back.

The ``threatexchange`` package's own ``LocalFileSignalExchangeAPI`` (what its CLI and HMA use
for a ``local_file`` collaboration) reads SafeSpace's export: it keeps a line only when it
knows the type's name, so a SafeSpace spelling (``md5``) would be dropped without a word.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from safespace.banks import BankService
from safespace.banks.formats import HashRecord
from safespace.store import Database

try:
    from threatexchange.exchanges.impl.file_api import (
        FileCollaborationConfig,
        LocalFileSignalExchangeAPI,
    )
    from threatexchange.signal_type.md5 import VideoMD5Signal
    from threatexchange.signal_type.pdq.signal import PdqSignal
    from threatexchange.signal_type.sha256 import VideoSHA256Signal
except ImportError:  # pragma: no cover - the dev extra installs it
    if os.environ.get("CI", "").lower() == "true":
        raise
    pytest.skip("the threatexchange package is not installed", allow_module_level=True)

TE_TYPES: list[Any] = [PdqSignal, VideoMD5Signal, VideoSHA256Signal]


def _hex(seed: str, digest: Any) -> str:
    return str(digest(seed.encode()).hexdigest())


def _read_with_threatexchange(path: Path) -> dict[str, set[str]]:
    """python-threatexchange's reading of a local file: its type name -> hashes."""
    api = LocalFileSignalExchangeAPI(FileCollaborationConfig(name="SAFESPACE", filename=str(path)))
    fetched: dict[Any, Any] = {}
    for delta in api.fetch_iter(TE_TYPES, None):
        fetched.update(delta.updates)
    by_type = LocalFileSignalExchangeAPI.naive_convert_to_signal_type(TE_TYPES, api.collab, fetched)
    return {kind.get_name(): set(signals) for kind, signals in by_type.items()}


def test_bank_round_trips_through_threatexchange(database: Database, tmp_path: Path) -> None:
    service = BankService(database)
    service.create_bank("known")
    records = [HashRecord.of("pdq", _hex(f"pdq-{i}", hashlib.sha256)) for i in range(5)]
    records += [HashRecord.of("video_md5", _hex(f"md5-{i}", hashlib.md5)) for i in range(4)]
    records += [HashRecord.of("sha256", _hex(f"sha-{i}", hashlib.sha256)) for i in range(3)]
    service.add_entries("known", records)
    original = {(e.signal_type, e.value) for e in service.list_entries("known")}

    exported = tmp_path / "known.txt"
    exported.write_bytes(service.export_data("known", "hma"))
    seen = _read_with_threatexchange(exported)
    assert {name: len(values) for name, values in seen.items()} == {
        PdqSignal.get_name(): 5,
        VideoMD5Signal.get_name(): 4,
        VideoSHA256Signal.get_name(): 3,
    }  # every line kept: none dropped for an unknown type name

    # Back: the file as python-threatexchange writes it (its names), imported into SafeSpace.
    written = tmp_path / "from-threatexchange.txt"
    written.write_text(
        "".join(f"{name} {value}\n" for name, values in seen.items() for value in sorted(values))
    )
    service.create_bank("copy")
    result = service.import_data("copy", written.read_bytes(), fmt="hma")
    assert result.rejects == ()
    assert {(e.signal_type, e.value) for e in service.list_entries("copy")} == original
