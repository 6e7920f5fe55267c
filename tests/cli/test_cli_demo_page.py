"""The served demo's extras (issue 11, "The demo shows it all"): media storage and Deter on
with demo-only values, the demo's placeholder-only Deter folder, and ``/demo/search``, which
only the demo serves. The browser walk through them is tests/e2e/test_demo_shows_it_all.py."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from safespace._demo import DEMO_DETER_DIR, DEMO_PLACEHOLDER_TERMS
from safespace.api import create_app
from safespace.api._routes import DEFAULT_ROUTERS
from safespace.cli._demo import DEMO_ROUTER, demo_settings
from safespace.config import Settings
from safespace.deter import DecisionRequest, DeterLoader
from safespace.deter._loading import term_files
from safespace.web._demo_search import HELP_EXAMPLE

OWN_SECRET = "operator-deter-secret-" + "q7Zt" * 8


def _demo_router() -> object:
    module, _, name = DEMO_ROUTER.partition(":")
    return getattr(importlib.import_module(module), name)


@pytest.fixture
def demo_client(tmp_path: Path) -> Iterator[TestClient]:
    served, _ = demo_settings(Settings(data_dir=tmp_path), port=8000)
    app = create_app(served, routers=(*DEFAULT_ROUTERS, _demo_router()))
    with TestClient(app) as client:
        yield client


def test_demo_settings_turn_on_media_and_deter_for_the_demo_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("SAFESPACE_DETER_SECRET", "SAFESPACE_DETER_DIR", "SAFESPACE_REVIEW_STORE_MEDIA"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(data_dir=tmp_path)
    served, notes = demo_settings(settings, port=8123)
    assert served.review_store_media
    assert served.evidence_key is not None  # review media is sealed with the demo key
    assert served.deter_secret is not None
    assert len(served.deter_secret.get_secret_value()) >= 32
    assert served.deter_dir == DEMO_DETER_DIR
    assert served.deter_origins() == ["http://127.0.0.1:8123", "http://localhost:8123"]
    assert "Deter: a demo-only secret" in notes
    assert "Review media: kept for this demo" in notes
    # nothing of it outside the demo: the settings given stay as they were
    assert not settings.review_store_media
    assert settings.deter_secret is None
    assert settings.deter_dir is None
    assert not (tmp_path / "demo" / "deter").exists()  # the secret is never written
    # each run draws its own secret
    again, _ = demo_settings(settings, port=8123)
    assert again.deter_secret is not None
    assert again.deter_secret.get_secret_value() != served.deter_secret.get_secret_value()


def test_an_operators_own_deter_settings_are_kept(tmp_path: Path) -> None:
    own_dir = tmp_path / "deter"
    own_dir.mkdir()
    settings = Settings(
        data_dir=tmp_path,
        deter_secret=SecretStr(OWN_SECRET),
        deter_dir=own_dir,
        deter_allowed_origins="https://forum.example",
        review_store_media=True,
    )
    served, notes = demo_settings(settings, port=8000)
    assert served.deter_secret is not None
    assert served.deter_secret.get_secret_value() == OWN_SECRET
    assert served.deter_dir == own_dir
    assert served.deter_origins()[0] == "https://forum.example"
    assert "http://127.0.0.1:8000" in served.deter_origins()
    assert "Deter:" not in notes
    assert "Review media" not in notes


def test_the_demo_deter_folder_holds_placeholders_only_and_they_warn() -> None:
    [terms] = term_files(DEMO_DETER_DIR)
    listed = [
        line.strip()
        for line in terms.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert tuple(listed) == DEMO_PLACEHOLDER_TERMS
    assert all(term.startswith("demo-") for term in listed)
    loader = DeterLoader(DEMO_DETER_DIR, OWN_SECRET)
    for term in DEMO_PLACEHOLDER_TERMS:
        decision = loader.decide(DecisionRequest("search", f"find {term}", "s-1"))
        assert decision.intervene, term
        assert decision.reason == "operator-term", term
        assert decision.to_dict()["intervention"]["kind"] != "chatbot"
    chat = loader.decide(DecisionRequest("message", DEMO_PLACEHOLDER_TERMS[0], "s-1"))
    assert chat.to_dict()["intervention"]["kind"] == "chatbot"
    helped = loader.decide(DecisionRequest("search", HELP_EXAMPLE, "s-1"))
    assert helped.reason == "help-seeking"
    benign = loader.decide(DecisionRequest("search", "holiday photos", "s-1"))
    assert not benign.intervene


def test_demo_search_is_served_by_the_demo_only(tmp_path: Path) -> None:
    plain = create_app(Settings(data_dir=tmp_path / "plain"))
    with TestClient(plain) as client:
        assert client.get("/demo/search").status_code == 404
        assert client.post("/demo/search/check", json={}).status_code == 404


def test_demo_search_page_and_its_check(demo_client: TestClient) -> None:
    page = demo_client.get("/demo/search")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    html = page.text
    for term in DEMO_PLACEHOLDER_TERMS:
        assert f"<code>{term}</code>" in html
    assert "<script>" not in html
    assert "<style" not in html
    assert " style=" not in html
    assert '<script src="/v1/deter/widget.js' in html
    assert '<script src="/static/js/demo-search.js' in html
    assert demo_client.get("/static/js/demo-search.js").status_code == 200
    assert demo_client.get("/static/css/demo-search.css").status_code == 200

    check = demo_client.post(
        "/demo/search/check",
        json={"context": "search", "text": DEMO_PLACEHOLDER_TERMS[0], "session": "t"},
    )
    assert check.status_code == 200, check.text
    decision = check.json()
    assert decision["intervene"]
    assert decision["token"]
    assert decision["event_id"]
    quiet = demo_client.post("/demo/search/check", json={"context": "search", "text": "cats"})
    assert quiet.status_code == 200
    assert quiet.json()["intervene"] is False
    assert quiet.json()["token"] is None
    bad = demo_client.post("/demo/search/check", json={"context": "upload", "text": "x"})
    assert bad.status_code == 400
    # the widget reports outcomes with the decision's token from the demo's own origin only
    outcome = {"event_id": decision["event_id"], "token": decision["token"], "outcome": "left"}
    mine = demo_client.post(
        "/v1/deter/widget/outcomes", json=outcome, headers={"Origin": "http://127.0.0.1:8000"}
    )
    assert mine.status_code == 200, mine.text
    assert mine.json()["recorded"] is True
    other = demo_client.post(
        "/v1/deter/widget/outcomes", json=outcome, headers={"Origin": "https://elsewhere.example"}
    )
    assert other.status_code == 403


def test_deter_check_answers_in_the_demo(demo_client: TestClient) -> None:
    """Before, ``/v1/deter/check`` answered 503 in the demo: Deter had no configuration."""
    app = demo_client.app
    _, key = app.state.safespace.keys.create("match", name="demo-test")  # type: ignore[attr-defined]
    answer = demo_client.post(
        "/v1/deter/check",
        json={"context": "search", "text": DEMO_PLACEHOLDER_TERMS[1]},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["intervene"] is True
