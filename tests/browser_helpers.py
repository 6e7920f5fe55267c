"""Browser contexts for the Playwright tests: reach only the server under test, record requests.

The browser itself is the session's one Chromium (``chromium_browser`` in tests/conftest.py).
Test modules import from here (a unique module name), never from ``conftest``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# A phone-sized touch screen, as a young person reporting would use.
PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
    "locale": "en-GB",
}


def local_only(base: str) -> Callable[[Any], None]:
    """A route handler that lets requests to ``base`` through and aborts every other."""

    def route(r: Any) -> None:
        if r.request.url.startswith(base + "/"):
            r.continue_()
        else:
            r.abort()

    return route


@contextmanager
def local_context(browser: Any, base: str, **options: Any) -> Iterator[Any]:
    """A new browser context (``options`` as Playwright takes them) that may reach only
    ``base``; closed after."""
    context = browser.new_context(**options)
    context.route("**/*", local_only(base))
    try:
        yield context
    finally:
        context.close()


def record_requests(target: Any) -> list[dict[str, Any]]:
    """Every request a page or context makes from now on: method, URL, headers and body."""
    seen: list[dict[str, Any]] = []

    def on_request(request: Any) -> None:
        seen.append(
            {
                "method": request.method,
                "url": request.url,
                "headers": dict(request.headers),
                "body": request.post_data_buffer or b"",
            }
        )

    target.on("request", on_request)
    return seen
