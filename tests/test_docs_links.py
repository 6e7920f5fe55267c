"""Links between the docs resolve: every relative link in README.md and docs/*.md names a file
that exists, and every ``#anchor`` names a
heading of its target (GitHub's heading ids: lower-cased, punctuation but ``-`` and ``_``
dropped, spaces as hyphens, ``-1``, ``-2``... for repeats). Links inside code blocks are
examples, not links, and are skipped."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
# Documents whose anchors are checked; add one here once its anchors resolve.

_FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def _prose(path: Path) -> str:
    return _FENCE.sub("", path.read_text(encoding="utf-8"))


def heading_ids(path: Path) -> set[str]:
    ids: set[str] = set()
    seen: dict[str, int] = {}
    for title in _HEADING.findall(_prose(path)):
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        ids.add(slug if n == 0 else f"{slug}-{n}")
    return ids


def _links(path: Path) -> list[tuple[Path, str]]:
    out = []
    for target in _LINK.findall(_prose(path)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        file, _, anchor = target.partition("#")
        out.append(((path.parent / file).resolve() if file else path, anchor))
    return out


def test_the_heading_ids_are_githubs() -> None:
    ids = heading_ids(ROOT / "docs" / "cli.md")
    assert "safespace-scan---text-path-posts-in-text-files" in ids
    assert "safespace-backfill-root---id-prefix-text" in ids


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_name_files_that_exist(doc: Path) -> None:
    missing = [str(t.relative_to(ROOT)) for t, _ in _links(doc) if not t.exists()]
    assert not missing, f"{doc.name} links to missing files: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_anchors_name_headings(doc: Path) -> None:
    name = doc.name
    broken = [
        f"{target.name}#{anchor}"
        for target, anchor in _links(doc)
        if anchor and target.suffix == ".md" and anchor not in heading_ids(target)
    ]
    assert not broken, f"{name} links to headings that do not exist: {broken}"
