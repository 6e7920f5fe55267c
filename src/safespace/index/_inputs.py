"""Turning what callers pass (ids, hex strings, arrays, radii) into checked numpy arrays."""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from safespace.errors import InvalidInput, InvalidSignal
from safespace.signals import PDQ

HashesLike = npt.NDArray[np.integer] | Sequence[str] | str
MAX_RADIUS = 128


def as_ids(ids: Iterable[int] | npt.NDArray[np.integer]) -> npt.NDArray[np.int64]:
    """Ids as int64; refuses floats, booleans, strings and values outside int64."""
    if isinstance(ids, np.ndarray):
        if ids.ndim != 1 or not (np.issubdtype(ids.dtype, np.integer)):
            raise InvalidInput("ids must be a one-dimensional sequence of integers")
        if ids.dtype == np.uint64 and len(ids) and int(ids.max()) > np.iinfo(np.int64).max:
            raise InvalidInput("ids must fit in a signed 64-bit integer")
        return np.ascontiguousarray(ids, dtype=np.int64)
    if isinstance(ids, str | bytes):
        raise InvalidInput("ids must be a sequence of integers, not a string")
    values: list[int] = []
    try:
        for i in ids:
            if isinstance(i, bool | np.bool_):
                raise InvalidInput("ids must be integers, not booleans")
            values.append(operator.index(i))
    except TypeError:
        raise InvalidInput("ids must be a sequence of integers") from None
    try:
        return np.array(values, dtype=np.int64).reshape(-1)
    except OverflowError:
        raise InvalidInput("ids must fit in a signed 64-bit integer") from None


def as_hashes(hashes: HashesLike) -> npt.NDArray[np.uint8]:
    """PDQ hashes as an (N, 32) uint8 array, the hash bytes in hex order."""
    if isinstance(hashes, str):
        hashes = [hashes]
    if isinstance(hashes, np.ndarray):
        if hashes.dtype.kind == "U":
            return as_hashes([str(h) for h in hashes.reshape(-1)])
        return _from_array(hashes)
    try:
        items = list(hashes)
    except TypeError:
        raise InvalidInput(
            "hashes must be an (N, 32) uint8 array or a list of hex strings"
        ) from None
    if not items:
        return np.zeros((0, 32), dtype=np.uint8)
    if all(isinstance(h, str) and len(h) == 64 for h in items):
        try:
            raw = bytes.fromhex("".join(items))
        except ValueError:
            raw = b""
        if len(raw) == 32 * len(items):
            return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 32).copy()
    out = np.empty((len(items), 32), dtype=np.uint8)
    for k, h in enumerate(items):
        if not isinstance(h, str):
            raise InvalidSignal(f"hash #{k} must be a hex string, got {type(h).__name__}")
        try:
            text = PDQ.normalize(h)
        except InvalidSignal as e:
            raise InvalidSignal(f"hash #{k}: {e.message}") from None
        out[k] = np.frombuffer(bytes.fromhex(text), dtype=np.uint8)
    return out


def _from_array(arr: npt.NDArray[np.integer]) -> npt.NDArray[np.uint8]:
    if arr.ndim == 1 and arr.shape[0] == 32:
        arr = arr.reshape(1, 32)
    if arr.ndim != 2 or arr.shape[1] != 32:
        raise InvalidInput(f"hash array must have shape (N, 32), got {arr.shape}")
    if arr.dtype == np.uint8:
        return np.ascontiguousarray(arr)
    if not np.issubdtype(arr.dtype, np.integer):
        raise InvalidInput(f"hash array must hold bytes (uint8), got {arr.dtype}")
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) > 255):
        raise InvalidInput("hash array values must be bytes (0-255)")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def as_radius(radius: int) -> int:
    if isinstance(radius, bool) or not isinstance(radius, int | np.integer):
        raise InvalidInput(f"radius must be an integer, got {type(radius).__name__}")
    r = int(radius)
    if not 0 <= r <= MAX_RADIUS:
        raise InvalidInput(f"radius must be between 0 and {MAX_RADIUS}, got {r}")
    return r
