"""The examples in docs/formats.md are real documents of their format."""

from __future__ import annotations

import re
from pathlib import Path

from safespace.banks.formats import FORMATS, detect_format

DOC = Path(__file__).resolve().parents[2] / "docs" / "formats.md"
# One-value-per-line lists are never told by content (a bare line says nothing of its type).
NAMED_ONLY = {"urls", "urls-sha256", "keywords"}


def test_every_example_document_parses_cleanly() -> None:
    text = DOC.read_text()
    sections = re.split(r"^## `([\w-]+)`", text, flags=re.M)
    checked = set()
    for name, body in zip(sections[1::2], sections[2::2], strict=True):
        example = re.search(r"```\w*\n(.*?)```", body, re.S)
        assert example, f"no example for {name}"
        data = example.group(1).encode()
        if name not in NAMED_ONLY:
            assert detect_format(data).name == name
        result = FORMATS[name].parse(data)
        assert result.records, name
        assert result.rejects == [], name
        checked.add(name)
    assert checked == set(FORMATS)
