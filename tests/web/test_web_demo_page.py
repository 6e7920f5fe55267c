"""The demo page: files picked with <input type=file> are hashed with no upload at all.

Every request of the browser context (page and worker) is recorded; the only ones allowed
are GETs of the page itself and of its own static JS.
"""

from __future__ import annotations

import csv
import hashlib
import io
import statistics
from typing import Any

import pytest
from PIL import Image

from datafiles import REFERENCE_CSV, TESTDATA

PHOTO_12MP = "reg-test-input/exif-rotn/exif-rotn-1.jpg"
PICKED = (
    f"pdq/{PHOTO_12MP}",
    "pdq/misc-images/c.png",
    "pdq/misc-images/modes/PA.webp",
    "video/doorknob-hd-no-bar.mp4",
)
ALLOWED_PATHS = {"/demo.html", "/js/pdq.js", "/js/md5.js", "/js/png.js", "/js/hashing.js"}


def _reference() -> dict[str, dict[str, str]]:
    with REFERENCE_CSV.open(newline="") as fh:
        return {row["path"]: row for row in csv.DictReader(fh)}


def test_demo_page_sends_nothing(fresh_page: Any, site: Any) -> None:
    requests: list[Any] = []
    fresh_page.context.on("request", lambda request: requests.append(request))
    fresh_page.goto(f"{site.url}/demo.html")
    heic = io.BytesIO()
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    Image.new("RGB", (80, 60), (200, 120, 40)).save(heic, format="HEIF")
    heic_path = site.pages / "picked.heic"
    heic_path.write_bytes(heic.getvalue())
    files = [TESTDATA / p for p in PICKED] + [heic_path]
    fresh_page.set_input_files("#file", [str(f) for f in files])
    fresh_page.wait_for_function(
        f"() => document.getElementById('status').textContent === 'done'"
        f" && window.demoResults.length === {len(files)}",
        timeout=60_000,
    )
    results = fresh_page.evaluate("() => window.demoResults")
    for r in results:
        print(
            f"\npicked {r['name']}: {r['where']}, "
            + ", ".join(f"{k} {v:.0f}" for k, v in r["timings"].items())
        )
    fresh_page.wait_for_timeout(300)  # anything sent after the hashes were shown is caught too

    ref = _reference()
    by_name = {r["name"]: r for r in results}
    for path in files:
        got = by_name[path.name]
        assert got["md5"] == hashlib.md5(path.read_bytes()).hexdigest()
        key = str(path.relative_to(TESTDATA / "pdq")) if "pdq" in path.parts else None
        if key in ref:
            assert got["pdq"] == ref[key]["pdq"]
    assert by_name["picked.heic"]["pdq"] is None
    assert by_name["doorknob-hd-no-bar.mp4"]["media_kind"] == "video"
    assert fresh_page.locator("#out tbody tr").count() == len(files)

    base = site.url
    seen = []
    for request in requests:
        url = request.url
        assert url.startswith(base + "/"), f"request off the page's own server: {url}"
        seen.append(url[len(base) :].split("?", 1)[0])
        assert request.method == "GET", url
        assert request.post_data_buffer is None, url
    assert set(seen) <= ALLOWED_PATHS, seen
    assert "/demo.html" in seen
    # The worker loads hashing.js (again) and, through importScripts, pdq.js, md5.js, png.js.
    assert {"/js/pdq.js", "/js/md5.js", "/js/png.js", "/js/hashing.js"} <= set(seen)


@pytest.mark.parametrize("where", ["worker", "page"])
def test_time_to_hash_a_12mp_photo(harness: Any, site: Any, where: str) -> None:
    """Measured, not asserted: docs/browser-hashing.md reports these numbers."""
    ref = _reference()[PHOTO_12MP]
    runs = []
    for _ in range(5):
        r = harness.evaluate(
            """async ([url, worker]) => {
                const blob = await (await fetch(url)).blob();
                return await SafeSpaceHashing.hashFile(blob, {worker});
            }""",
            [f"{site.url}/testdata/pdq/{PHOTO_12MP}", where == "worker"],
        )
        assert (r["pdq"], r["md5"], r["where"]) == (ref["pdq"], ref["md5"], where)
        runs.append(r["timings"])
    median = {k: statistics.median(t[k] for t in runs[1:]) for k in runs[0]}
    print(
        f"\n12 MP JPEG in the {where}: median of 4 warm runs "
        + ", ".join(f"{k} {v:.0f}" for k, v in median.items())
        + f"; first run total {runs[0]['total_ms']:.0f} ms"
    )
