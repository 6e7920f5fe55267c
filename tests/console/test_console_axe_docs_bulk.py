"""The last browser checks of issue 11: axe-core finds no serious or critical violation on
``/docs`` and ``/redoc`` (desktop and phone) nor on the bulk-action pages (confirm and done,
release and false positive), and the item page's ``r`` key reveals the blurred media (a
counted reveal, like the button), in Chromium.

axe-core is the ``axe.min.js`` the axe-playwright-python package ships (a dev dependency),
put into each page with the browser context's CSP bypass; the media is a generated pattern
image (safespace._demo), never a photo of anyone."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from console_helpers import LiveServer, axe_source, fast_passwords, sign_in_as

from app_factory import serve_in_thread
from browser_helpers import PHONE, local_context
from safespace._demo import pattern_image
from safespace.accounts import Accounts
from safespace.api import create_app
from safespace.config import Settings

EVIDENCE_KEY = base64.b64encode(bytes(range(32))).decode()
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 900}}
_RUN = """async () => {
  const r = await axe.run(document, { resultTypes: ["violations"] });
  return r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
  }));
}"""


def _serious(page: Any) -> list[tuple[str, str, list[str]]]:
    page.wait_for_load_state("load")
    page.add_script_tag(content=axe_source())
    found: list[dict[str, Any]] = page.evaluate(_RUN)
    return [
        (v["id"], v["help"], v["nodes"]) for v in found if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture
def media_server(tmp_path: Path) -> Iterator[LiveServer]:
    """A live server that keeps review media (sealed under a test key)."""
    settings = Settings(
        data_dir=tmp_path / "live",
        matcher_snapshots=False,
        matcher_refresh_seconds=0.05,
        review_store_media=True,
        evidence_key=EVIDENCE_KEY,
    )
    app = create_app(settings)
    accounts: Accounts = app.state.accounts
    accounts.passwords = fast_passwords()
    with serve_in_thread(app, "console-axe-docs-bulk") as url:
        yield LiveServer(url, app, accounts)


def _reports(server: LiveServer, count: int) -> list[int]:
    """``count`` user reports with a generated pattern image each; their item ids."""
    _, key = server.app.state.safespace.keys.create("admin", name="axe-bulk")
    made = []
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as api:
        for i in range(count):
            image = io.BytesIO()
            pattern_image(7000 + i, size=(320, 240)).save(image, format="PNG")
            form = {"content_id": f"post-{i}", "reason": "a user says so"}
            files_ = {"file": (f"p{i}.png", image.getvalue(), "image/png")}
            answer = api.post("/v1/reports", data=form, files=files_)
            assert answer.status_code == 201, answer.text
            assert answer.json()["media_stored"] is True
            made.append(int(answer.json()["item_id"]))
    return made


def _sign_in(page: Any, server: LiveServer, name: str) -> None:
    sign_in_as(page, server, name, "admin")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_api_docs_pages_have_no_serious_violation(
    chromium: Any, media_server: LiveServer, viewport: str
) -> None:
    options = DESKTOP if viewport == "desktop" else PHONE
    found = {}
    with local_context(chromium, media_server.url, bypass_csp=True, **options) as context:
        page = context.new_page()
        page.goto(f"{media_server.url}/docs")
        page.locator(".swagger-ui .opblock").first.wait_for()
        found["/docs"] = _serious(page)
        page.goto(f"{media_server.url}/redoc")
        page.locator("#redoc h1").first.wait_for()
        page.locator("#redoc [role=tab]").first.wait_for()
        found["/redoc"] = _serious(page)
    bad = {path: v for path, v in found.items() if v}
    assert bad == {}, bad


def test_bulk_action_pages_have_no_serious_violation(
    chromium: Any, media_server: LiveServer
) -> None:
    ids = _reports(media_server, 4)
    found = {}
    with local_context(chromium, media_server.url, bypass_csp=True, **DESKTOP) as context:
        page = context.new_page()
        _sign_in(page, media_server, "ada")
        for action, chosen in (("release", ids[:2]), ("fp", ids[2:])):
            page.goto(f"{media_server.url}/console/queue")
            for item in chosen:
                page.locator(f"#sel-{item}").check()
            page.locator(f"#bulk-{action}").check()
            page.locator("#bulk-reason").fill("checked in bulk by the axe test")
            page.locator("#bulk-submit").click()
            page.locator("#bulk-yes").wait_for()
            found[f"{action}: confirm"] = _serious(page)
            page.locator("#bulk-yes").click()
            page.locator("#bulk-done").wait_for()
            found[f"{action}: done"] = _serious(page)
    bad = {page_name: v for page_name, v in found.items() if v}
    assert bad == {}, bad


def test_the_r_key_reveals_the_blurred_media(chromium: Any, media_server: LiveServer) -> None:
    [item] = _reports(media_server, 1)
    with local_context(chromium, media_server.url, **DESKTOP) as context:
        page = context.new_page()
        _sign_in(page, media_server, "grace")
        page.goto(f"{media_server.url}/console/items/{item}")
        media = page.locator("#media")
        assert "protected" in (media.get_attribute("class") or "")
        assert "blur" in page.eval_on_selector("#media", "e => getComputedStyle(e).filter")
        page.locator("h1").click()  # focus on the page, not in a form field
        with page.expect_response(lambda r: r.url.endswith(f"/items/{item}/reveal")) as answer:
            page.keyboard.press("r")
        assert answer.value.status == 200
        page.wait_for_function(
            "() => document.getElementById('media').classList.contains('revealed')"
        )
        assert "You have revealed 1 item" in page.locator("#reveal-count").inner_text()
        # typing an "r" in a text field is text, not a reveal
        field = page.locator("textarea, input[type=text]").first
        if field.count():
            field.click()
            page.keyboard.press("r")
            page.wait_for_timeout(200)
            assert "You have revealed 1 item" in page.locator("#reveal-count").inner_text()
