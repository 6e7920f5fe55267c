"""Once per machine: an exclusive file lock in the data folder, held while the process lives.

Every worker of ``safespace serve`` shares the data folder, so the first worker to take
``data_dir/runtime/NAME.lock`` runs the task and keeps the lock; the others skip it. When that
worker exits or crashes, the operating system drops its lock and another worker takes it at
its next look. (The supervisor's "worker 0" would be the other choice; a lock needs no
coordination with the supervisor and survives a worker being restarted with a new number.)
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ["MachineLock"]


class MachineLock:
    """A non-blocking, process-lifetime lock on one file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """True if this process holds the lock now (taken now or earlier)."""
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
