"""The sha256 signal type against the signal type contract (signal_type_contract.py)."""

from __future__ import annotations

from signal_type_contract import SignalTypeContract

from safespace.signals import SHA256


class TestSHA256Contract(SignalTypeContract):
    signal_type = SHA256
