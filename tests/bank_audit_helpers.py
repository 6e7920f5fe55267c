"""What a bank's audited creation records, shared by the service, API and console audit tests."""

from __future__ import annotations

from safespace.signals import SIGNAL_TYPES, IndexKind


def created_with_defaults(details: dict[str, object]) -> dict[str, object]:
    """What the test set, and every other type's default thresholds (a video type's distance
    and match percentages), as the service records a bank's creation."""
    defaults = {
        f"{t.name}_{th.name}": th.default
        for t in SIGNAL_TYPES.values()
        if t.index is not IndexKind.PDQ_MIH
        for th in t.thresholds
    }
    return {**defaults, **details}
