"""The pages without a browser: contrast of the CSS colours, help resources, case numbers."""

from __future__ import annotations

import re

import pytest
from selfreport_helpers import CSS, SR

from safespace.reports import help_sections
from safespace.reports._selfreport import normalize_case_number


def _colours() -> dict[str, tuple[float, float, float]]:
    text = (CSS / "report.css").read_text()
    root = re.search(r":root\s*\{(.*?)\}", text, re.S)
    assert root is not None
    found = {}
    for name, value in re.findall(r"--([a-z-]+):\s*#([0-9a-fA-F]{6})\s*;", root.group(1)):
        found[name] = tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return found  # type: ignore[return-value]


def _luminance(rgb: tuple[float, float, float]) -> float:
    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize(
    ("fg", "bg", "needed"),
    [
        ("text", "bg", 4.5), ("text", "panel-bg", 4.5), ("muted", "bg", 4.5),
        ("muted", "panel-bg", 4.5), ("link", "bg", 4.5), ("link", "panel-bg", 4.5),
        ("button-text", "button-bg", 4.5), ("secondary-text", "bg", 4.5),
        ("error", "bg", 4.5), ("error", "panel-bg", 4.5),
        ("focus", "bg", 3.0), ("focus", "panel-bg", 3.0), ("border", "bg", 3.0),
    ],
)  # fmt: skip
def test_colour_pairs_meet_wcag_aa(fg: str, bg: str, needed: float) -> None:
    colours = _colours()
    assert contrast(colours[fg], colours[bg]) >= needed


def test_contrast_formula_reference_values() -> None:
    assert contrast((0, 0, 0), (1, 1, 1)) == pytest.approx(21.0)
    grey = (0x76 / 255,) * 3  # #767676 on white: the well-known 4.54:1
    assert contrast(grey, (1, 1, 1)) == pytest.approx(4.54, abs=0.01)


def test_help_follows_the_country_and_the_age() -> None:
    uk_teen = help_sections("en-GB", "13-15")
    assert uk_teen[0].region == "GB"
    assert uk_teen[0].local
    names = {s.name for sec in uk_teen if sec.local for s in sec.services}
    assert {"Childline Report Remove", "Take It Down (NCMEC)"} <= names
    assert "StopNCII.org" not in names
    adult = help_sections("en-US", "18-plus")
    names = {s.name for sec in adult if sec.local for s in sec.services}
    assert "StopNCII.org" in names
    assert "Take It Down (NCMEC)" not in names
    assert "NCMEC CyberTipline" in names
    unknown = help_sections("fr")
    assert unknown[0].region == "international"
    for section in help_sections("en"):
        for service in section.services:
            assert service.url.startswith("https://")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("SR-ABCD-2345", "SR-ABCD-2345"),
        ("sr abcd 2345", "SR-ABCD-2345"),
        ("abcd2345", "SR-ABCD-2345"),
        ("SR-ABCD-2340", None),  # 0 is not in the alphabet
        ("SR-ABCD-234", None),
        ("x" * 100, None),
    ],
)
def test_case_numbers_are_read_as_typed(typed: str, expected: str | None) -> None:
    assert normalize_case_number(typed) == expected


def test_pages_have_no_inline_script_and_strict_headers(sr: SR) -> None:
    for path in ("/report", "/report/status"):
        response = sr.client.get(path, headers={"Accept-Language": "en-GB,en;q=0.8"})
        assert response.status_code == 200
        csp = response.headers["content-security-policy"]
        for part in ("default-src 'none'", "script-src 'self'", "connect-src 'self'"):
            assert part in csp
        assert "unsafe" not in csp
        assert response.headers["referrer-policy"] == "no-referrer"
        html = response.text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        assert not re.search(r"\son[a-z]+=", html)
        assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', html)  # no CDN
    page = sr.client.get("/report", headers={"Accept-Language": "en-GB"}).text
    assert "You are not in trouble" in page
    assert "It is not your fault" in page
    assert "Childline" in page
    assert 'name="file' not in page  # the file input has no name: a form post cannot carry it
