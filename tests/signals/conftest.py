"""Shared fixtures for the signals tests: the benign test-data photos and their hashes."""

from __future__ import annotations

import pytest

from datafiles import PDQ_DIR


@pytest.fixture(scope="session")
def jpeg_bytes() -> bytes:
    return (PDQ_DIR / "bridge-mods" / "aaa-orig.jpg").read_bytes()


@pytest.fixture(scope="session")
def png_bytes() -> bytes:
    return (PDQ_DIR / "misc-images" / "c.png").read_bytes()
