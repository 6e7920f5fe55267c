"""The contract every signal type's tests inherit (in the spirit of python-threatexchange's
``SignalTypeAutoTest``): subclass :class:`SignalTypeContract` as ``Test<Type>``, set
``signal_type`` and, for a type that is not plain hex, override :meth:`canonical_values`,
:meth:`random_value`, :meth:`spellings`, :meth:`near` and :meth:`invalid_values`.

It checks that the type is registered under its name and aliases; that normalisation is
idempotent and maps every accepted spelling to one canonical value (hypothesis); that invalid
values are refused with an :class:`InvalidSignal` that names the type; that thresholds are
consistent; that the index the type declares finds exactly what brute force over its distance
finds; that the matcher finds banked values; and that every exchange format that supports the
type writes and reads it back unchanged.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safespace.banks import BankService, Matcher
from safespace.banks._snapshot import ExactTable
from safespace.banks.formats import FORMATS, HashRecord
from safespace.errors import InvalidSignal
from safespace.index import PDQIndex
from safespace.signals import (
    SIGNAL_TYPES,
    HexSignalType,
    IndexKind,
    SignalType,
    get_signal_type,
    normalize,
)
from safespace.store import open_database

__all__ = ["SignalTypeContract"]


class SignalTypeContract:
    """Inherit and set ``signal_type``; the defaults suit :class:`HexSignalType` types."""

    signal_type: ClassVar[SignalType]
    # Values that must be refused: (value, part of the reason).
    invalid: ClassVar[tuple[tuple[object, str], ...]] = ()

    # --- what a subclass may override ----------------------------------------------------

    def canonical_values(self) -> st.SearchStrategy[str]:
        kind = self._hex()
        return st.binary(min_size=kind.width, max_size=kind.width).map(bytes.hex)

    def random_value(self, rng: random.Random) -> str:
        """One canonical value, from ``rng`` (for the tests that are not hypothesis')."""
        kind = self._hex()
        return f"{rng.getrandbits(kind.width * 8):0{kind.hex_length}x}"

    def spellings(self, canonical: str) -> st.SearchStrategy[str]:
        """Other ways callers write ``canonical`` that must normalise to it."""
        return st.sampled_from(
            [canonical, canonical.upper(), "0x" + canonical, f"  {canonical}\n", "0X" + canonical]
        )

    def near(self, value: str, rng: random.Random, bits: int) -> str:
        """A value ``bits`` away from ``value`` by the type's distance (distance types)."""
        kind = self._hex()
        number = int(value, 16)
        for bit in rng.sample(range(kind.hex_length * 4), bits):
            number ^= 1 << bit
        return f"{number:0{kind.hex_length}x}"

    def invalid_values(self) -> list[tuple[object, str]]:
        kind = self.signal_type
        out: list[tuple[object, str]] = list(self.invalid)
        if isinstance(kind, HexSignalType):
            n = kind.hex_length
            out += [
                ("", f"{n} hex digits, got 0"),
                ("a" * (n - 1), f"got {n - 1}"),
                ("a" * (n + 2), f"got {n + 2}"),
                ("g" * n, "hexadecimal"),
                ("é" * n, "hexadecimal"),
                ("a b" + "c" * (n - 3), "hexadecimal"),
            ]
        return out

    def check_frame_index(self, rng: random.Random) -> None:
        """For a ``FRAMES`` type: the frame index's answers equal brute force over
        ``distance`` (and the frame thresholds); its tests implement this."""
        raise NotImplementedError(f"{self.signal_type.name}: implement check_frame_index")

    def check_keyword_index(self, rng: random.Random) -> None:
        """For a ``KEYWORDS`` type: the automaton finds exactly the keywords a plain scan of
        the normalised text finds; its tests implement this."""
        raise NotImplementedError(f"{self.signal_type.name}: implement check_keyword_index")

    def _hex(self) -> HexSignalType:
        kind = self.signal_type
        assert isinstance(kind, HexSignalType), "override the value strategies for this type"
        return kind

    # --- the contract ----------------------------------------------------------------------

    def test_registered_under_its_name_and_aliases(self) -> None:
        kind = self.signal_type
        assert SIGNAL_TYPES[kind.name] is kind
        assert kind.name == kind.name.lower()
        assert kind.description
        for alias in (kind.name, *kind.aliases):
            assert get_signal_type(alias) is kind
            assert get_signal_type(f" {alias.upper()} ") is kind

    def test_normalisation_round_trips(self) -> None:
        kind = self.signal_type

        # Built per call: hypothesis wants one function per test class (executor).
        @settings(max_examples=60, deadline=None)
        @given(st.data())
        def check(data: st.DataObject) -> None:
            canonical = data.draw(self.canonical_values())
            assert kind.normalize(canonical) == canonical
            spelled = data.draw(self.spellings(canonical))
            assert kind.normalize(spelled) == canonical
            assert normalize(kind.name, spelled) == (kind.name, canonical)
            for alias in kind.aliases:
                assert normalize(alias, spelled) == (kind.name, canonical)

        check()

    def test_invalid_values_are_refused_saying_why(self) -> None:
        kind = self.signal_type
        cases = self.invalid_values()
        assert cases, "a signal type must refuse something"
        for value, reason in cases:
            with pytest.raises(InvalidSignal) as caught:
                kind.normalize(value)  # type: ignore[arg-type]
            assert kind.name in caught.value.message
            assert reason in caught.value.message, (value, caught.value.message)

    def test_thresholds_are_consistent(self) -> None:
        kind = self.signal_type
        names = [t.name for t in kind.thresholds]
        assert len(set(names)) == len(names)
        for t in kind.thresholds:
            assert t.minimum <= t.default <= t.maximum
            assert t.check(kind.name, t.default) == t.default
        if kind.index is IndexKind.EXACT:
            assert not kind.by_distance
            assert kind.default_threshold is None
            assert kind.threshold_bounds is None
            assert kind.width is not None  # exact tables hold fixed-width digests
        elif kind.index is IndexKind.KEYWORDS:
            assert not kind.by_distance  # a keyword is in a text or not
        else:
            assert kind.by_distance
            assert kind.default_threshold is not None

    def test_distance_is_symmetric_and_zero_on_equal_values(self) -> None:
        kind = self.signal_type

        @settings(max_examples=20, deadline=None)
        @given(st.data())
        def check(data: st.DataObject) -> None:
            a, b = data.draw(self.canonical_values()), data.draw(self.canonical_values())
            if not kind.by_distance:
                assert kind.distance(a, b) is None
                return
            assert kind.distance(a, a) == 0
            assert kind.distance(a, b) == kind.distance(b, a)

        check()

    def test_index_finds_exactly_what_brute_force_finds(self) -> None:
        kind = self.signal_type
        rng = random.Random(f"{kind.name}-index")
        banked = list(dict.fromkeys(self.random_value(rng) for _ in range(300)))
        if kind.index is IndexKind.EXACT:
            assert kind.width is not None
            keys = [kind.key(v) for v in banked]
            assert all(len(k) == kind.width for k in keys)
            table = ExactTable.build(kind.width, keys, list(range(len(banked))))
            queries = [*banked[:50], *(self.random_value(rng) for _ in range(50))]
            for q in queries:
                expected = [i for i, v in enumerate(banked) if v == q]
                assert table.lookup(kind.key(q)) == expected
            return
        if kind.index is IndexKind.KEYWORDS:
            self.check_keyword_index(rng)
            return
        if kind.index is IndexKind.FRAMES:
            self.check_frame_index(rng)
            return
        assert kind.index is IndexKind.PDQ_MIH, f"no brute-force check for {kind.index} yet"
        radius = kind.default_threshold
        assert radius is not None
        queries = [self.near(rng.choice(banked), rng, rng.randrange(0, radius + 8))
                   for _ in range(40)]  # fmt: skip
        queries += [self.random_value(rng) for _ in range(10)]
        index = PDQIndex()
        raw = np.frombuffer(bytes.fromhex("".join(banked)), dtype=np.uint8).reshape(-1, 32)
        index.add(np.arange(len(banked), dtype=np.int64), raw)
        for q, hits in zip(queries, index.search(queries, radius=radius), strict=True):
            expected = {i: d for i, v in enumerate(banked) if (d := kind.distance(q, v)) <= radius}
            assert dict(hits) == expected

    def test_the_matcher_finds_banked_values(self, tmp_path: Path) -> None:
        kind = self.signal_type
        rng = random.Random(f"{kind.name}-matcher")
        values = list(dict.fromkeys(self.random_value(rng) for _ in range(20)))
        db = open_database(f"sqlite:///{tmp_path / 'contract.db'}")
        try:
            service = BankService(db)
            service.create_bank("contract")
            service.add_entries("contract", [HashRecord(kind.name, v) for v in values])
            matcher = Matcher.from_database(db, min_quality=0)
            for v in values:
                query = self.near(v, rng, 2) if kind.by_distance else v
                found = matcher.match([(kind.name, query)])
                assert kind.stored_value(v) in {m.value for m in found.matches}
                assert all(m.signal_type == kind.name for m in found.matches)
        finally:
            db.close()

    def test_exchange_formats_round_trip(self) -> None:
        kind = self.signal_type
        rng = random.Random(f"{kind.name}-formats")
        values = list(dict.fromkeys(self.random_value(rng) for _ in range(5)))
        carried = [f for f in FORMATS.values() if f.supports(kind)]
        assert carried, "every signal type should travel in some exchange format"
        for fmt in carried:
            records = [HashRecord(kind.name, v) for v in values]
            result = fmt.parse(fmt.write(records))
            assert not result.rejects, (fmt.name, result.rejects)
            assert [(r.signal_type, r.value) for _, r in result.records] == [
                (kind.name, v) for v in values
            ], fmt.name
        for fmt in FORMATS.values():
            wire = kind.exchange_name(fmt.name)
            if wire is not None:
                assert fmt.supports(kind)
