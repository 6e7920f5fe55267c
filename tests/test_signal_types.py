import pytest
from hypothesis import given
from hypothesis import strategies as st

from safespace.errors import InvalidSignal
from safespace.signals import SIGNAL_TYPES, get_signal_type, normalize


def test_normalize_lowercases_and_strips_prefix() -> None:
    assert normalize("PDQ", "0x" + "AB" * 32) == ("pdq", "ab" * 32)
    assert normalize(" video_md5 ", "F" * 32) == ("md5", "f" * 32)


@pytest.mark.parametrize(
    ("kind", "value", "reason"),
    [
        ("pdq", "ab" * 31, "64 hex digits, got 62"),
        ("md5", "zz" * 16, "hexadecimal"),
        ("sha256", "", "got 0"),
    ],
)
def test_bad_values_say_why(kind: str, value: str, reason: str) -> None:
    with pytest.raises(InvalidSignal, match=reason):
        normalize(kind, value)


def test_unknown_type_lists_known_ones() -> None:
    known = ", ".join(sorted(SIGNAL_TYPES))
    with pytest.raises(InvalidSignal, match=f"known: {known}"):
        get_signal_type("tlsh")


HEX_TYPES = sorted(n for n, t in SIGNAL_TYPES.items() if getattr(t, "hex_length", None))


@given(st.sampled_from(HEX_TYPES), st.data())
def test_any_hex_of_the_right_length_round_trips(kind: str, data: st.DataObject) -> None:
    length = SIGNAL_TYPES[kind].hex_length
    value = data.draw(st.text(alphabet="0123456789abcdefABCDEF", min_size=length, max_size=length))
    assert normalize(kind, value) == (kind, value.lower())
