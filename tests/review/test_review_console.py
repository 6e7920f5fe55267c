"""The review console through the app: CSRF, claims from two sessions, roles, second look,
reveals and the API endpoints."""

from __future__ import annotations

from typing import Any

from review_helpers import BENIGN_IMAGE, EVIDENCE_KEY, csrf


def _report(app: Any, content_id: str = "post-1") -> int:
    from fastapi.testclient import TestClient

    api = TestClient(app.app)
    response = api.post(
        "/v1/reports",
        headers=app.api_key(),
        json={"content_id": content_id, "reason": "user says abuse", "account_id": "u-7"},
    )
    assert response.status_code == 201, response.text
    item_id: int = response.json()["item_id"]
    return item_id


def test_claims_from_two_sessions_and_csrf(make_app: Any) -> None:
    app = make_app(reporter_email="trust-and-safety@example.org")
    item = _report(app)
    ann, bob = app.signed_in("ann"), app.signed_in("bob")
    assert f"/console/items/{item}" in ann.get("/console/queue").text
    refused = ann.post(f"/console/items/{item}/claim", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    ok = ann.post(f"/console/items/{item}/claim", data={"csrf_token": csrf(ann)})
    assert ok.status_code == 303
    lost = bob.post(f"/console/items/{item}/claim", data={"csrf_token": csrf(bob)})
    assert lost.status_code == 409
    assert "being reviewed by ann" in lost.text
    form = {"csrf_token": csrf(ann), "decision": "confirm", "category": "A1", "reason": ""}
    assert ann.post(f"/console/items/{item}/decide", data=form).status_code == 400
    form["reason"] = "clear case"
    assert ann.post(f"/console/items/{item}/decide", data=form).status_code == 303
    page = ann.get(f"/console/items/{item}").text
    assert "confirmed" in page
    assert "referral?format=xml" in page


def test_referral_links_wait_for_the_reporter_details(make_app: Any) -> None:
    app = make_app(reporter_email="")
    item = _report(app)
    ann = app.signed_in("ann")
    ann.post(f"/console/items/{item}/claim", data={"csrf_token": csrf(ann)})
    form = {"csrf_token": csrf(ann), "decision": "confirm", "category": "A1", "reason": "clear"}
    assert ann.post(f"/console/items/{item}/decide", data=form).status_code == 303
    page = ann.get(f"/console/items/{item}").text
    assert "referral?format=xml" not in page  # no link to an error page
    assert "SAFESPACE_REPORTER_EMAIL" in page


def test_reviewer_cannot_finalise_when_a_second_look_is_required(make_app: Any) -> None:
    app = make_app(review_second_look=True)
    item = _report(app)
    ann, bob, lee = app.signed_in("ann"), app.signed_in("bob"), app.signed_in("lee", "lead")
    ann.post(f"/console/items/{item}/claim", data={"csrf_token": csrf(ann)})
    form = {"decision": "confirm", "category": "B", "reason": "looks like B"}
    ann.post(f"/console/items/{item}/decide", data={**form, "csrf_token": csrf(ann)})
    assert "second-look" in ann.get(f"/console/items/{item}").text
    again = ann.post(f"/console/items/{item}/claim", data={"csrf_token": csrf(ann)})
    assert again.status_code == 403
    other = bob.post(f"/console/items/{item}/claim", data={"csrf_token": csrf(bob)})
    assert other.status_code == 403
    assert (
        lee.post(f"/console/items/{item}/claim", data={"csrf_token": csrf(lee)}).status_code == 303
    )
    done = lee.post(f"/console/items/{item}/decide", data={**form, "csrf_token": csrf(lee)})
    assert done.status_code == 303
    assert app.app.state.review.queue.get(item).status == "confirmed"


def test_reveals_are_counted_and_capped(make_app: Any) -> None:
    from fastapi.testclient import TestClient

    app = make_app(review_store_media=True, review_reveal_soft_cap=1, evidence_key=EVIDENCE_KEY)
    api = TestClient(app.app)
    with BENIGN_IMAGE.open("rb") as f:
        response = api.post(
            "/v1/reports",
            headers=app.api_key(),
            files={"file": ("a.jpg", f, "image/jpeg")},
            data={"content_id": "img-1", "reason": "reported"},
        )
    assert response.status_code == 201, response.text
    assert response.json()["media_stored"] is True
    item = response.json()["item_id"]
    ann = app.signed_in("ann")
    page = ann.get(f"/console/items/{item}").text
    assert 'class="protected"' in page
    assert ann.get(f"/console/items/{item}/media").headers["content-type"] == "image/jpeg"
    url = f"/console/items/{item}/reveal"
    assert ann.post(url, data={"csrf_token": "x"}).status_code == 403
    first = ann.post(url, data={"csrf_token": csrf(ann)})
    assert first.json()["count"] == 1
    held = ann.post(url, data={"csrf_token": csrf(ann)})
    assert held.status_code == 409
    assert held.json()["needs_confirmation"] is True
    assert "past today's reveal limit" in ann.get(f"/console/items/{item}").text
    extra = ann.post(url, data={"csrf_token": csrf(ann), "confirmed": "yes"})
    assert extra.json()["over_cap"] is True


def test_referral_api_needs_curate_and_a_confirmed_item(make_app: Any) -> None:
    from fastapi.testclient import TestClient

    app = make_app(reporter_email="safety@example.org")
    api = TestClient(app.app)
    item = _report(app)
    match_only = app.api_key("match")
    assert api.get(f"/v1/cases/{item}/referral", headers=match_only).status_code == 403
    assert api.get(f"/v1/cases/{item}/referral", headers=app.api_key()).status_code == 409
    queue = app.app.state.review.queue
    queue.claim(item, "ann", "reviewer")
    queue.decide(item, "ann", "reviewer", "confirm", "clear", "A2")
    # a user report without media has no hash: the referral says what is missing
    response = api.get(f"/v1/cases/{item}/referral?format=json", headers=app.api_key())
    assert response.status_code == 422
    assert "no hash" in response.json()["detail"]


def test_the_queue_counts_everything_waiting_and_pages_through_it(make_app: Any) -> None:
    """212 waiting items: the heading says 212 (not the page size), the pages hold 100, 100
    and 12 in priority order with no item twice, and a page past the end shows the last."""
    import re

    app = make_app()
    made = {_report(app, f"post-{n}") for n in range(212)}
    ann = app.signed_in("ann")

    def ids(html: str) -> list[int]:
        return [int(i) for i in re.findall(r'href="/console/items/(\d+)"', html)]

    first = ann.get("/console/queue").text
    assert "Waiting (212)" in first
    assert "Showing 1&ndash;100 of 212" in first
    assert 'rel="next" href="/console/queue?page=2"' in first
    assert 'rel="prev"' not in first
    pages = [ids(first), ids(ann.get("/console/queue?page=2").text)]
    last = ann.get("/console/queue?page=3").text
    pages.append(ids(last))
    assert [len(p) for p in pages] == [100, 100, 12]
    assert "Showing 201&ndash;212 of 212" in last
    assert 'rel="next"' not in last
    seen = [i for p in pages for i in p]
    assert len(set(seen)) == 212
    assert set(seen) == made
    assert ids(ann.get("/console/queue?page=99").text) == pages[2]
    assert ids(ann.get("/console/queue?page=junk").text) == pages[0]


def test_a_refused_decision_says_why_and_keeps_what_was_typed(make_app: Any) -> None:
    """Confirming without a category answers 400 on the item page itself, with the error,
    the chosen decision and the typed reason still there; adding the category then works."""
    app = make_app()
    item = _report(app)
    ann = app.signed_in("ann")
    claimed = ann.post(f"/console/items/{item}/claim", data={"csrf_token": csrf(ann)})
    assert claimed.status_code == 303
    fresh = ann.get(f"/console/items/{item}")
    assert fresh.status_code == 200
    assert "decision-error" not in fresh.text
    reason = "matches the known image & its <caption>"
    form = {"csrf_token": csrf(ann), "decision": "confirm", "category": "", "reason": reason}
    refused = ann.post(f"/console/items/{item}/decide", data=form)
    assert refused.status_code == 400
    page = refused.text
    assert 'id="decision-error"' in page
    assert "a confirmation needs a category" in page
    assert "matches the known image &amp; its &lt;caption&gt;</textarea>" in page
    assert 'value="confirm" required checked' in page
    assert 'class="secondary">Release the item' in page
    form["category"] = "A1"
    assert ann.post(f"/console/items/{item}/decide", data=form).status_code == 303
    assert "confirmed" in ann.get(f"/console/items/{item}").text
