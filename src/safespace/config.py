"""Settings shared by the CLI and the server: environment variables, optionally a file.

Every variable is ``SAFESPACE_`` plus the field name in capitals, for example
``SAFESPACE_DATABASE_URL``. ``SAFESPACE_CONFIG_FILE`` may name a ``.env``-style file.
"""

from __future__ import annotations

import os
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from safespace.errors import ConfigError

__all__ = ["Settings", "default_data_dir", "get_settings"]


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "safespace"


class Settings(BaseSettings):
    """SafeSpace's configuration. Defaults give a working single-machine setup on SQLite."""

    model_config = SettingsConfigDict(
        env_prefix="SAFESPACE_",
        env_file=os.environ.get("SAFESPACE_CONFIG_FILE"),
        extra="ignore",
    )

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Folder for the SQLite database, index snapshots and scan state.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: SQLite file safespace.db in data_dir.",
    )
    database_pool_size: int = Field(
        default=10,
        ge=1,
        le=500,
        description="Database connections each process keeps open (as many again at busy "
        "times); mind PostgreSQL's max_connections times the worker count.",
    )
    max_media_bytes: int = Field(
        default=100 * 1024 * 1024, ge=1, description="Largest media file accepted, in bytes."
    )
    max_image_pixels: int = Field(
        default=128_000_000,
        ge=1,
        description="Largest image accepted, in pixels (width x height): decompression-bomb guard.",
    )
    min_pdq_quality: int = Field(
        default=50,
        ge=0,
        le=100,
        description="PDQ hashes below this quality are flagged and not matched.",
    )

    max_import_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1,
        description="Largest hash-list file the HTTP import endpoint accepts, in bytes.",
    )
    max_json_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="Largest JSON request body the HTTP API accepts, in bytes.",
    )
    rate_limit_per_second: float = Field(
        default=100.0,
        ge=0,
        description="HTTP requests per second each API key may make, across the workers on "
        "one machine (0: no limit).",
    )
    rate_limit_scope: Literal["machine", "cluster"] = Field(
        default="machine",
        description="Where an API key's rate limit holds: each machine's workers together "
        "(machine), or every machine on the PostgreSQL database together (cluster: one "
        "database round trip per request).",
    )
    rate_limit_burst: int = Field(
        default=200,
        ge=1,
        description="Requests an API key may send at once before the per-second rate applies.",
    )
    index_threads: int = Field(
        default=1,
        ge=1,
        le=256,
        description="Threads each HTTP worker's PDQ search may use; the workers use the cores.",
    )
    matcher_refresh_seconds: float = Field(
        default=0.2,
        gt=0,
        le=60,
        description="How often each HTTP worker applies bank changes to its in-memory matcher.",
    )
    readiness_max_lag_changes: int = Field(
        default=50_000,
        ge=0,
        description="/readyz says 503 while a worker's matcher is more than this many "
        "change-log entries behind the database (after a big import, say); 0: no bound.",
    )
    matcher_snapshots: bool = Field(
        default=True,
        description="Keep memory-mapped matcher snapshots in data_dir/snapshots, so HTTP "
        "workers start in seconds; off: every worker reads all banks from the database.",
    )
    snapshot_min_changes: int = Field(
        default=100_000,
        ge=0,
        description="Write a new matcher snapshot once the newest is this many change-log "
        "entries behind (checked every 30 s, by one worker at a time; 0: never).",
    )

    change_log_retention_days: int = Field(
        default=7,
        ge=0,
        le=36500,
        description="Prune bank changes older than this many days from the change log, and "
        "never past the newest matcher snapshot (hourly, by one process in the cluster; 0: keep "
        "all).",
    )

    hma_url_allowlist: str = Field(
        default="",
        description="URL prefixes the HMA-compatible API may fetch media from, separated by "
        "commas or spaces (scheme, host and path prefix); empty: fetching by URL is refused.",
    )
    hma_keyless_networks: str = Field(
        default="",
        description="HMA-compatible API: networks (CIDR, separated by commas or spaces) whose "
        "clients may call /h, /m and /c without an API key, as HMA's own clients do; only "
        "loopback and private ranges are accepted. Empty (the default): a key is always needed.",
    )
    url_fetch_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Time limit for fetching one media URL (connect plus download), in seconds.",
    )
    import_job_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        le=300,
        description="How often each HTTP worker looks for queued or abandoned import jobs.",
    )
    import_job_lease_seconds: float = Field(
        default=60.0,
        ge=1,
        le=3600,
        description="An import job whose worker has not renewed its lease for this long "
        "(a stopped server) is run again by another worker.",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token that may read /metrics (besides admin keys); unset: "
        "admin API keys only.",
    )

    evidence_key: SecretStr | None = Field(
        default=None,
        description="Master key for evidence encryption: 32 random bytes, base64-encoded "
        "(AES-256-GCM; wraps one data key per item). Unset: evidence storage is refused.",
    )
    evidence_retention_days: int = Field(
        default=365,
        ge=1,
        le=36500,
        description="Days confirmed evidence is kept before it is purged, unless on legal "
        "hold (US REPORT Act: 1 year).",
    )
    reporter_first_name: str = Field(
        default="", description="Hotline referrals: first name of the platform's reporting person."
    )
    reporter_last_name: str = Field(
        default="", description="Hotline referrals: last name of the platform's reporting person."
    )
    reporter_email: str = Field(
        default="", description="Hotline referrals: contact email of the reporting person."
    )
    reporter_phone: str = Field(
        default="", description="Hotline referrals: contact phone of the reporting person."
    )
    reporter_platform: str = Field(
        default="", description="Hotline referrals: the platform or service name reported on."
    )

    console_session_idle_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description="Console: a session unused for this many minutes ends (sign in again).",
    )
    console_session_absolute_hours: int = Field(
        default=12,
        ge=1,
        le=24 * 30,
        description="Console: a session ends this many hours after sign-in, however active.",
    )
    console_secure_cookie: bool = Field(
        default=False,
        description="Console: mark the session cookie Secure (and name it __Host-...); turn "
        "on when the console is served over HTTPS, as behind a TLS proxy.",
    )
    console_lockout_failures: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Console: failed sign-ins for one name, within the window, that lock it.",
    )
    console_lockout_window_minutes: int = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description="Console: the window in which failed sign-ins are counted, in minutes.",
    )
    console_lockout_minutes: int = Field(
        default=15,
        ge=1,
        le=24 * 60,
        description="Console: how long a locked name is refused, in minutes.",
    )

    self_report_bank: str = Field(
        default="self-reports",
        min_length=1,
        max_length=64,
        description="Self-reports: the bank their hashes go into (created on first use).",
    )
    self_report_requests_per_minute: int = Field(
        default=10,
        ge=0,
        le=10_000,
        description="Self-reports: requests per minute one client address may make to the "
        "public self-report endpoints, per worker (0: no limit); addresses are never stored.",
    )
    self_report_pin_failures: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Self-reports: wrong PINs for one case that lock it for a while.",
    )
    self_report_lock_minutes: int = Field(
        default=60,
        ge=1,
        le=7 * 24 * 60,
        description="Self-reports: how long a case is locked after too many wrong PINs.",
    )

    review_store_media: bool = Field(
        default=False,
        description="Review queue: keep the file of a user report for reviewers (deleted when "
        "the item is decided for good); off: only its hashes are kept.",
    )
    review_text_context_chars: int = Field(
        default=0,
        ge=0,
        le=500,
        description="Review queue: for a text match (a listed URL or keyword in a post), keep "
        "the matched span and this many characters either side for reviewers, sealed under "
        "SAFESPACE_EVIDENCE_KEY; 0: no text at all, only the expression and the span offsets.",
    )
    review_claim_minutes: int = Field(
        default=30,
        ge=1,
        le=24 * 60,
        description="Review queue: how long a reviewer's claim on an item lasts before "
        "another reviewer may take it.",
    )
    review_reveal_soft_cap: int = Field(
        default=50,
        ge=1,
        le=100_000,
        description="Review queue: media reveals per reviewer per UTC day; past it the "
        "console warns and asks for an extra confirmation before each reveal.",
    )
    review_break_minutes: int = Field(
        default=50,
        ge=0,
        le=480,
        description="Review console: minutes of continuous review after which the queue and "
        "item pages suggest a break (each reviewer may choose their own); 0 turns it off.",
    )
    review_support_url: str = Field(
        default="",
        max_length=2000,
        description="Review console: where reviewers find support (an employee assistance "
        "programme, a counselling service); shown with their exposure summary. Empty: a "
        "generic suggestion to talk to their lead or someone they trust.",
    )
    review_support_text: str = Field(
        default="",
        max_length=500,
        description="Review console: the words of the support link or, without a URL, the "
        "support note itself (e.g. a phone number). Empty: generic wording.",
    )
    review_second_look: bool = Field(
        default=False,
        description="Review queue: a decision is final only after a second look by a "
        "different lead or admin.",
    )
    review_webhook_url: str = Field(
        default="",
        description="Review queue: the platform endpoint that receives signed actions "
        "(take_down_content, restrict_account, preserve_evidence) after a confirmation; "
        "empty: no actions are sent.",
    )
    review_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Review queue: the HMAC secret for review_webhook_url, at least 32 "
        "characters; required when the URL is set.",
    )
    review_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        le=3600,
        description="Review queue: how often the server's review thread reads new match "
        "events and self-reports and delivers due webhook actions.",
    )
    review_preset_reasons: str = Field(
        default="Matches the listed content; Not the listed content; Different image, "
        "same layout; Text or logo only, nothing to act on; Unclear: needs a lead's look",
        max_length=2000,
        description="Review console: the quick reasons a reviewer may pick for a decision, "
        "separated by semicolons (each 3 to 200 characters; empty: none offered).",
    )
    flood_guard_matches: int = Field(
        default=100,
        ge=0,
        description="Flood guard: an entry that matched at least this many contents within "
        "flood_guard_window_minutes, soon after it arrived, is quarantined (0: guard off).",
    )
    flood_guard_factor: float = Field(
        default=10.0,
        ge=1,
        description="Flood guard: and at least this many times the median count of its "
        "bank's other entries in the same window.",
    )
    flood_guard_window_minutes: float = Field(
        default=60.0, gt=0, le=10080, description="Flood guard: the window matches are counted in."
    )
    flood_guard_new_hours: float = Field(
        default=72.0,
        gt=0,
        description="Flood guard: only entries added less than this long ago are watched.",
    )
    content_retention: bool = Field(
        default=False,
        description="Retro-matching: keep the hashes (never the media, never addresses) of "
        "content sent to /v1/match with a content_id, so a hash added to a bank later finds "
        "it. Off by default.",
    )
    content_retention_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Retro-matching: days a stored content's hashes are kept after it was "
        "last seen; then the retro-match task deletes them.",
    )
    retro_match_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description="Retro-matching: how often the retro-match task (one process per "
        "cluster) purges expired content hashes and searches new bank entries against the rest.",
    )

    deter_secret: SecretStr | None = Field(
        default=None,
        description="Deter: the experiment-assignment and widget-token secret, at least 32 "
        "random characters; unset: the /v1/deter endpoints answer 503.",
    )
    deter_dir: Path | None = Field(
        default=None,
        description="Deter: the operator's data folder (term lists, messages, help services, "
        "experiments); unset: the packaged data. Reloaded when a file changes.",
    )
    deter_retention_days: int = Field(
        default=180,
        ge=1,
        le=36500,
        description="Deter: days intervention events and their outcomes are kept; older ones "
        "are deleted hourly by the server and by `safespace deter purge`.",
    )
    deter_store_query_text: bool = Field(
        default=False,
        description="Deter: also store the text that triggered an intervention in its event "
        "(off: only rule ids, never the text).",
    )
    deter_allowed_origins: str = Field(
        default="",
        description="Deter: the platform page origins (https://forum.example) whose browsers "
        "may call the widget endpoints, separated by commas or spaces; empty: none.",
    )
    deter_token_seconds: int = Field(
        default=1800,
        ge=60,
        le=86400,
        description="Deter: how long the widget token returned with a decision stays valid.",
    )

    def review_reasons(self) -> list[str]:
        """The preset reasons, in order, blanks and duplicates dropped."""
        found: list[str] = []
        for part in self.review_preset_reasons.split(";"):
            text = " ".join(part.split())
            if 3 <= len(text) <= 200 and text not in found:
                found.append(text)
        return found

    def deter_origins(self) -> list[str]:
        return [o.rstrip("/") for o in self.deter_allowed_origins.replace(",", " ").split() if o]

    def hma_url_prefixes(self) -> list[str]:
        return [p for p in self.hma_url_allowlist.replace(",", " ").split() if p]

    def hma_keyless_network_list(self) -> list[IPv4Network | IPv6Network]:
        """The parsed ``hma_keyless_networks``; ConfigError for a public or malformed one."""
        return _private_networks(self.hma_keyless_networks)

    def make_data_dir(self) -> Path:
        """Create the data folder (and its parents) readable by this user only (0700): it
        holds self-report contacts, the audit log and wrapped keys. An existing folder is
        left as the operator set it."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self.data_dir

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'safespace.db'}"


# The only ranges keyless HMA access may be opened to: loopback and private (RFC 1918, ULA).
_PRIVATE = tuple(
    ip_network(n)
    for n in ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7")
)


@lru_cache(maxsize=8)
def _private_networks(text: str) -> list[IPv4Network | IPv6Network]:
    networks: list[IPv4Network | IPv6Network] = []
    for item in text.replace(",", " ").split():
        try:
            network = ip_network(item, strict=False)
        except ValueError:
            raise ConfigError(f"hma_keyless_networks: {item!r} is not a network (CIDR)") from None
        if not any(
            network.version == p.version and network.subnet_of(p)  # type: ignore[arg-type]
            for p in _PRIVATE
        ):
            raise ConfigError(
                f"hma_keyless_networks: {item!r} is not a loopback or private range "
                "(127.0.0.0/8, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, ::1, fc00::/7)"
            )
        networks.append(network)
    return networks


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
