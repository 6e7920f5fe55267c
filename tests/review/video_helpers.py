"""An app whose banks know one generated video (issue 15), for the review tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from review_helpers import ReviewApp

from safespace.banks import BankService
from safespace.banks.formats._base import HashRecord
from safespace.signals._video import hash_video, signal_from_frames
from video_clips import IMAGE_TYPE, VIDEO_TYPE, poll, video


@dataclass
class VideoBanks:
    """An app whose bank ``videos`` holds the original's vPDQ and bank ``stills`` the PDQ
    of its frame at 3 s; ``api`` posts with a match+curate key."""

    app: ReviewApp
    api: TestClient
    headers: dict[str, str]
    original: bytes

    def match(self, data: bytes, content_id: str | None = None) -> dict[str, Any]:
        fields = {"content_id": content_id} if content_id else {}
        files = {"file": ("clip.mp4", data, "video/mp4")}
        response = self.api.post("/v1/match", headers=self.headers, files=files, data=fields)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def video_banks(app: ReviewApp) -> VideoBanks:
    original = video()
    frames = hash_video(original)
    still = next(f for f in frames if abs(f.timestamp - 3.0) < 0.05)
    banks = BankService(app.app.state.safespace.db)
    banks.create_bank("videos")
    banks.add_entries("videos", [HashRecord(VIDEO_TYPE, signal_from_frames(frames))])
    banks.create_bank("stills")
    banks.add_entries("stills", [HashRecord(IMAGE_TYPE, still.pdq)])
    out = VideoBanks(app, TestClient(app.app), app.api_key(), original)
    app.clients.append(out.api)
    trimmed = video(start=2.0, seconds=4.0)

    def both_loaded() -> bool:
        names = {g["bank"]["name"] for g in out.match(trimmed)["matches"]}
        return names >= {"videos", "stills"}

    assert poll(both_loaded), "the banks' video and still did not load"
    return out
