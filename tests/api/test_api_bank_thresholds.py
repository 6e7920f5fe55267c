"""Bank thresholds per signal type over ``/v1/banks``: nested, the old flat ``pdq_distance``,
bounds and unknown names, and the matcher using each bank's own distance."""

from __future__ import annotations

from api_helpers import Api, problem

PDQ_A = "f" * 64
PDQ_10_AWAY = "f" * 61 + "c00"  # 10 bits from PDQ_A


def test_thresholds_nested_and_flat(api: Api) -> None:
    made = api.post("/v1/banks", json={"name": "a", "thresholds": {"pdq": {"distance": 12}}})
    assert made.status_code == 201, made.text
    assert made.json()["thresholds"]["pdq"] == {"distance": 12}
    assert made.json()["pdq_distance"] == 12  # still reported for old clients
    plain = api.post("/v1/banks", json={"name": "b"}).json()
    assert plain["thresholds"]["pdq"] == {"distance": 31}  # the type's default
    alias = api.post("/v1/banks", json={"name": "c", "thresholds": {"photo_pdq": {"distance": 5}}})
    assert alias.json()["thresholds"]["pdq"] == {"distance": 5}
    changed = api.patch("/v1/banks/a", json={"pdq_distance": 9}).json()
    assert changed["thresholds"]["pdq"] == {"distance": 9}
    changed = api.patch("/v1/banks/a", json={"thresholds": {"pdq": {"distance": 7}}}).json()
    assert changed["thresholds"]["pdq"] == {"distance": 7}


def test_bad_thresholds_are_refused(api: Api) -> None:
    for body, why in (
        ({"thresholds": {"pdq": {"distance": 129}}}, "0..128"),
        ({"thresholds": {"tlsh": {"distance": 3}}}, "unknown signal type"),
        ({"thresholds": {"md5": {"distance": 3}}}, "matches exactly"),
        ({"thresholds": {"pdq": {"radius": 3}}}, "no threshold 'radius'"),
        ({"pdq_distance": -1}, "0..128"),
    ):
        answer = problem(api.post("/v1/banks", json={"name": "x", **body}), 400, "invalid-input")
        assert why in answer["detail"], answer
    problem(api.post("/v1/banks", json={"name": "x", "thresholds": {"pdq": 3}}), 422,
            "invalid-request")  # fmt: skip
    assert api.get("/v1/banks").json()["banks"] == []


def test_each_bank_matches_within_its_own_distance(api: Api) -> None:
    for name, distance in (("near", 8), ("far", 16)):
        api.post("/v1/banks", json={"name": name, "thresholds": {"pdq": {"distance": distance}}})
        added = api.post(
            f"/v1/banks/{name}/entries", json={"entries": [{"signal_type": "pdq", "value": PDQ_A}]}
        )
        assert added.status_code == 201, added.text
    found = api.post("/v1/match", json={"signals": {"pdq": PDQ_10_AWAY}}).json()
    [match] = found["matches"]
    assert match["bank"]["name"] == "far"
    assert match["bank"]["thresholds"]["pdq"] == {"distance": 16}
