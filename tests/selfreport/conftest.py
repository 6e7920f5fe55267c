"""Fixtures for the self-report tests; the shared code is in selfreport_helpers.py.

Test modules import constants and helpers from ``selfreport_helpers`` (a unique name), never
from ``conftest``, which other test folders also have.
"""

from selfreport_helpers import browser, live, make_sr, phone, sr

__all__ = ["browser", "live", "make_sr", "phone", "sr"]
