"""The md5 signal type against the signal type contract (signal_type_contract.py)."""

from __future__ import annotations

from signal_type_contract import SignalTypeContract

from safespace.signals import MD5


class TestMD5Contract(SignalTypeContract):
    signal_type = MD5
