"""The live contact policy: loaded once, reloaded when its file changes, kept when bad.

Like :class:`~safespace.deter.DeterLoader`: :meth:`ContactLoader.reload_if_changed` is
called by the service's background tick; a file that fails its checks is reported and the
policy already live stays in force.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from safespace.contact._engine import Engine
from safespace.contact._policy import DEFAULT_POLICY, Policy, load_policy

__all__ = ["ContactLoader"]


def _fingerprint(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (-1, -1)
    return (st.st_mtime_ns, st.st_size)


class ContactLoader:
    """Holds the live :class:`Engine`; ``reload`` swaps in a new one or keeps the old."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = DEFAULT_POLICY if path is None else path
        self._lock = threading.Lock()
        self._fingerprint = _fingerprint(self.path)
        self._engine = Engine(load_policy(self.path))
        self.loaded_at = time.time()

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def policy(self) -> Policy:
        return self._engine.policy

    def reload(self) -> Engine:
        """Load the file again; on a ``ConfigError`` the old policy stays live."""
        with self._lock:
            fingerprint = _fingerprint(self.path)
            engine = Engine(load_policy(self.path))  # raises before anything is swapped
            self._engine = engine
            self._fingerprint = fingerprint
            self.loaded_at = time.time()
            return engine

    def reload_if_changed(self) -> bool:
        """Reload when the file changed since the last load; True when it did reload."""
        fingerprint = _fingerprint(self.path)
        if fingerprint == self._fingerprint:
            return False
        self._fingerprint = fingerprint  # a bad file is reported once, not at every check
        self.reload()
        return True
