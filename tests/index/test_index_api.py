"""Input handling of the public API: what it accepts, and the errors it raises."""

from __future__ import annotations

import numpy as np
import pytest

import safespace.index
from safespace.errors import InvalidInput, InvalidSignal
from safespace.index import PDQIndex

A = "f" * 64
B = "0" * 63 + "1"  # distance 1 from all zeros
Z = "0" * 64


def test_public_api_is_small() -> None:
    assert sorted(safespace.index.__all__) == [
        "FrameIndex",
        "PDQIndex",
        "VideoMatch",
        "VideoThresholds",
    ]


def test_hex_strings_and_arrays_are_the_same_hashes() -> None:
    index = PDQIndex()
    index.add([1, 2, 3], [A, B, "0x" + Z.upper()])
    arr = np.zeros((1, 32), dtype=np.uint8)
    assert index.search(arr, radius=1) == [[(3, 0), (2, 1)]]
    assert index.search([Z], radius=1) == index.search(arr, radius=1)
    assert index.search(Z, radius=1) == [[(3, 0), (2, 1)]]  # one string is one query
    assert index.search(np.zeros(32, dtype=np.uint8), radius=0) == [[(3, 0)]]
    assert index.search(np.array([Z, A]), radius=0) == [[(3, 0)], [(1, 0)]]


def test_results_sorted_by_distance_then_id_as_python_ints() -> None:
    index = PDQIndex()
    index.add([9, 4, 7, 5, 6], [B, B, Z, "f" * 32 + "0" * 32, A])
    (hits,) = index.search([Z], radius=128)
    assert hits == [(7, 0), (4, 1), (9, 1), (5, 128)]
    assert all(type(i) is int and type(d) is int for i, d in hits)


def test_default_radius_is_31() -> None:
    index = PDQIndex()
    h31 = np.zeros((1, 32), dtype=np.uint8)
    h31[0, :3] = 255
    h31[0, 3] = 0b1111111  # 24 + 7 = 31 bits
    h32 = h31.copy()
    h32[0, 3] = 255
    index.add([1, 2], np.concatenate([h31, h32]))
    assert index.search([Z]) == [[(1, 31)]]


@pytest.mark.parametrize(
    "bad",
    [["zz" * 32], ["f" * 63], ["f" * 65], [A[:-1] + " "], [b"\x00" * 32], [12]],
)
def test_bad_hex_is_invalid_signal(bad: list[object]) -> None:
    index = PDQIndex()
    with pytest.raises(InvalidSignal):
        index.add([1], bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidSignal):
        index.search(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((2, 31), dtype=np.uint8),
        np.zeros((2, 32, 1), dtype=np.uint8),
        np.zeros((2, 32), dtype=np.float32),
        np.full((1, 32), 256, dtype=np.int32),
        np.full((1, 32), -1, dtype=np.int64),
    ],
)
def test_bad_arrays_are_invalid_input(bad: np.ndarray) -> None:
    with pytest.raises(InvalidInput):
        PDQIndex().search(bad)


def test_integer_arrays_in_byte_range_are_accepted() -> None:
    index = PDQIndex()
    index.add(np.array([1]), np.zeros((1, 32), dtype=np.int64))
    assert index.search([Z], radius=0) == [[(1, 0)]]


def test_length_mismatch() -> None:
    with pytest.raises(InvalidInput, match="2 ids but 1 hashes"):
        PDQIndex().add([1, 2], [A])


@pytest.mark.parametrize(
    "ids", [[1.5], [True], "12", [2**63], np.array([1.0]), np.array([[1]]), [None], 5]
)
def test_bad_ids(ids: object) -> None:
    with pytest.raises(InvalidInput):
        PDQIndex().add(ids, [A])  # type: ignore[arg-type]


def test_ids_accept_numpy_and_extremes() -> None:
    index = PDQIndex()
    lo, hi = -(2**63), 2**63 - 1
    index.add(np.array([lo, hi], dtype=np.int64), [A, Z])
    index.add([np.int32(5)], [B])
    assert index.search([Z], radius=1) == [[(hi, 0), (5, 1)]]
    assert index.remove(np.array([], dtype=np.uint64)) == 0
    assert index.remove([lo, lo]) == 1
    assert len(index) == 2


@pytest.mark.parametrize("radius", [-1, 129, 1.5, True, "31", None])
def test_bad_radius(radius: object) -> None:
    with pytest.raises(InvalidInput, match="radius"):
        PDQIndex().search([A], radius=radius)  # type: ignore[arg-type]


def test_radius_bounds_accepted() -> None:
    index = PDQIndex()
    index.add([1], [A])
    assert index.search([Z], radius=0) == [[]]
    assert index.search([Z], radius=128) == [[]]
    assert index.search([A], radius=np.int64(0)) == [[(1, 0)]]  # type: ignore[arg-type]


def test_not_a_sequence() -> None:
    with pytest.raises(InvalidInput):
        PDQIndex().search(42)  # type: ignore[arg-type]


def test_len_and_repr() -> None:
    index = PDQIndex()
    index.add(range(5), [A] * 5)
    assert len(index) == 5
    assert "5 entries" in repr(index)
