"""The exchange-fetch task: registered once per cluster, and fetching the due sources when
it runs (the test runs it by hand)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from safespace.banks import BankService
from safespace.exchanges import ExchangeService
from safespace.runtime import TASKS, _task_exchanges
from safespace.store import Database


def test_the_task_is_registered_once_per_cluster() -> None:
    (task,) = [t for t in TASKS if t.name == "exchange-fetch"]
    assert task.placement == "once-per-cluster"


def test_a_run_fetches_the_due_sources_only(database: Database, tmp_path: Path) -> None:
    BankService(database).create_bank("common")
    path = tmp_path / "list.txt"
    path.write_text("video_md5 " + "a" * 32 + "\n")
    exchanges = ExchangeService(database)
    exchanges.add("feed", type="list", bank="common", config={"url": str(path)})
    exchanges.add("later", type="list", bank="common", config={"url": str(path)}, paused=True)
    ctx: Any = SimpleNamespace(
        state=SimpleNamespace(settings=SimpleNamespace(evidence_key=None), db=database),
        stopping=lambda: False,
    )
    _task_exchanges.run(ctx)
    assert exchanges.get("feed").status == "ok"
    assert exchanges.get("later").status == "paused"
    assert [e.value for e in BankService(database).list_entries("common")] == ["a" * 32]
    assert exchanges.due() == []  # not due again until its interval has passed
