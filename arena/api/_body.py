"""Request bodies read through the contract's models (`arena.api.schemas`): the model that
documents a body also checks it, and a body that does not fit gets a 400 naming the field.

Messages name the field and what it must be, never the value sent (it may be a secret)."""

from __future__ import annotations

from typing import Any, TypeVar

from annotated_types import Ge, Le, MaxLen, MinLen
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from arena.api._auth import json_body
from arena.errors import BadRequest

M = TypeVar("M", bound=BaseModel)
KINDS = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "string": "text",
    "list": "a list",
    "dict": "a JSON object",
    "model": "a JSON object",
}


def parse_body(model: type[M]) -> M:
    """The request's JSON body as `model` (strict: no "5" for 5, no true for 1), or BadRequest."""
    try:
        return model.model_validate(json_body(), strict=True)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False, include_context=True)[0]
        hint = getattr(model, "hint", "")
        raise BadRequest(explain(model, first) + (f"; {hint}" if hint else "")) from None


def _place(loc: tuple[Any, ...]) -> str:
    """`ids[2]`: the field, and list positions in it (never a key the caller chose)."""
    place = str(loc[0]) if loc else "body"
    for part in loc[1:]:
        if not isinstance(part, int):
            break
        place += f"[{part}]"
    return place


def _field(model: type[BaseModel], name: str) -> FieldInfo | None:
    """The field called `name`, or whose alias is `name` (errors name fields by alias)."""
    return next((f for key, f in model.model_fields.items() if name in (key, f.alias)), None)


def _bounds(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[Any, Any]:
    """The declared (low, high) of a top-level field: its value's range or its length's."""
    field = _field(model, str(loc[0])) if len(loc) == 1 else None
    low = high = None
    for rule in field.metadata if field is not None else ():
        if isinstance(rule, Ge | MinLen):
            low = rule.ge if isinstance(rule, Ge) else rule.min_length
        if isinstance(rule, Le | MaxLen):
            high = rule.le if isinstance(rule, Le) else rule.max_length
    return low, high


def _span(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f"{low} to {high}"
    if low is not None:
        return f"at least {low}"
    return f"at most {high}" if high is not None else ""


def _sized(what: str, low: Any, high: Any, unit: str) -> str:
    """`text of 10 to 500 characters`, `a whole number from 1 to 3650`, `a list of at least 1 items`."""
    span = _span(low, high)
    if not span:
        return what
    if not unit and low is not None and high is not None:
        return f"{what} from {span}"
    if unit and span.endswith(" 1"):
        unit = unit.removesuffix("s")
    return f"{what} of {span}{unit}"


def _missing(model: type[BaseModel], loc: tuple[Any, ...], query: bool) -> str:
    """`'days' is missing`; `?seq= (the entry's sequence number) is required`."""
    if not query:
        return f"'{_place(loc)}' is missing"
    field = _field(model, str(loc[0]))
    what = f" ({field.description})" if field is not None and field.description else ""
    return f"?{loc[0]}={what} is required"


def explain(model: type[BaseModel], error: Any, *, query: bool = False) -> str:
    """One sentence for pydantic's first error: the field (`'x'` in a body, `?x=` in a query), and
    what it must be."""
    kind, loc, ctx = error["type"], tuple(error["loc"]), error.get("ctx", {})
    where = f"?{loc[0]}=" if query and loc else f"'{_place(loc)}'"
    if kind == "value_error":  # a model's own check, worded by it
        return str(ctx.get("error", error["msg"]))
    if kind == "missing":
        return _missing(model, loc, query)
    if kind == "extra_forbidden":  # not named: the caller chose that name
        return "the body has a property this does not take"
    if kind == "literal_error":
        return f"{where} must be {ctx['expected']}"
    low, high = _bounds(model, loc)
    low = low if low is not None else ctx.get("ge", ctx.get("min_length"))
    high = high if high is not None else ctx.get("le", ctx.get("max_length"))
    if kind.startswith(("int_", "greater_than", "less_than")):
        return f"{where} must be {_sized('a whole number', low, high, '')}"
    if kind.startswith("string_too"):
        return f"{where} must be {_sized('text', low, high, ' characters')}"
    if kind.startswith(("too_short", "too_long")):
        what = "a list" if ctx.get("field_type", "List") == "List" else "an object"
        return f"{where} must be {_sized(what, low, high, ' items' if what == 'a list' else ' entries')}"
    if kind == "string_pattern_mismatch":
        return f"{where} must match {ctx['pattern']}"
    if kind.endswith("_type") and kind.split("_")[0] in KINDS:
        return f"{where} must be {KINDS[kind.split('_')[0]]}"
    return f"{where}: {error['msg'][:1].lower()}{error['msg'][1:]}"
