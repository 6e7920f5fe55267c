"""The frame index for banked videos agrees with vPDQ's brute-force definition, and says where."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safespace.errors import InvalidInput
from safespace.index import FrameIndex, VideoThresholds
from safespace.index._frames import brute_force_match, time_ranges
from safespace.signals import dihedral_variants


@dataclass(frozen=True)
class Frame:
    pdq: str
    quality: int
    timestamp: float


def _hash(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _flip(pdq: str, bits: int, rng: random.Random) -> str:
    value = int(pdq, 16)
    for bit in rng.sample(range(256), bits):
        value ^= 1 << bit
    return f"{value:064x}"


def _video(rng: random.Random, n: int, quality: int = 90) -> list[Frame]:
    return [Frame(_hash(rng), quality, float(i)) for i in range(n)]


def test_a_copy_matches_its_original_fully_and_nothing_else() -> None:
    rng = random.Random(1)
    index = FrameIndex()
    videos = {vid: _video(rng, 30) for vid in range(1, 21)}
    for vid, frames in videos.items():
        assert index.add(vid, frames) == 30
    noisy = [Frame(_flip(f.pdq, 10, rng), f.quality, f.timestamp) for f in videos[7]]
    (match,) = index.search(noisy)
    assert (match.video_id, match.query_match_percent, match.compared_match_percent) == (
        7,
        100.0,
        100.0,
    )
    assert match.distance == 10
    assert match.query_ranges == ((0.0, 29.0),) == match.compared_ranges


def test_a_trimmed_copy_says_which_part_of_the_original_it_is() -> None:
    rng = random.Random(2)
    index = FrameIndex()
    original = _video(rng, 60)
    index.add(5, original)
    clip = [Frame(f.pdq, f.quality, f.timestamp - 20.0) for f in original[20:35]]
    (match,) = index.search(clip)
    assert match.query_match_percent == 100.0
    assert match.compared_match_percent == 25.0  # 15 of 60 frames
    assert match.query_ranges == ((0.0, 14.0),)
    assert match.compared_ranges == ((20.0, 34.0),)


def test_the_query_threshold_is_a_share_of_the_query_s_distinct_good_frames() -> None:
    rng = random.Random(3)
    index = FrameIndex()
    banked = _video(rng, 10)
    index.add(1, banked)
    # 7 banked frames, 3 unrelated ones, 5 repeats of a banked one, 4 plain (low quality).
    query = banked[:7] + _video(rng, 3) + [banked[0]] * 5 + _video(rng, 4, quality=10)
    assert index.search(query) == []  # 70% < 80% (repeats and plain frames do not count)
    (match,) = index.search(query, VideoThresholds(query_percent=70.0))
    assert (match.query_match_percent, match.compared_match_percent) == (70.0, 70.0)
    assert index.search(query, VideoThresholds(query_percent=70.0, compared_percent=71.0)) == []


def test_plain_frames_are_never_indexed_or_matched() -> None:
    rng = random.Random(4)
    index = FrameIndex()
    plain = _video(rng, 5, quality=49)
    assert index.add(1, plain) == 0
    assert 1 not in index
    index.add(2, _video(rng, 5))
    assert index.search(plain) == []


def test_thresholds_can_differ_by_video() -> None:
    rng = random.Random(5)
    index = FrameIndex()
    frames = _video(rng, 10)
    index.add(1, frames)
    index.add(2, frames)
    query = [Frame(_flip(f.pdq, 12, rng), f.quality, f.timestamp) for f in frames]
    strict = {1: VideoThresholds(distance=8), 2: VideoThresholds(distance=16)}
    with pytest.raises(InvalidInput, match="max_distance"):
        index.search(query, strict.__getitem__)
    found = index.search(query, strict.__getitem__, max_distance=16)
    assert [m.video_id for m in found] == [2]


def test_removing_a_video_keeps_the_frames_another_video_shares() -> None:
    rng = random.Random(6)
    index = FrameIndex()
    shared = _video(rng, 10)
    index.add(1, shared)
    index.add(2, shared + _video(rng, 10))
    assert index.frame_count == 20
    assert index.remove(1) is True
    assert index.remove(1) is False
    assert index.frame_count == 20
    (match,) = index.search(shared)
    assert (match.video_id, match.compared_match_percent) == (2, 50.0)
    index.remove(2)
    assert index.frame_count == 0
    assert len(index) == 0
    assert index.search(shared) == []


def test_adding_an_id_again_replaces_the_video() -> None:
    rng = random.Random(7)
    index = FrameIndex()
    first, second = _video(rng, 10), _video(rng, 10)
    index.add(1, first)
    index.add(1, second)
    assert index.frame_count == 10
    assert index.search(first) == []
    assert [m.video_id for m in index.search(second)] == [1]


def test_a_mirrored_copy_matches_only_with_dihedral_on() -> None:
    rng = random.Random(8)
    index = FrameIndex()
    frames = _video(rng, 10)
    index.add(1, frames)
    mirrored = [Frame(dihedral_variants(f.pdq)[5], f.quality, f.timestamp) for f in frames]
    assert index.search(mirrored) == []
    (match,) = index.search(mirrored, dihedral=True)
    assert match.query_match_percent == 100.0


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    flips=st.lists(st.integers(0, 60), min_size=1, max_size=12),
    distance=st.integers(0, 40),
)
def test_percentages_equal_brute_force(seed: int, flips: list[int], distance: int) -> None:
    rng = random.Random(seed)
    index = FrameIndex()
    banked = {vid: _video(rng, rng.randint(1, 8)) for vid in range(1, 6)}
    for vid, frames in banked.items():
        index.add(vid, frames)
    source = banked[rng.randint(1, 5)]
    query = [
        Frame(_flip(source[i % len(source)].pdq, k, rng), rng.choice([30, 60, 90]), float(i))
        for i, k in enumerate(flips)
    ]
    thresholds = VideoThresholds(distance=distance, query_percent=0.0, compared_percent=0.0)
    got = {
        m.video_id: (m.query_match_percent, m.compared_match_percent)
        for m in index.search(query, thresholds)
    }
    want = {}
    for vid, frames in banked.items():
        q, c = brute_force_match(query, frames, distance)
        if q > 0:
            want[vid] = (q, c)
    assert got == want


def test_time_ranges_join_frames_one_step_apart() -> None:
    assert time_ranges([0, 1, 2, 5, 6, 10]) == ((0, 2), (5, 6), (10, 10))
    assert time_ranges([0.0, 0.5, 1.0, 3.0], step=0.5) == ((0.0, 1.0), (3.0, 3.0))
    assert time_ranges([]) == ()


@pytest.mark.parametrize(
    "kwargs",
    [{"distance": -1}, {"distance": 200}, {"query_percent": 101}, {"compared_percent": -0.5}],
)
def test_bad_thresholds_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidInput):
        VideoThresholds(**kwargs)  # type: ignore[arg-type]


def test_a_hash_held_by_three_videos_stays_until_the_last_goes() -> None:
    rng = random.Random(9)
    index = FrameIndex()
    common = _video(rng, 4)
    assert index.add_many([(1, common), (2, common), (3, common + _video(rng, 4))]) == [4, 4, 8]
    assert index.frame_count == 8
    for gone, left in ((2, [1, 3]), (1, [3])):
        index.remove(gone)
        assert sorted(m.video_id for m in index.search(common)) == left
    index.remove(3)
    assert index.frame_count == 0
