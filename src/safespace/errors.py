"""Every error SafeSpace raises on purpose, in one tree.

    SafeSpaceError                      any failure SafeSpace reports to a user
    ├── InvalidInput                    the caller sent something unusable (HTTP 400, exit 2)
    │   ├── InvalidSignal               a hash value or signal type that is not well formed
    │   ├── MediaError                  a file that cannot be hashed as media
    │   │   ├── EmptyMedia              zero bytes
    │   │   ├── UnsupportedMedia        not an image or video SafeSpace reads
    │   │   ├── CorruptMedia            truncated or damaged data
    │   │   │   └── InvalidVideo        not a hashable video: no video stream or frames, damaged
    │   │   └── MediaTooLarge           over the byte or pixel limit (HTTP 413)
    │   │       └── VideoTooLarge       over a video limit: bytes, duration, frames or pixels
    │   ├── ImportFormatError           a hash-list file with rejected lines
    │   ├── ConfigError                 a setting or data file that cannot be used
    │   ├── InvalidRequest              a body, parameter or form field that does not fit (422)
    │   ├── RequestTooLarge             an HTTP request body over its size limit (HTTP 413)
    │   ├── ReferralInvalid             a hotline referral that does not fit its schema (HTTP 422)
    │   ├── UrlNotAllowed               a media URL outside the operator's allowlist (HTTP 403)
    │   ├── UrlFetchFailed              a media URL that could not be fetched (HTTP 422)
    │   └── MethodNotAllowed            an HTTP path that exists, but not for this method (405)
    ├── NotFound                        a named thing does not exist (HTTP 404, exit 3)
    │   ├── BankNotFound
    │   ├── KeyNotFound                 an API key id that was never issued
    │   ├── JobNotFound                 an import job id that does not exist
    │   ├── EvidenceNotFound            an evidence item id that does not exist
    │   ├── UserNotFound                a console account name that does not exist
    │   ├── SelfReportNotFound          no self-report with that case number and PIN (one answer
    │   │                               for unknown, wrong PIN and locked: no oracle)
    │   ├── ActionNotFound              a webhook action or endpoint that does not exist
    │   └── SourceNotFound              a bank source (exchange) name that does not exist
    ├── Conflict                        the request clashes with what is stored (HTTP 409, exit 4)
    │   ├── BankExists
    │   ├── UserExists                  a console account with that name exists
    │   └── SourceExists                a bank source (exchange) with that name exists
    ├── IndexFormatError                an index snapshot on disk is damaged or of unknown version
    ├── IntegrityFailure                stored data fails its check: a broken audit chain, or
    │                                   evidence ciphertext that does not decrypt (exit 9)
    ├── AccessDenied                    the API key may not do this: it lacks the scope (HTTP 403)
    │   └── Unauthenticated             no API key, or an unknown or revoked one (HTTP 401)
    ├── SourceError                     a bank source (exchange) failed to answer usefully (502)
    │   ├── SourceUnavailable           transient: network, 5xx, a truncated or malformed page
    │   ├── SourceRejected              permanent until fixed: bad credentials, a 4xx answer
    │   └── StaleCheckpoint             the source no longer serves from this checkpoint
    ├── RateLimited                     too many requests for one API key (HTTP 429, retry_after)
    ├── NotConfigured                   a service feature its operator has not set up, such as
    │                                   Deter without a usable SAFESPACE_DETER_SECRET (HTTP 503)
    └── ServiceUnavailable              not ready (index loading) or the database is down (HTTP 503)

Each class carries a stable ``code`` (used as the problem+json ``type`` suffix and in CLI
output), an HTTP ``status`` and a CLI ``exit_code``, so the API and the CLI translate errors
in exactly one place each. Programming errors (bugs) are not in this tree: they stay
ordinary Python exceptions and surface as such.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AccessDenied",
    "ActionNotFound",
    "BankExists",
    "BankNotFound",
    "ConfigError",
    "Conflict",
    "CorruptMedia",
    "EmptyMedia",
    "EvidenceNotFound",
    "ImportFormatError",
    "IndexFormatError",
    "IntegrityFailure",
    "InvalidInput",
    "InvalidRequest",
    "InvalidSignal",
    "InvalidVideo",
    "JobNotFound",
    "KeyNotFound",
    "MediaError",
    "MediaTooLarge",
    "MethodNotAllowed",
    "NotConfigured",
    "NotFound",
    "RateLimited",
    "ReferralInvalid",
    "Reject",
    "RequestTooLarge",
    "SafeSpaceError",
    "SelfReportNotFound",
    "ServiceUnavailable",
    "SourceError",
    "SourceExists",
    "SourceNotFound",
    "SourceRejected",
    "SourceUnavailable",
    "StaleCheckpoint",
    "Unauthenticated",
    "UnsupportedMedia",
    "UrlFetchFailed",
    "UrlNotAllowed",
    "UserExists",
    "UserNotFound",
    "VideoTooLarge",
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


class InvalidVideo(CorruptMedia):
    """A file that cannot be hashed as a video: damaged, truncated, audio-only or frameless."""

    code = "invalid-video"


class VideoTooLarge(MediaTooLarge):
    """A video over one of its limits (bytes, duration, frames, pixels per frame)."""

    code = "video-too-large"


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


class InvalidRequest(InvalidInput):
    """``errors`` lists each problem as ``{"loc": [...], "msg": ...}`` (the HTTP API's 422)."""

    code = "invalid-request"
    status = 422

    def __init__(self, message: str, errors: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.errors = list(errors or [])


class RequestTooLarge(InvalidInput):
    code = "request-too-large"
    status = 413


class MethodNotAllowed(InvalidInput):
    code = "method-not-allowed"
    status = 405


class UrlNotAllowed(InvalidInput):
    """The server fetches media only from URL prefixes its operator allowed."""

    code = "url-not-allowed"
    status = 403


class UrlFetchFailed(InvalidInput):
    code = "url-fetch-failed"
    status = 422


class ReferralInvalid(InvalidInput):
    """A referral document SafeSpace built fails the hotline's schema: never offered as is."""

    code = "referral-invalid"
    status = 422


class NotFound(SafeSpaceError):
    code = "not-found"
    status = 404
    exit_code = 3


class BankNotFound(NotFound):
    code = "bank-not-found"


class KeyNotFound(NotFound):
    code = "key-not-found"


class JobNotFound(NotFound):
    code = "job-not-found"


class EvidenceNotFound(NotFound):
    code = "evidence-not-found"


class ActionNotFound(NotFound):
    code = "action-not-found"


class UserNotFound(NotFound):
    code = "user-not-found"


class SelfReportNotFound(NotFound):
    """Unknown case, wrong PIN or a locked case: deliberately indistinguishable."""

    code = "self-report-not-found"


class SourceNotFound(NotFound):
    code = "source-not-found"


class Conflict(SafeSpaceError):
    code = "conflict"
    status = 409
    exit_code = 4


class BankExists(Conflict):
    code = "bank-exists"


class UserExists(Conflict):
    code = "user-exists"


class SourceExists(Conflict):
    code = "source-exists"


class IndexFormatError(SafeSpaceError):
    code = "index-format"
    exit_code = 5


class IntegrityFailure(SafeSpaceError):
    """Stored data fails its integrity check; the message says which record and why."""

    code = "integrity-failure"
    exit_code = 9


class AccessDenied(SafeSpaceError):
    code = "forbidden"
    status = 403
    exit_code = 6


class Unauthenticated(AccessDenied):
    code = "unauthenticated"
    status = 401


class SourceError(SafeSpaceError):
    """A bank source (an exchange: a peer, NCMEC, StopNCII, a list at a URL) failed.

    Recorded on the source with its message; the fetcher retries with backoff. Nothing of
    the page that failed is applied.
    """

    code = "source-error"
    status = 502
    exit_code = 10


class SourceUnavailable(SourceError):
    """Transient: the network, a 5xx answer, a truncated or malformed page. Retried."""

    code = "source-unavailable"


class SourceRejected(SourceError):
    """Permanent until someone fixes it: bad credentials, a 4xx answer, a bad setting."""

    code = "source-rejected"


class StaleCheckpoint(SourceError):
    """The source no longer serves deltas from this checkpoint: fetch again from the start."""

    code = "stale-checkpoint"


class RateLimited(SafeSpaceError):
    """``retry_after`` is how many seconds until the key may send its next request."""

    code = "rate-limited"
    status = 429
    exit_code = 7

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NotConfigured(SafeSpaceError):
    """The operator's setting is missing or unusable: not the caller's fault, not transient."""

    code = "not-configured"
    status = 503
    exit_code = 2


class ServiceUnavailable(SafeSpaceError):
    """``retry_after`` (seconds) is a hint for when to try again."""

    code = "unavailable"
    status = 503
    exit_code = 8

    def __init__(self, message: str, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after
