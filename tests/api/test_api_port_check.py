"""``safespace serve`` refuses a port that any process listens on, another SafeSpace too."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from api_helpers import CliResult

from safespace import _serving as serving
from safespace.errors import ConfigError


@contextmanager
def _listening(reuseport: bool) -> Iterator[int]:
    """A socket listening on a free port, like a SafeSpace worker's (``SO_REUSEPORT``) or
    like any other server's."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuseport:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


@pytest.mark.parametrize("reuseport", [True, False], ids=["another-safespace", "other-server"])
def test_check_port_refuses_a_port_in_use(reuseport: bool) -> None:
    with _listening(reuseport) as port, pytest.raises(ConfigError, match=f":{port}: "):
        serving.check_port("127.0.0.1", port)
    serving.check_port("127.0.0.1", port)  # free again: accepted


def test_serve_on_a_port_in_use_exits_with_one_line(
    cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_workers(*args: object) -> None:
        raise AssertionError("workers started on a port in use")

    monkeypatch.setattr(serving, "multiprocessing", SimpleNamespace(get_context=no_workers))
    with _listening(reuseport=True) as port:
        result = cli("serve", "--host", "127.0.0.1", "--port", str(port))
    assert result.exit_code != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in lines[0]
    assert "Traceback" not in result.stderr
