"""Fetching media by URL, for hashing into (or matching against) the banks.

Only from URL prefixes the operator allowed (``SAFESPACE_HMA_URL_ALLOWLIST``): the same
scheme, host and port, and a path under the prefix's path; http and https only, no user
info. Redirects are followed by hand, each target checked the same way, at most
:data:`MAX_REDIRECTS`. The body is cut off past ``max_bytes`` (:class:`MediaTooLarge`) and
the whole fetch is bounded by ``timeout`` (:class:`UrlFetchFailed`). Proxies from the
environment are ignored (``trust_env=False``).
"""

from __future__ import annotations

import time

import httpx

from safespace.errors import MediaTooLarge, UrlFetchFailed, UrlNotAllowed

__all__ = ["MAX_REDIRECTS", "fetch_url", "url_allowed"]

MAX_REDIRECTS = 3


def url_allowed(url: str, prefixes: list[str]) -> bool:
    """Same scheme, host and port as an allowed prefix, and a path under its path."""
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL:
        return False
    if target.scheme not in ("http", "https") or target.userinfo:
        return False
    for prefix in prefixes:
        try:
            allowed = httpx.URL(prefix)
        except httpx.InvalidURL:
            continue
        same_origin = (target.scheme, target.host, target.port) == (
            allowed.scheme,
            allowed.host,
            allowed.port,
        )
        if same_origin and target.path.startswith(allowed.path or "/"):
            return True
    return False


def fetch_url(
    url: str, prefixes: list[str], *, max_bytes: int, timeout: float
) -> tuple[bytes, str]:
    """The body and Content-Type of ``url``. Redirects are followed only to allowed URLs,
    at most ``MAX_REDIRECTS``; the body is cut off past ``max_bytes``; ``timeout`` bounds
    the whole fetch."""
    if not prefixes:
        raise UrlNotAllowed(
            "fetching media by URL is off on this server (SAFESPACE_HMA_URL_ALLOWLIST is empty)"
        )
    deadline = time.monotonic() + timeout
    with httpx.Client(follow_redirects=False, timeout=timeout, trust_env=False) as client:
        for _ in range(MAX_REDIRECTS + 1):
            if not url_allowed(url, prefixes):
                raise UrlNotAllowed("the URL is not under a prefix this server may fetch from")
            try:
                with client.stream("GET", url) as resp:
                    if resp.is_redirect and "location" in resp.headers:
                        url = str(resp.url.join(resp.headers["location"]))
                        continue
                    if resp.status_code != 200:
                        raise UrlFetchFailed(f"the URL answered HTTP {resp.status_code}")
                    declared = resp.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise MediaTooLarge(f"the media is over {max_bytes} bytes")
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in resp.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise MediaTooLarge(f"the media is over {max_bytes} bytes")
                        if time.monotonic() > deadline:
                            raise UrlFetchFailed(f"fetching the URL took over {timeout:g} s")
                        chunks.append(chunk)
                    return b"".join(chunks), resp.headers.get("content-type", "")
            except httpx.TimeoutException:
                raise UrlFetchFailed(f"fetching the URL took over {timeout:g} s") from None
            except httpx.HTTPError as exc:
                raise UrlFetchFailed(f"cannot fetch the URL: {type(exc).__name__}") from None
    raise UrlFetchFailed(f"the URL redirected more than {MAX_REDIRECTS} times")
