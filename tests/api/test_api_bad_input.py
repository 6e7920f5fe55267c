"""The service is never hurt by bad input: body limits by route and method, the API key
checked before a body is read, and the small HTTP contract details (Allow, headers)."""

from __future__ import annotations

import asyncio
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from api_helpers import Api, MakeApi, problem
from fastapi import FastAPI
from PIL import Image

from safespace.api._limits import AUTH_FIRST_BYTES

MD5_A = "0123456789abcdef" * 2
HMA_GOOD = f"md5 {MD5_A}\n".encode()


class Sent:
    """What an ASGI call sent back, and how many times it asked for the body."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: dict[str, str] = {}
        self.body = b""
        self.receives = 0


def _call(app: FastAPI, method: str, path: str, headers: dict[str, str]) -> Sent:
    """``method path`` straight to the ASGI app, with a body that is never sent: any read of
    it is counted (and would wait for megabytes a real client streams)."""
    sent = Sent()
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, Any]:
        sent.receives += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent.status = message["status"]
            sent.headers = {k.decode(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            sent.body += message.get("body", b"")

    # In a thread of its own: a session's Playwright browser keeps an event loop running in
    # this thread once a browser test has run, and asyncio.run refuses to nest in it.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(app(scope, receive, send))).result()  # type: ignore[arg-type]
    return sent


def test_unauthenticated_big_body_is_refused_before_it_is_read(api: Api) -> None:
    app = api.client.app
    assert isinstance(app, FastAPI)
    big = str(200 * 1024 * 1024)  # under the import limit: it used to be read in full
    for method, path in (
        ("PATCH", "/v1/banks/import"),
        ("POST", "/v1/banks/b/import"),
        ("POST", "/v1/banks/b/imports"),
        ("POST", "/v1/banks/b/entries"),
    ):
        for auth in ({}, {"Authorization": "Bearer not-a-key"}):
            headers = {"Content-Length": big, "Content-Type": "multipart/form-data; b=x", **auth}
            sent = _call(app, method, path, headers)
            assert sent.status == 401, (method, path, sent.body)
            assert sent.receives == 0, (method, path)
            assert b"/problems/unauthenticated" in sent.body
    # A key without the scope: 403, still without reading the body.
    upload = {"Content-Length": big, "Content-Type": "multipart/form-data; b=x"}
    sent = _call(app, "POST", "/v1/banks/b/import", {**upload, **api.as_("match")})
    assert (sent.status, sent.receives) == (403, 0)
    # No such route or method: the small limit, refused before a byte is read.
    sent = _call(app, "PATCH", "/v1/banks/b/imports", upload)
    assert (sent.status, sent.receives) == (413, 0)
    # Chunked (no length): the same.
    sent = _call(app, "PATCH", "/v1/banks/b", {"Transfer-Encoding": "chunked"})
    assert (sent.status, sent.receives) == (401, 0)


def test_import_limit_only_for_the_import_routes_and_post(make_api: MakeApi) -> None:
    api = make_api(max_json_bytes=1024, max_import_bytes=1024 * 1024, max_media_bytes=1024)
    assert api.post("/v1/banks", json={"name": "b"}).status_code == 201
    app = api.client.app
    assert isinstance(app, FastAPI)
    # Declared over the JSON limit, under the import one: refused before a byte is read.
    over_json = str(64 * 1024)
    for method, path in (
        ("PATCH", "/v1/banks/import"),
        ("PATCH", "/v1/banks/b/import"),
        ("PUT", "/v1/banks/b/imports"),
        ("DELETE", "/v1/banks/b/import"),
        ("POST", "/v1/banks/b/import/more"),
        ("POST", "/v1/no-such-route/import"),
    ):
        headers = {"Content-Length": over_json, "Content-Type": "multipart/form-data; b=x"}
        sent = _call(app, method, path, {**headers, **api.as_("curate")})
        assert (sent.status, sent.receives) == (413, 0), (method, path, sent.body)
        assert b"max_json_bytes" in sent.body
    # A real body through the client, too.
    body = b'{"description": "' + b"d" * 2000 + b'"}'
    headers = {**api.as_("curate"), "Content-Type": "application/json"}
    problem(
        api.client.patch("/v1/banks/import", content=body, headers=headers),
        413,
        "request-too-large",
    )
    # The import routes (POST) keep the import limit: a file bigger than the JSON limit.
    lines = b"".join(f"md5 {i:032x}\n".encode() for i in range(200))
    assert len(lines) > 1024
    files = {"file": ("l.txt", lines, "text/plain")}
    done = api.post("/v1/banks/b/import", "curate", files=files)
    assert done.status_code == 200, done.text
    assert done.json()["added"] == 200
    queued = api.post("/v1/banks/b/imports", "curate", files=files)
    assert queued.status_code == 202, queued.text


def test_an_early_key_check_is_not_counted_twice(make_api: MakeApi) -> None:
    api = make_api(rate_limit_per_second=0.001, rate_limit_burst=1)
    curate = api.keys["curate"]
    api.state.banks.create_bank("b")
    lines = b"".join(f"md5 {i:032x}\n".encode() for i in range(3000))
    assert len(lines) > AUTH_FIRST_BYTES  # so the key is checked before the body is read
    files = {"file": ("l.txt", lines, "text/plain")}
    headers = {"Authorization": f"Bearer {curate}"}
    done = api.client.post("/v1/banks/b/import", headers=headers, files=files)
    assert done.status_code == 200, done.text  # one request: one token of a burst of one
    problem(
        api.client.post("/v1/banks/b/import", headers=headers, files=files), 429, "rate-limited"
    )


def test_405_lists_every_method_of_the_path(api: Api) -> None:
    api.state.banks.create_bank("b")
    refused = api.client.put("/v1/banks/b", headers=api.as_("curate"), json={})
    problem(refused, 405, "method-not-allowed")
    assert {m.strip() for m in refused.headers["allow"].split(",")} == {"GET", "PATCH", "DELETE"}
    refused = api.client.delete("/v1/banks", headers=api.as_("curate"))
    problem(refused, 405, "method-not-allowed")
    assert {m.strip() for m in refused.headers["allow"].split(",")} == {"GET", "POST"}


def test_every_api_answer_is_not_cached_nor_sniffed(make_api: MakeApi) -> None:
    api = make_api(max_json_bytes=1024)
    answers = [
        api.get("/v1/banks", "curate"),
        api.client.get("/v1/banks"),  # 401
        api.post("/v1/match", "match", json={"signals": {"md5": MD5_A}}),  # the hot path
        api.post("/v1/banks", "curate", content=b"x" * 2048, headers={"Content-Type": "a/json"}),
        api.client.get("/readyz"),
        api.client.get("/v1/nowhere"),
    ]
    assert [a.status_code for a in answers] == [200, 401, 200, 413, 200, 404]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff", answer.request.url
        assert answer.headers["cache-control"] == "no-store", answer.request.url
    widget = api.client.get("/v1/deter/widget.js")  # keeps its own caching
    assert widget.headers["cache-control"] == "public, max-age=300"
    assert widget.headers["x-content-type-options"] == "nosniff"


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = struct.pack(">I", zlib.crc32(kind + data))
    return struct.pack(">I", len(data)) + kind + data + crc


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` x ``height`` pixels (a decompression bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def test_pixel_limit_message_names_the_configured_limit(make_api: MakeApi) -> None:
    api = make_api(max_image_pixels=1_000_000)
    bomb = _png_header(30_000, 30_000)  # over Pillow's own bomb limit too
    body = problem(api.upload("/v1/hash", bomb, "match"), 413, "media-too-large")
    assert "1000000" in body["detail"]
    assert "max_image_pixels" in body["detail"]
    assert str(2 * Image.MAX_IMAGE_PIXELS) not in body["detail"]


def test_a_repeated_form_field_is_refused_by_name(api: Api) -> None:
    api.state.banks.create_bank("b")
    files = {"file": ("l.txt", HMA_GOOD, "text/plain")}
    twice = {"format": ["csv", "hma"]}
    body = problem(api.post("/v1/banks/b/import", files=files, data=twice), 422, "invalid-request")
    assert "'format'" in body["detail"]
    assert api.state.banks.get_bank("b").entry_count == 0  # nothing imported
    done = api.post("/v1/banks/b/import", files=files, data={"format": "hma"})
    assert done.status_code == 200, done.text


def test_openapi_lists_the_problems_routes_can_give(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    paths = doc["paths"]
    imports = paths["/v1/banks/{name}/import"]["post"]["responses"]
    for status in ("404", "409", "413", "415", "503"):
        content = imports[status]["content"]
        assert list(content) == ["application/problem+json"], (status, content)
        assert content["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
    assert list(imports["401"]["content"]) == ["application/problem+json"]
    assert "409" not in paths["/v1/match"]["post"]["responses"]
    assert "503" in paths["/v1/banks"]["get"]["responses"]
    widget = paths["/v1/deter/widget.js"]["get"]["responses"]["200"]["content"]
    assert list(widget) == ["application/javascript"]
    contact = paths["/v1/contact/widget.js"]["get"]["responses"]["200"]["content"]
    assert list(contact) == ["application/javascript"]
    styles = paths["/v1/contact/widget.css"]["get"]["responses"]["200"]["content"]
    assert list(styles) == ["text/css"]
