"""How long a test waits for background work: a ceiling for a very slow machine, never a
measure of speed.

A test that waits for a thread, a server or a browser polls until the thing has happened and
fails only after ``WAIT_SECONDS``; a healthy run waits a small fraction of that. Nothing is
asserted to happen "within" a short time: where a test needs an order of events it uses
events, explicit triggers or injected clocks instead.
"""

from __future__ import annotations

WAIT_SECONDS = 120.0
