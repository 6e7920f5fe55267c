"""axe-core finds no serious or critical accessibility violation on the main pages (issue 11):
the public report pages, and the console as an
admin sees it (overview, queue, an item, a bank, users, experiments and a report, contact
flags), in Chromium.

axe-core is the ``axe.min.js`` the axe-playwright-python package ships (a dev dependency);
it is put into each page with the browser context's CSP bypass, since the pages allow only
their own scripts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from console_helpers import LiveServer, axe_source, sign_in_as

from browser_helpers import local_context
from safespace.deter import load_data

MD5 = "d35c785545392755e7e4164457657269"
_RUN = """async () => {
  const r = await axe.run(document, { resultTypes: ["violations"] });
  return r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
  }));
}"""


@pytest.fixture
def axe_page(chromium: Any, live_server: LiveServer) -> Iterator[Any]:
    with local_context(chromium, live_server.url, bypass_csp=True) as context:
        yield context.new_page()


def _serious(page: Any, url: str) -> list[dict[str, Any]]:
    page.goto(url)
    page.wait_for_load_state("load")
    page.add_script_tag(content=axe_source())
    found: list[dict[str, Any]] = page.evaluate(_RUN)
    return [v for v in found if v["impact"] in ("serious", "critical")]


def _setup(server: LiveServer) -> int:
    """A bank with an entry, and a user report: an item to open."""
    _, key = server.app.state.safespace.keys.create("admin", name="axe-test")
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as api:
        assert api.post("/v1/banks", json={"name": "axe-bank"}).status_code == 201
        entry = {"signal_type": "md5", "value": MD5, "source": "test list", "category": "A"}
        added = api.post("/v1/banks/axe-bank/entries", json={"entries": [entry]})
        assert added.status_code == 201, added.text
        body = {"content_id": "post-1", "reason": "a user says it is abuse", "account_id": "u-1"}
        made = api.post("/v1/reports", json=body)
        assert made.status_code == 201, made.text
        item_id: int = made.json()["item_id"]
    return item_id


def _sign_in(page: Any, server: LiveServer, name: str) -> None:
    sign_in_as(page, server, name, "admin")


def test_no_serious_or_critical_violation_on_the_main_pages(
    axe_page: Any, live_server: LiveServer
) -> None:
    item = _setup(live_server)
    experiment = load_data().experiments.experiments[0].id
    # /docs and /redoc (restyled by SafeSpace) and the bulk pages are checked, at desktop and
    # phone widths, in test_console_axe_docs_bulk.py.
    public = ["/report", "/report/status", "/console/sign-in"]
    console = [
        "/console",
        "/console/queue",
        f"/console/items/{item}",
        "/console/banks/axe-bank",
        "/console/users",
        "/console/experiments",
        f"/console/experiments/{experiment}",
        "/console/contact",
    ]
    found: dict[str, list[dict[str, Any]]] = {}
    for path in public:
        found[path] = _serious(axe_page, live_server.url + path)
    _sign_in(axe_page, live_server, "ada")
    for path in console:
        found[path] = _serious(axe_page, live_server.url + path)
    bad = {path: [(v["id"], v["help"], v["nodes"]) for v in vs] for path, vs in found.items() if vs}
    assert bad == {}, "\n".join(f"{path}: {v}" for path, v in bad.items())
