"""The vpdq signal type against the signal type contract (signal_type_contract.py), and its
storage: a value longer than the entry's value column is kept whole beside it."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import strategies as st
from signal_type_contract import SignalTypeContract

from safespace.banks import BankService, Matcher
from safespace.banks.formats import HashRecord
from safespace.index import FrameIndex, VideoThresholds
from safespace.index._frames import brute_force_match
from safespace.signals import IndexKind, get_signal_type, hamming
from safespace.signals._video import VpdqFeature, signal_from_frames, signal_to_features
from safespace.signals._vpdq_type import VPDQ
from safespace.store import open_database

_HEX = "0123456789abcdef"


def _pdq(rng: random.Random) -> str:
    return f"{rng.getrandbits(256):064x}"


def _flip(pdq: str, rng: random.Random, bits: int) -> str:
    number = int(pdq, 16)
    for bit in rng.sample(range(256), bits):
        number ^= 1 << bit
    return f"{number:064x}"


class TestVPDQContract(SignalTypeContract):
    signal_type = VPDQ
    invalid = (
        ("", "at least one frame"),
        ("[]", "at least one frame"),
        ("[1, 2]", "JSON list of strings"),
        ('{"a": 1}', "JSON list of strings"),
        ('["' + "z" * 64 + ',100,0.0"]', "64 hexadecimal digits"),
        ('["' + "a" * 64 + ',101,0.0"]', "quality"),
        ('["' + "a" * 64 + ',100,-1"]', "timestamp"),
        ('["' + "a" * 64 + ',100"]', "3 fields"),
        ("0,100," + "a" * 64, "4 fields"),
        ("1,100," + "a" * 64 + ",0.0\n0,100," + "b" * 64 + ",1.0", "increase"),
        (5, "must be a string"),
    )

    def canonical_values(self) -> st.SearchStrategy[str]:
        frame = st.tuples(
            st.binary(min_size=32, max_size=32).map(bytes.hex),
            st.integers(0, 100),
            st.sampled_from([0.0, 0.5, 1.0, 12.345, 59.94, 123.0, 3601.5]),
        )
        return st.lists(frame, min_size=1, max_size=6).map(
            lambda fs: VPDQ.normalize(signal_from_frames([VpdqFeature(p, q, t) for p, q, t in fs]))
        )

    def random_value(self, rng: random.Random) -> str:
        frames = [VpdqFeature(_pdq(rng), 100, float(i)) for i in range(rng.randrange(4, 9))]
        return VPDQ.normalize(signal_from_frames(frames))

    def spellings(self, canonical: str) -> st.SearchStrategy[str]:
        features = signal_to_features(canonical)
        lines = "".join(
            f"{i},{f.quality},{f.pdq.upper()},{f.timestamp:.3f}\n" for i, f in enumerate(features)
        )
        return st.sampled_from([canonical, f"  {canonical}\n", canonical.upper(), lines])

    def near(self, value: str, rng: random.Random, bits: int) -> str:
        frames = [
            VpdqFeature(_flip(f.pdq, rng, bits), f.quality, f.timestamp)
            for f in signal_to_features(value)
        ]
        return signal_from_frames(frames)

    def check_frame_index(self, rng: random.Random) -> None:
        kind = self.signal_type
        banked = [self.random_value(rng) for _ in range(30)]
        index = FrameIndex(quality=kind.frame_quality)
        for i, v in enumerate(banked):
            index.add(i, kind.frames(v))
        queries = [self.near(rng.choice(banked), rng, rng.randrange(0, 40)) for _ in range(20)]
        # A query holding part of a banked video, and one of nothing banked.
        part = signal_to_features(banked[3])[:2]
        queries += [signal_from_frames(part), self.random_value(rng)]
        t = VideoThresholds()
        for q in queries:
            qf = kind.frames(q)
            expected = set()
            for i, v in enumerate(banked):
                qp, cp = brute_force_match(qf, kind.frames(v), t.distance, kind.frame_quality)
                if qp >= t.query_percent and cp >= t.compared_percent:
                    expected.add(i)
            assert {m.video_id for m in index.search(qf, t)} == expected


def test_vpdq_is_a_frames_type_with_its_thresholds() -> None:
    kind = get_signal_type("vpdq")
    assert kind is VPDQ
    assert kind.index is IndexKind.FRAMES
    assert kind.default_thresholds() == {
        "distance": 31,
        "query_match_percent": 80,
        "compared_match_percent": 0,
    }
    assert kind.frame_quality == 50
    assert kind.exchange_name("threatexchange") == "vpdq"


def test_distance_is_the_worst_frame_both_ways() -> None:
    rng = random.Random(7)
    a = [VpdqFeature(_pdq(rng), 100, float(i)) for i in range(3)]
    b = [VpdqFeature(_flip(f.pdq, rng, 5), 100, f.timestamp) for f in a]
    sa, sb = signal_from_frames(a), signal_from_frames(b)
    assert VPDQ.distance(sa, sb) == max(hamming(x.pdq, y.pdq) for x, y in zip(a, b, strict=True))


def test_a_long_value_is_stored_by_digest_and_kept_whole(tmp_path: Path) -> None:
    rng = random.Random(11)
    value = VPDQ.normalize(
        signal_from_frames([VpdqFeature(_pdq(rng), 90, float(i)) for i in range(120)])
    )
    assert len(value) > 256
    db = open_database(f"sqlite:///{tmp_path / 'v.db'}")
    try:
        service = BankService(db)
        service.create_bank("videos")
        added = service.add_entries("videos", [HashRecord("vpdq", value, note="clip.mp4")] * 2)
        assert (added.added, added.duplicates) == (1, 1)
        again = service.add_entries("videos", [HashRecord("vpdq", value)])
        assert again.added == 0  # the unique key holds on the digest
        [entry] = service.list_entries("videos")
        assert entry.value == VPDQ.stored_value(value)
        for fmt in ("csv", "hma"):
            data = service.export_data("videos", fmt)
            service.create_bank(f"copy-{fmt}")
            result = service.import_data(f"copy-{fmt}", data, fmt=fmt)
            assert result.added == 1, fmt
            assert service.export_data(f"copy-{fmt}", fmt) == data
        matcher = Matcher.from_database(db)
        found = matcher.match([("vpdq", value)])
        assert {m.bank for m in found.matches} == {"videos", "copy-csv", "copy-hma"}
        frames = found.matches[0].frames
        assert frames is not None
        assert frames["query_match_percent"] == 100.0
        assert frames["query_ranges"] == [[0.0, 119.0]]
        # Removing, disabling and withdrawing reach the matcher through the change log.
        service.set_entry_enabled(entry.id, False)
        service.remove_entries([service.list_entries("copy-csv")[0].id])
        matcher.refresh()
        assert {m.bank for m in matcher.match([("vpdq", value)]).matches} == {"copy-hma"}
        service.delete_bank("copy-csv")
        service.delete_bank("copy-hma")
        service.set_entry_enabled(entry.id, True)
        matcher.refresh()
        assert {m.bank for m in matcher.match([("vpdq", value)]).matches} == {"videos"}
    finally:
        db.close()
