"""The pdq signal type against the signal type contract (signal_type_contract.py)."""

from __future__ import annotations

from signal_type_contract import SignalTypeContract

from safespace.signals import PDQ


class TestPDQContract(SignalTypeContract):
    signal_type = PDQ
