"""Videos matched end to end (issue 15): ``safespace bank add`` banks a generated video, and
edited copies of it match through ``/v1/match`` and ``safespace match``; a different video
does not; a still inside a video matches an image bank; snapshots give the same matches.

The videos are generated (benign moving pictures, as tests/signals/test_video_hashing.py
makes them), encoded with PyAV.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest
from api_helpers import Api, CliResult, poll
from PIL import Image

from safespace.banks import Matcher

FPS = 10
W, H = 320, 240
Frame = Callable[[int], npt.NDArray[np.uint8]]


def _scene(width: int, height: int, t: float, seed: int) -> npt.NDArray[np.uint8]:
    """A moving picture: gradients that drift, a box that slides and a disc that circles."""
    rng = np.random.default_rng(seed * 1000 + int(t * 1000))
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    red = 127 + 120 * np.sin((x / width * 3 + t * (0.7 + seed * 0.2)) * np.pi)
    green = 127 + 120 * np.cos((y / height * 2 - t * 0.5) * np.pi)
    blue = 255 * (x + y) / (width + height)
    rgb = np.stack([red, green, blue], axis=-1)
    bx = int((0.1 + 0.6 * ((t * 0.3 + seed * 0.17) % 1.0)) * width)
    rgb[int(0.2 * height) : int(0.2 * height) + height // 3, bx : bx + width // 4] = (250, 240, 40)
    cy = height * (0.6 + 0.1 * np.sin(t))
    cx = width * (0.3 + 0.2 * np.cos(t * 0.8))
    rgb[(y - cy) ** 2 + (x - cx) ** 2 < (min(width, height) / 6) ** 2] = (30, 60, 200)
    rgb += rng.normal(0, 4, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def _encode(path: Path, frames: list[npt.NDArray[np.uint8]], codec: str = "libx264") -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=FPS)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for picture in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _clip(seed: int = 0, start: float = 0.0, seconds: float = 8.0, w: int = W, h: int = H,
          edit: Callable[[npt.NDArray[np.uint8]], npt.NDArray[np.uint8]] = lambda p: p,
          ) -> list[npt.NDArray[np.uint8]]:  # fmt: skip
    n = int(seconds * FPS)
    return [edit(_scene(w, h, start + i / FPS, seed)) for i in range(n)]


def _brighter(p: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    return np.clip(p.astype(np.int16) + 40, 0, 255).astype(np.uint8)


def _letterbox(p: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    out = np.zeros((p.shape[0] + 80, p.shape[1], 3), dtype=np.uint8)
    out[40:-40] = p
    return out


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("videos")
    return {
        "original": _encode(d / "original.mp4", _clip()),
        "reencoded": _encode(d / "reencoded.avi", _clip(), codec="mpeg4"),
        "downscaled": _encode(d / "downscaled.mp4", _clip(w=160, h=120)),
        "trimmed": _encode(d / "trimmed.mp4", _clip(start=2.0, seconds=4.0)),
        "brightened": _encode(d / "brightened.mp4", _clip(edit=_brighter)),
        "mirrored": _encode(d / "mirrored.mp4", _clip(edit=lambda p: p[:, ::-1].copy())),
        "letterboxed": _encode(d / "letterboxed.mp4", _clip(edit=_letterbox)),
        "different": _encode(d / "different.mp4", _clip(seed=5)),
    }


def _still(t: float) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(_scene(W, H, t, 0)).save(buf, "PNG")
    return buf.getvalue()


EDITS = ("reencoded", "downscaled", "trimmed", "brightened")


def _video_matches(body: dict[str, Any], bank: str) -> list[dict[str, Any]]:
    return [
        e
        for group in body["matches"]
        if group["bank"]["name"] == bank
        for e in group["entries"]
        if "compared_match_percent" in e
    ]


def test_bank_add_then_edited_copies_match_and_a_different_video_does_not(
    api: Api, cli: Callable[..., CliResult], videos: dict[str, Path]
) -> None:
    assert cli("bank", "create", "videos").exit_code == 0
    added = cli("bank", "add", "videos", str(videos["original"]))
    assert added.exit_code == 0, added.stderr
    [row] = added.rows
    assert row["added"] == 3  # md5, sha256 and vpdq

    def upload(name: str, **fields: str) -> dict[str, Any]:
        response = api.upload("/v1/match", videos[name].read_bytes(), "match", **fields)
        assert response.status_code == 200, response.text
        return dict(response.json())

    assert poll(lambda: bool(_video_matches(upload("original"), "videos")))
    for name in EDITS:
        [m] = _video_matches(upload(name), "videos")
        assert m["query_match_percent"] >= 80, name
        assert m["metadata"]["note"] == "original.mp4"
        assert m["query_ranges"], name
        assert m["compared_ranges"], name
    trimmed = _video_matches(upload("trimmed"), "videos")[0]
    start, end = trimmed["compared_ranges"][0]
    assert 1.5 <= start <= 2.5
    assert 4.5 <= end <= 6.5  # the trimmed copy is seconds 2-6 of the original
    assert not _video_matches(upload("different"), "videos")
    assert not _video_matches(upload("mirrored"), "videos")
    assert _video_matches(upload("mirrored", dihedral="true"), "videos")
    assert not _video_matches(upload("letterboxed"), "videos")
    assert _video_matches(upload("letterboxed", crop_borders="true"), "videos")

    # The CLI matches the same files the same way.
    for name in (*EDITS, "different"):
        result = cli("match", "--bank", "videos", str(videos[name]))
        assert result.exit_code == 0, result.stderr
        hits = [r for r in result.rows if r.get("frames", {}).get("compared_match_percent")]
        assert bool(hits) == (name != "different"), name


def test_a_still_inside_a_video_matches_an_image_bank(
    api: Api, cli: Callable[..., CliResult], videos: dict[str, Path], tmp_path: Path
) -> None:
    still = tmp_path / "still.png"
    still.write_bytes(_still(3.0))
    assert cli("bank", "create", "stills").exit_code == 0
    assert cli("bank", "add", "stills", str(still)).exit_code == 0

    def stills() -> list[dict[str, Any]]:
        body = api.upload("/v1/match", videos["original"].read_bytes(), "match").json()
        return [e for g in body["matches"] if g["bank"]["name"] == "stills" for e in g["entries"]]

    assert poll(lambda: bool(stills()))
    [hit] = [e for e in stills() if "query_timestamp" in e]
    assert 2.0 <= hit["query_timestamp"] <= 4.0
    result = cli("match", "--bank", "stills", str(videos["different"]))
    assert not result.rows


def test_exports_round_trip_and_a_snapshot_gives_the_same_matches(
    api: Api, cli: Callable[..., CliResult], videos: dict[str, Path], tmp_path: Path
) -> None:
    assert cli("bank", "create", "videos").exit_code == 0
    assert cli("bank", "add", "videos", str(videos["original"])).exit_code == 0
    for fmt in ("csv", "hma"):
        out = tmp_path / f"videos.{fmt}"
        assert cli("bank", "export", "videos", "--format", fmt, "-o", str(out)).exit_code == 0
        assert cli("bank", "create", f"copy-{fmt}").exit_code == 0
        imported = cli("bank", "import", f"copy-{fmt}", str(out), "--format", fmt)
        assert imported.exit_code == 0, imported.stderr
    db = api.state.db
    fresh = Matcher.from_database(db)
    folder = tmp_path / "snapshots"
    fresh.save_snapshot(folder)
    loaded = Matcher.load_or_build(db, folder)
    assert loaded.snapshot is not None
    from safespace.signals import hash_file
    from safespace.signals._video_query import video_query

    for name in ("original", "trimmed", "different"):
        query = video_query(videos[name], hash_file(videos[name]))
        a = [m.to_dict() for m in fresh.match(query).matches]
        b = [m.to_dict() for m in loaded.match(query).matches]
        assert a == b, name
        vpdq = {m["bank"] for m in a if m.get("frames")}
        assert vpdq == (set() if name == "different" else {"videos", "copy-csv", "copy-hma"})


def test_hma_surface_takes_a_vpdq_signal_string(api: Api) -> None:
    from safespace.signals._video import VpdqFeature, signal_from_frames

    rng = np.random.default_rng(3)
    hashes = [bytes(rng.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(12)]
    signal = signal_from_frames([VpdqFeature(h, 100, float(i)) for i, h in enumerate(hashes)])
    assert api.post("/c/banks", json={"name": "V"}).status_code == 201
    added = api.post("/c/bank/V/signal", "curate", json={"vpdq": signal, "note": "clip"})
    assert added.status_code == 200, added.text
    assert added.json()["signals"] == {"vpdq": signal}
    api.state.matcher.refresh_now()
    found = api.get("/m/lookup", "match", params={"signal_type": "vpdq", "signal": signal})
    assert found.status_code == 200, found.text
    assert [m["bank_content_id"] for m in found.json()["V"]] == [added.json()["id"]]
    other = signal_from_frames([VpdqFeature("0" * 64, 100, 0.0)])
    none = api.get("/m/lookup", "match", params={"signal_type": "vpdq", "signal": other})
    assert none.json() == {}
