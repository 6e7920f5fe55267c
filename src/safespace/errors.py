"""Every error SafeSpace raises on purpose, in one tree.

    SafeSpaceError                      any failure SafeSpace reports to a user
    ├── InvalidInput                    the caller sent something unusable (HTTP 400, exit 2)
    │   ├── InvalidSignal               a hash value or signal type that is not well formed
    │   ├── MediaError                  a file that cannot be hashed as media
    │   │   ├── EmptyMedia              zero bytes
    │   │   ├── UnsupportedMedia        not an image or video SafeSpace reads
    │   │   ├── CorruptMedia            truncated or damaged data
    │   │   └── MediaTooLarge           over the byte or pixel limit (HTTP 413)
    │   ├── ImportFormatError           a hash-list file with rejected lines
    │   └── ConfigError                 a setting or data file that cannot be used
    ├── NotFound                        a named thing does not exist (HTTP 404, exit 3)
    │   └── BankNotFound
    ├── Conflict                        the request clashes with what is stored (HTTP 409, exit 4)
    │   └── BankExists
    └── IndexFormatError                an index snapshot on disk is damaged or of an unknown version

Each class carries a stable ``code`` (used as the problem+json ``type`` suffix and in CLI
output), an HTTP ``status`` and a CLI ``exit_code``, so the API and the CLI translate errors
in exactly one place each. Programming errors (bugs) are not in this tree: they stay
ordinary Python exceptions and surface as such.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BankExists",
    "BankNotFound",
    "ConfigError",
    "Conflict",
    "CorruptMedia",
    "EmptyMedia",
    "ImportFormatError",
    "IndexFormatError",
    "InvalidInput",
    "InvalidSignal",
    "MediaError",
    "MediaTooLarge",
    "NotFound",
    "Reject",
    "SafeSpaceError",
    "UnsupportedMedia",
]


class SafeSpaceError(Exception):
    """Root of every error SafeSpace raises deliberately."""

    code = "error"
    status = 500
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(SafeSpaceError):
    code = "invalid-input"
    status = 400
    exit_code = 2


class InvalidSignal(InvalidInput):
    code = "invalid-signal"


class MediaError(InvalidInput):
    code = "media-error"


class EmptyMedia(MediaError):
    code = "empty-media"


class UnsupportedMedia(MediaError):
    code = "unsupported-media"
    status = 415


class CorruptMedia(MediaError):
    code = "corrupt-media"
    status = 422


class MediaTooLarge(MediaError):
    code = "media-too-large"
    status = 413


@dataclass(frozen=True)
class Reject:
    """One line of an import that could not be used, and why."""

    line: int
    text: str
    reason: str


class ImportFormatError(InvalidInput):
    """An import was refused; ``rejects`` lists every bad line with its number."""

    code = "import-rejected"
    status = 422

    def __init__(self, message: str, rejects: list[Reject] | None = None) -> None:
        super().__init__(message)
        self.rejects = list(rejects or [])


class ConfigError(InvalidInput):
    code = "config-error"


class NotFound(SafeSpaceError):
    code = "not-found"
    status = 404
    exit_code = 3


class BankNotFound(NotFound):
    code = "bank-not-found"


class Conflict(SafeSpaceError):
    code = "conflict"
    status = 409
    exit_code = 4


class BankExists(Conflict):
    code = "bank-exists"


class IndexFormatError(SafeSpaceError):
    code = "index-format"
    exit_code = 5
