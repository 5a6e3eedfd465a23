"""Request bodies checked against pydantic models, with one 400 shape for all."""
from __future__ import annotations

from typing import TypeVar

from flask import Request
from pydantic import BaseModel, ValidationError

from shared.errors import BadRequest

Model = TypeVar("Model", bound=BaseModel)


def parse_body(model: type[Model], request: Request) -> Model:
    """Parse the JSON body into `model`; 400 listing each bad field otherwise."""
    payload = request.get_json(silent=True)
    if payload is None:
        raise BadRequest("the body must be a JSON object", code="invalid_json")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in err["loc"]) or "(body)",
                    "problem": err["msg"]} for err in exc.errors()]
        raise BadRequest("the body has invalid fields", code="validation_failed",
                         details=details) from None
