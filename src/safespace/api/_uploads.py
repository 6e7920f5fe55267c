"""Reading request bodies by hand where one endpoint takes a file or JSON, and documenting them.

Bodies are already capped by :mod:`safespace.api._limits` while they stream in; here they are
parsed, with every failure a problem (never a framework 400 with a vague message).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from safespace.api._problems import validation_problem
from safespace.errors import InvalidRequest, UnsupportedMedia

__all__ = [
    "Upload",
    "form_bool",
    "is_multipart",
    "json_body",
    "openapi_body",
    "read_upload",
]

M = TypeVar("M", bound=BaseModel)
_MAX_FIELD = 64 * 1024
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass
class Upload:
    """One uploaded file (already read: at most the route's limit) and the text fields."""

    data: bytes
    filename: str | None
    fields: dict[str, list[str]] = field(default_factory=dict)

    def get(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[-1] if values else None


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def is_multipart(request: Request) -> bool:
    return _content_type(request) == "multipart/form-data"


async def read_upload(request: Request, *, allowed: set[str]) -> Upload:
    """The ``file`` part and the named text fields of a multipart form."""
    if not is_multipart(request):
        raise UnsupportedMedia("send the file as multipart/form-data, in a field named 'file'")
    form = await request.form(max_files=1, max_fields=32, max_part_size=_MAX_FIELD)
    try:
        upload: UploadFile | None = None
        fields: dict[str, list[str]] = {}
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name != "file":
                    raise InvalidRequest(f"unexpected file field {name!r}: use 'file'")
                upload = value
            elif name not in allowed:
                known = ", ".join(sorted(allowed)) or "none"
                raise InvalidRequest(f"unexpected form field {name!r} (known: file, {known})")
            elif name in fields:  # never "the last one wins": say which
                raise InvalidRequest(f"form field {name!r} is given more than once")
            else:
                fields[name] = [value]
        if upload is None:
            raise InvalidRequest("missing the upload: a file in the form field 'file'")
        data = await upload.read()
        return Upload(data, upload.filename, fields)
    finally:
        await form.close()


def form_bool(value: str | None, name: str) -> bool:
    if value is None:
        return False
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidRequest(f"form field {name!r} must be true or false, got {value!r}")


def form_seconds(value: str | None, name: str, default: float) -> float:
    """A form field giving seconds: a finite number >= 0 (absent: ``default``)."""
    if value is None:
        return default
    try:
        seconds = float(value.strip())
    except ValueError:
        seconds = -1.0
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidRequest(f"form field {name!r} must be a number of seconds >= 0, got {value!r}")
    return seconds


async def json_body(request: Request, model: type[M]) -> M:
    """Parse and validate a JSON body against ``model`` (422 problems on failure)."""
    kind = _content_type(request)
    if kind != "application/json" and not kind.endswith("+json"):
        raise UnsupportedMedia("send JSON (Content-Type: application/json) or a multipart upload")
    body = await request.body()
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        raise validation_problem(list(exc.errors())) from None


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def openapi_body(
    *, json_model: type[BaseModel] | None = None, form: dict[str, str] | None = None
) -> dict[str, Any]:
    """An ``openapi_extra`` request body: JSON (schema from a model), a multipart form, or both.

    ``form`` maps field names to descriptions; ``file`` is always the upload.
    """
    content: dict[str, Any] = {}
    if json_model is not None:
        schema = json_model.model_json_schema()
        content["application/json"] = {"schema": _inline(schema, schema.get("$defs", {}))}
    if form is not None:
        props: dict[str, Any] = {
            "file": {"type": "string", "format": "binary", "description": "The file."}
        }
        props.update({k: {"type": "string", "description": v} for k, v in form.items()})
        content["multipart/form-data"] = {
            "schema": {"type": "object", "properties": props, "required": ["file"]}
        }
    return {"requestBody": {"required": True, "content": content}}
