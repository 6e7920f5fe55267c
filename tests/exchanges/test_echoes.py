"""An instance's identity among federated peers, and what a fetch does with an echo (a copy
of one of this instance's own entries coming back from a peer), on both databases: taken as
any entry while the original is here, left out once the original is removed or disabled."""

from __future__ import annotations

import os
import re

from alembic import command
from sqlalchemy import select

from safespace.banks import BankService
from safespace.banks.formats import HashRecord
from safespace.exchanges import FetchPage, SourceEntry
from safespace.exchanges._service import ExchangeService
from safespace.store import Database, InstanceIdentity, open_database, upgrade
from safespace.store._database import alembic_config
from safespace.store._models_exchanges import ExchangeEntry


def test_each_database_names_itself_once_and_keeps_the_name(db_url: str) -> None:
    db = open_database(db_url)
    try:
        first = db.instance_id()
        assert re.fullmatch(r"[0-9a-f]{16}", first)
    finally:
        db.close()
    again = open_database(db_url)
    try:
        assert again.instance_id() == first  # reopened: the same instance
        with again.engine.begin() as conn:
            command.downgrade(alembic_config(conn), "0028")
        upgrade(again, "0029")
        with again.session() as s:
            assert len(s.scalars(select(InstanceIdentity)).all()) == 1
    finally:
        again.close()


def test_two_databases_are_two_instances(tmp_path: os.PathLike[str]) -> None:
    one = open_database(f"sqlite:///{tmp_path}/one.db")
    two = open_database(f"sqlite:///{tmp_path}/two.db")
    try:
        assert one.instance_id() != two.instance_id()
    finally:
        one.close()
        two.close()


def _apply(db: Database, entries: list[SourceEntry]) -> tuple[int, set[str]]:
    """Apply one page of ``from-peer``; (entries added, upstream ids mapped)."""
    service = ExchangeService(db, master_key=os.urandom(32))
    source_id = service.open_source("from-peer")[2]
    before = _count(db)
    service.apply_pages(source_id, [FetchPage(entries, [], {"seq": 1}, more=False)],
                        expected=None)  # fmt: skip
    with db.session() as s:
        mapped = set(s.scalars(select(ExchangeEntry.upstream_id)))
    return _count(db) - before, mapped


def _count(db: Database) -> int:
    return len(BankService(db).list_entries("common", limit=1000))


def test_an_echo_is_taken_only_while_its_original_is_here(database: Database) -> None:
    banks = BankService(database)
    banks.create_bank("common")
    banks.create_bank("other")
    banks.add_entries("common", [HashRecord("md5", f"{i:032x}") for i in range(3)])
    banks.add_entries("other", [HashRecord("md5", f"{9:032x}")])
    ids = {e.value: e.id for e in banks.list_entries("common")}
    (elsewhere,) = banks.list_entries("other")
    ExchangeService(database, master_key=os.urandom(32)).add(
        "from-peer", type="list", bank="common", config={"url": "https://example.org/x.txt"}
    )
    home = database.instance_id()
    kept, removed, disabled = (f"{i:032x}" for i in range(3))
    banks.remove_entries([ids[removed]])
    banks.set_entry_enabled(ids[disabled], False)

    def echo(upstream: str, value: str, origin_id: int) -> SourceEntry:
        return SourceEntry(upstream, "md5", value, origin=f"{home}/{origin_id}")

    added, mapped = _apply(database, [
        echo("p1", kept, ids[kept]),  # still here: found by its value and mapped
        echo("p2", removed, ids[removed]),  # removed since: left out
        echo("p3", disabled, ids[disabled]),  # disabled since: left out
        echo("p4", elsewhere.value, elsewhere.id),  # here, in another bank: a new entry
        SourceEntry("p5", "md5", f"{7:032x}", origin="0123456789abcdef/5"),  # another's
        SourceEntry("p6", "md5", f"{8:032x}"),  # a peer that names no origin
    ])  # fmt: skip
    assert mapped == {"p1", "p4", "p5", "p6"}
    assert added == 3
    values = {e.value: e for e in banks.list_entries("common", limit=1000)}
    assert removed not in values
    assert values[kept].id == ids[kept]  # not a second entry
    assert values[f"{7:032x}"].extra["origin"] == "0123456789abcdef/5"  # served on
    assert "origin" not in values[f"{8:032x}"].extra
