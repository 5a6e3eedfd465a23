"""Route decorators that validate input with pydantic models and record them, so the
OpenAPI document (`travel_platform.openapi`) is generated from the very schemas that validate."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Annotated, Any, TypeVar

from flask import Response, jsonify, request
from pydantic import BaseModel, BeforeValidator, ValidationError

from travel_platform.errors import BadRequest

Model = TypeVar("Model", bound=BaseModel)
API_ATTR = "__api__"


def _split_commas(value: Any) -> Any:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return value
    return [part for v in values for part in v.split(",")]


# A list in a query string, given as `k=a,b,c`, as `k=a&k=b`, or both. The comma form is
# what fits a batch of 100 ids into one request line (gunicorn allows 4094 bytes).
Item = TypeVar("Item")
QueryList = Annotated[list[Item], BeforeValidator(_split_commas)]


def api_meta(view: Callable) -> dict[str, Any]:
    """The OpenAPI facts recorded on a view (created empty on first use)."""
    meta = getattr(view, API_ATTR, None)
    if meta is None:
        meta = {}
        setattr(view, API_ATTR, meta)
    return meta


def _wrap(view: Callable, inner: Callable) -> Callable:
    wrapped = wraps(view)(inner)
    setattr(wrapped, API_ATTR, dict(api_meta(view)))
    return wrapped


def validation_details(exc: ValidationError) -> list[dict[str, str]]:
    """One entry per bad field: where it is and what is wrong."""
    return [{"field": ".".join(str(p) for p in err["loc"]) or "(body)", "problem": err["msg"]}
            for err in exc.errors()]


def _nul_fields(value: Any, path: str = "") -> list[str]:
    # PostgreSQL text cannot hold NUL; refusing it here beats a database error later.
    if isinstance(value, str):
        return [path or "(body)"] if "\x00" in value else []
    if isinstance(value, dict):
        items = [(str(k), v) for k, v in value.items()]
        bad_keys = [k for k, _ in items if "\x00" in k]
    elif isinstance(value, list):
        items, bad_keys = [(str(i), v) for i, v in enumerate(value)], []
    else:
        return []
    found = [f"{path}.{k}" if path else k for k in bad_keys]
    for key, item in items:
        found += _nul_fields(item, f"{path}.{key}" if path else key)
    return found


# Our bodies nest three levels at most; 32 leaves room and keeps every recursive walk of a
# payload (ours, pydantic's) far from Python's recursion limit.
MAX_JSON_DEPTH = 32


def _too_deep(value: Any) -> bool:
    # Iterative on purpose: a recursive walk is what a deeply nested body would break.
    level = [value] if isinstance(value, (dict, list)) else []
    for _ in range(MAX_JSON_DEPTH):
        level = [child for item in level
                 for child in (item.values() if isinstance(item, dict) else item)
                 if isinstance(child, (dict, list))]
        if not level:
            return False
    return True


def _json_payload() -> Any:
    """The request's JSON body, None if it is not JSON; 413 if it is over the size limit,
    whatever its type or framing; 400 if it nests too deeply (the JSON parser itself raises
    RecursionError from about 1000 levels)."""
    too_deep = BadRequest(f"the body nests deeper than {MAX_JSON_DEPTH} levels",
                          code="too_deeply_nested")
    data = request.get_data()  # 413 here when Content-Length is over the limit
    limit = request.max_content_length
    if limit is not None and len(data) >= limit:
        # A body without Content-Length (chunked) is cut at the limit and would parse as
        # truncated JSON; reading on past the limit raises the 413 it deserves.
        request.stream.read(1)
    try:
        payload = request.get_json(silent=True)
    except RecursionError:
        raise too_deep from None
    if _too_deep(payload):
        raise too_deep
    return payload


def parse_model(model: type[Model], payload: Any, *, what: str) -> Model:
    """Validate `payload` into `model`; 400 listing each bad field otherwise."""
    bad = _nul_fields(payload)
    if bad:
        raise BadRequest(f"the {what} has invalid fields", code="validation_failed",
                         details=[{"field": f, "problem": "must not contain NUL characters"}
                                  for f in dict.fromkeys(bad)])
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise BadRequest(f"the {what} has invalid fields", code="validation_failed",
                         details=validation_details(exc)) from None


def body(model: type[BaseModel]) -> Callable:
    """Parse the JSON body into `model` and pass it to the view as `body`."""

    def decorate(view: Callable) -> Callable:
        def inner(*args, **kwargs):
            payload = _json_payload()
            if payload is None:
                raise BadRequest("the body must be a JSON object", code="invalid_json")
            return view(*args, body=parse_model(model, payload, what="body"), **kwargs)
        wrapped = _wrap(view, inner)
        api_meta(wrapped)["body"] = model
        return wrapped
    return decorate


def query(model: type[BaseModel]) -> Callable:
    """Parse the query string into `model` and pass it to the view as `query`."""

    def decorate(view: Callable) -> Callable:
        def inner(*args, **kwargs):
            args_dict = {k: (v if len(v) > 1 else v[0]) for k, v in request.args.lists()}
            return view(*args, query=parse_model(model, args_dict, what="query string"),
                        **kwargs)
        wrapped = _wrap(view, inner)
        api_meta(wrapped)["query"] = model
        return wrapped
    return decorate


def responds(status: int, model: type[BaseModel] | None = None, description: str = "") -> Callable:
    """Document a response of the view (no runtime effect)."""

    def decorate(view: Callable) -> Callable:
        api_meta(view).setdefault("responses", {})[status] = (model, description)
        return view
    return decorate


def header(name: str, *, description: str, required: bool = True,
           max_length: int | None = None) -> Callable:
    """Document a request header the view reads (no runtime effect: the service checks it),
    so that generated clients and Swagger's "Try it out" send it."""

    def decorate(view: Callable) -> Callable:
        schema: dict[str, Any] = {"type": "string", "minLength": 1}
        if max_length is not None:
            schema["maxLength"] = max_length
        api_meta(view).setdefault("headers", []).append(
            {"name": name, "in": "header", "required": required, "description": description,
             "schema": schema})
        return view
    return decorate


class PageFields(BaseModel):
    """What every page carries besides its `data` (each service's page models add that)."""

    total: int
    limit: int
    offset: int
    next_offset: int | None


def page(rows: list, *, total: int, limit: int, offset: int) -> dict:
    """The one shape of every list: `next_offset` is where the next page starts, null on
    the last one, so a client pages without arithmetic; `total` counts every match."""
    return {"data": rows, "total": total, "limit": limit, "offset": offset,
            "next_offset": offset + limit if offset + limit < total else None}


def created(document: Any, *, location: str, status: int = 201) -> Response:
    """Answer a creation: the new resource as JSON and its URL in `Location` (the one way
    every service answers 201; `status` lets an idempotent replay answer 200 alike)."""
    response = jsonify(document)
    response.status_code = status
    response.headers["Location"] = location
    return response
