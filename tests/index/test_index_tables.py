"""The chunk tables built by the numba kernel, against a plain-Python construction.

The build kernel sorts each chunk's rows with 32-bit scratch arrays (so a 100M-row build fits
in memory); this checks its offsets and entries exactly, for several plans and sizes.
"""

from __future__ import annotations

import numpy as np
import pytest

from safespace.index._plan import plan_for
from safespace.index._segment import Tables, words


def reference_tables(hashes: np.ndarray, m: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and entries as the kernel documents them, computed with Python ints."""
    n = len(hashes)
    plan = plan_for(n, m)
    values = [int.from_bytes(row.tobytes(), "little") for row in hashes]
    offsets = np.zeros(plan.offsets_len, dtype=np.uint32)
    entries = np.zeros((plan.m, n), dtype=np.uint32)
    for i, (start, w, t) in enumerate(
        zip(plan.starts.tolist(), plan.widths, plan.tbits, strict=True)
    ):
        lbits = w - t
        keys = [(v >> start) & ((1 << w) - 1) for v in values]
        order = sorted(range(n), key=lambda r: (keys[r] >> lbits, keys[r] & ((1 << lbits) - 1), r))
        base = int(plan.off_base[i])
        counts = np.bincount([k >> lbits for k in keys], minlength=1 << t)
        offsets[base + 1 : base + (1 << t) + 1] = np.cumsum(counts)
        for p, r in enumerate(order):
            entries[i, p] = ((keys[r] & ((1 << lbits) - 1)) << plan.row_bits) | r
    return offsets, entries


@pytest.mark.parametrize(("n", "m"), [(1, None), (37, None), (3000, None), (3000, 8), (2500, 16)])
def test_build_matches_reference(n: int, m: int | None) -> None:
    rng = np.random.default_rng(n + (m or 0))
    hashes = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    # a few duplicate rows, so equal keys must keep row order
    if n > 10:
        hashes[n // 2] = hashes[0]
        hashes[n - 1] = hashes[0]
    plan = plan_for(n, m)
    tables = Tables.build(words(hashes), plan)
    offsets, entries = reference_tables(hashes, m)
    assert tables.offsets.dtype == np.uint32
    assert tables.entries.dtype == np.uint32
    np.testing.assert_array_equal(tables.offsets, offsets)
    np.testing.assert_array_equal(tables.entries, entries)
