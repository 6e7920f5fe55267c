"""The console shows the Deter experiment reports to leads and admins."""

from collections.abc import Callable
from typing import Any

from safespace.deter import load_data

Console = Any  # the console fixture (tests/console/console_helpers.py)
MakeConsole = Callable[..., Any]


def _experiment_id() -> str:
    experiments = load_data().experiments.experiments
    assert experiments, "the packaged Deter data defines an example experiment"
    return str(experiments[0].id)


def test_lead_sees_experiments_and_their_reports(console: Console) -> None:
    name = _experiment_id()
    client = console.signed_in("lena", "lead")
    listing = client.get("/console/experiments")
    assert listing.status_code == 200, listing.text
    assert name in listing.text
    assert f'href="/console/experiments/{name}"' in listing.text

    report = client.get(f"/console/experiments/{name}")
    assert report.status_code == 200, report.text
    assert name in report.text
    assert '<a href="/console/experiments">Back to the experiments</a>' in report.text
    assert "script-src" not in report.headers["content-security-policy"]
    assert "img-src data:" in report.headers["content-security-policy"]

    csv = client.get(f"/console/experiments/{name}", params={"format": "csv"})
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("arm,")


def test_reviewers_cannot_and_unknown_experiments_are_404(console: Console) -> None:
    reviewer = console.signed_in("rae", "reviewer")
    assert reviewer.get("/console/experiments").status_code == 403
    assert reviewer.get(f"/console/experiments/{_experiment_id()}").status_code == 403
    lead = console.signed_in("lee", "lead")
    assert lead.get("/console/experiments/no-such-thing").status_code == 404
    assert lead.get(f"/console/experiments/{_experiment_id()}?format=pdf").status_code == 400


def test_signed_out_visitors_are_sent_to_sign_in(console: Console) -> None:
    response = console.client().get("/console/experiments")
    assert response.status_code == 303
    assert "/console/sign-in" in response.headers["location"]
