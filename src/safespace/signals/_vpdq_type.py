"""The vPDQ signal type: a video as the PDQ hashes of its sampled frames, matched frame by frame.

Hashing lives in ``_video.py`` (PyAV, loaded only when a video is hashed or a value parsed);
the frame index and the match semantics in :mod:`safespace.index` (``FrameIndex``). A value is
python-threatexchange's vPDQ signal string, a JSON list of ``"pdq_hex,quality,timestamp"``
(what HMA's API and its local file carry); the reference's hash-file lines
(``frame_number,quality,pdq_hex,timestamp``) are accepted on input too. Values are longer
than a bank entry's value column, so banks store their SHA-256 there and keep them whole
beside the entry (``digest_stored``).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

from safespace.errors import InvalidSignal
from safespace.signals._types import (
    DISTANCE,
    FrameHash,
    IndexKind,
    MediaKind,
    SignalType,
    Threshold,
)

__all__ = ["VPDQ", "VpdqSignalType"]

MAX_FRAMES = 100_000  # one value: about 28 hours at the default one frame a second


def _video() -> Any:
    from safespace.signals import _video  # lazy: imports PyAV, which images never need

    return _video


class VpdqSignalType(SignalType):
    name = "vpdq"
    aliases = ("video_vpdq",)
    description = "vPDQ: PDQ hashes of a video's frames, matched frame by frame"
    media = frozenset({MediaKind.VIDEO})
    index = IndexKind.FRAMES
    thresholds = (
        Threshold(DISTANCE, 31, 0, 128, "largest Hamming distance at which a frame matches"),
        Threshold("query_match_percent", 80, 0, 100,
                  "share of the query's distinct good frames that must match (%)"),
        Threshold("compared_match_percent", 0, 0, 100,
                  "share of the banked video's distinct good frames that must match (%)"),
    )  # fmt: skip
    exchange_names = MappingProxyType({"threatexchange": "vpdq"})
    threatexchange_content = ("video",)
    digest_stored = True
    frame_quality = 50  # python-threatexchange's vPDQ matcher ignores frames below 50

    def normalize(self, value: str) -> str:
        """The python-threatexchange signal string of ``value`` (that string itself, or the
        reference's hash-file lines), frames in order; :class:`InvalidSignal` saying why."""
        if not isinstance(value, str):
            raise InvalidSignal("vpdq hash must be a string (a JSON list of frames)")
        text = value.strip()
        video = _video()
        try:
            if not text or text[0] in '[{"':  # JSON: the signal string
                features = video.signal_to_features(text)
            else:
                features = video.frames_from_vpdq_text(text)
        except InvalidSignal as exc:
            raise InvalidSignal(f"vpdq hash: {exc.message}") from None
        if len(features) > MAX_FRAMES:
            raise InvalidSignal(f"vpdq hash has {len(features)} frames, at most {MAX_FRAMES}")
        return str(video.signal_from_frames(features))

    def compute(self, signals: object) -> str | None:
        """The signal string of a hashed video: ``signals.vpdq`` when it is one, or made from
        its frames when it is a list of them."""
        value = getattr(signals, self.name, None)
        if isinstance(value, str):
            return value
        if isinstance(value, list | tuple) and value:
            return str(_video().signal_from_frames(value))
        return None

    def frames(self, canonical: str) -> Sequence[FrameHash]:
        return list(_video().signal_to_features(canonical))

    def distance(self, a: str, b: str) -> int:
        """The largest of the smallest frame distances, both ways (0: same frames)."""
        from safespace.signals._pdq import hamming

        fa, fb = self.frames(a), self.frames(b)
        one = max(min(hamming(x.pdq, y.pdq) for y in fb) for x in fa)
        other = max(min(hamming(y.pdq, x.pdq) for x in fa) for y in fb)
        return max(one, other)


VPDQ = VpdqSignalType()
