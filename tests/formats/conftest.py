"""Benign random hashes for format tests (seeded, so failures reproduce)."""

from __future__ import annotations

import random

import pytest


class HexMaker:
    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def __call__(self, digits: int) -> str:
        return f"{self._rng.getrandbits(digits * 4):0{digits}x}"


@pytest.fixture
def hexes() -> HexMaker:
    return HexMaker(20240501)
