"""A service that starts from a matcher snapshot follows changes made through other handles."""

from __future__ import annotations

import hashlib
from pathlib import Path

from api_helpers import MakeApi, poll

from safespace.banks import BankService, Matcher
from safespace.banks._snapshot import database_identity, list_snapshots
from safespace.banks.formats import HashRecord
from safespace.store import open_database


def pdq(i: int) -> str:
    return hashlib.sha256(f"fresh-{i}".encode()).hexdigest()


def test_app_from_snapshot_matches_a_hash_added_elsewhere(
    make_api: MakeApi, db_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "data" / "snapshots"
    other = open_database(db_url)  # another process or server, in effect
    try:
        service = BankService(other)
        service.create_bank("hotline", pdq_distance=10)
        service.add_entries("hotline", [HashRecord("pdq", pdq(i)) for i in range(50)])
        written = Matcher.load_or_build(other, folder).snapshot
        service.add_entries("hotline", [HashRecord("pdq", pdq(i)) for i in range(50, 60)])

        api = make_api()
        matcher = api.state.matcher.matcher
        assert matcher.snapshot == written  # started from the snapshot, not from the database
        assert len(matcher) == 60  # and caught up with what was added after it

        def matches(h: str) -> bool:
            r = api.post("/v1/match", "match", json={"signals": {"pdq": h}})
            assert r.status_code == 200, r.text
            return bool(r.json()["matched"])

        assert matches(pdq(55))
        new = pdq(1000)
        assert not matches(new)
        service.add_entries("hotline", [HashRecord("pdq", new, source="late")])
        assert poll(lambda: matches(new))
        r = api.post("/v1/match", "match", json={"signals": {"pdq": new}})
        assert r.json()["matches"][0]["entries"][0]["metadata"]["source"] == "late"

        (entry,) = [e for e in service.list_entries("hotline", limit=100) if e.value == new]
        service.set_entry_enabled(entry.id, False)
        assert poll(lambda: not matches(new))
        assert api.get("/readyz").json()["seq"] == api.state.matcher.matcher.seq
    finally:
        other.close()


def test_app_writes_a_snapshot_and_refreshes_it(make_api: MakeApi, db_url: str) -> None:
    api = make_api(snapshot_min_changes=5)
    holder = api.state.matcher
    assert holder.snapshot_dir is not None
    first = holder.matcher.snapshot
    assert first is not None  # nothing to load: built from the database and written
    api.post("/v1/banks", "curate", json={"name": "b"})
    entries = [
        {"signal_type": "md5", "value": hashlib.md5(bytes([i])).hexdigest()} for i in range(9)
    ]
    assert api.post("/v1/banks/b/entries", "curate", json={"entries": entries}).status_code == 201
    path = Matcher.update_snapshot(api.state.db, holder.snapshot_dir, min_changes=5)
    assert path is not None
    assert Matcher.update_snapshot(api.state.db, holder.snapshot_dir, min_changes=5) is None
    identity = database_identity(api.state.db)
    assert list_snapshots(holder.snapshot_dir, identity)[0] == path
    loaded = Matcher.from_snapshot(api.state.db, path)
    assert loaded.seq == holder.matcher.seq
    assert len(loaded) == len(holder.matcher) == 9


def test_snapshots_can_be_turned_off(make_api: MakeApi) -> None:
    api = make_api(matcher_snapshots=False)
    assert api.state.matcher.snapshot_dir is None
    assert api.state.matcher.matcher.snapshot is None


def test_unusable_snapshot_folder_falls_back_to_the_database(
    make_api: MakeApi, tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "snapshots").write_text("a file, not a folder")
    api = make_api()
    assert api.state.matcher.matcher.snapshot is None
    assert api.get("/readyz").status_code == 200
