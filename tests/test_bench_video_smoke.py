"""The vPDQ hashing benchmark stays runnable and prints sound figures: a tiny run (one small
generated clip, one round) whose printed lines are parsed and checked. Timings are never
compared with a threshold; the published figures come from a full run.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench_output import find, positive

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.mark.slow
def test_video_benchmark_prints_rates_ratios_and_identity() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH / "bench_video.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=BENCH.parent,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    (seconds, frames) = find(r"video seconds: {n} \({n} frames\)", out)
    assert (seconds, frames) == (3.0, 90)  # the generated clip: 3 s at 30 frames/s
    (cores,) = find(r"cores: {n}", out)
    reference = "reference: not installed" not in out
    if not reference:
        assert os.environ.get("CI", "").lower() != "true", "vpdq is missing (the oracle extra)"
    labels = [
        f"{sampling}, {threads} thread{'s' if threads > 1 else ''}"
        for sampling in ("1 frame/s", "every frame")
        for threads in sorted({1, int(cores)})
    ]
    for label in labels:
        line = re.escape(label) + r": safespace {n} video-s/s"
        if reference:
            line += r", reference {n} video-s/s, ratio {n}x, identical True \({n} of {n} frames\)"
        line += r", decode share {n}%"
        figures = find(line, out)
        share = figures[-1]
        assert 0 <= share <= 100
        if not reference:
            positive(figures[0])
            continue
        ours, ref, ratio, alike, hashed, _ = figures
        positive(ours, ref, ratio)
        assert alike == hashed == (3 if label.startswith("1 frame/s") else 90)
        # the ratio is the rates' ratio, within what printing them to 0.1 and 0.01 allows
        low = (ours - 0.05) / (ref + 0.05) - 0.01
        high = (ours + 0.05) / max(ref - 0.05, 1e-9) + 0.01
        assert low <= ratio <= high
