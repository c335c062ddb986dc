"""Query parameters read through the contract's models (`arena.api.schemas.params`): the model
that documents a route's parameters in /api/openapi.json also checks them, and a parameter that
does not fit gets a 400 naming it (`?round= must be …`), never the value sent."""

from __future__ import annotations

from typing import TypeVar

from flask import request
from pydantic import MISSING, ValidationError

from arena.api._body import explain
from arena.api.schemas._base import Query
from arena.errors import BadRequest

Q = TypeVar("Q", bound=Query)
T = TypeVar("T")


def parse_query(model: type[Q]) -> Q:
    """The request's query as `model` (its first value of each declared parameter; others are
    ignored, as they always were), or BadRequest."""
    names = {field.alias or name for name, field in model.model_fields.items()}
    given = {name: request.args[name] for name in names if name in request.args}
    try:
        return model.model_validate(given, strict=True)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False, include_context=True)[0]
        raise BadRequest(explain(model, first, query=True) + (f"; {model.hint}" if model.hint else "")) from None


def or_none(value: T | MISSING) -> T | None:  # type: ignore[valid-type]
    """A parameter's value, or None where it was not given."""
    return None if value is MISSING else value
