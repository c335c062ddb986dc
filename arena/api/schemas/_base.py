"""The two kinds of object the API describes: closed (no other properties) and open."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

MAX_ID = 2**31 - 1  # the largest id a database row has (PostgreSQL integer)
MAX_SIZE = 2**53 - 1  # the largest whole number JSON carries exactly (a log's size, a byte offset)


class Closed(BaseModel):
    """An object with exactly the properties declared (additionalProperties: false)."""

    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """An object that may carry properties besides those declared."""

    model_config = ConfigDict(extra="allow")


Timestamp = Annotated[
    str,
    Field(
        description="UTC, ISO 8601 with a trailing Z, e.g. 2026-11-25T14:57:28Z",
        json_schema_extra={"format": "date-time"},
    ),
]
Hex64 = Annotated[str, Field(pattern="^[0-9a-f]{64}$")]


class RequestBody(BaseModel):
    """A JSON request body: what a view reads from it (`arena.api._body.parse_body`). Properties it
    does not read are ignored, as they always were."""

    model_config = ConfigDict(extra="ignore")
    hint: ClassVar[str] = ""  # said after what is wrong: what a good body looks like


def _digits(value: Any) -> Any:
    """A query's text as a whole number: ASCII digits only (no "+5", " 5", "5.0", "1_0" or "٥")."""
    if not isinstance(value, str):
        return value
    if not re.fullmatch(r"[0-9]{1,19}", value):
        raise PydanticCustomError("int_parsing", "not a whole number written in digits")
    return int(value)


class Query(Closed):
    """One set of query parameters, a field each (`arena.api._query.parse_query`). A field typed
    `int` takes ASCII digits only; its schema stays a plain integer with its bounds. `hint` is
    said after what is wrong."""

    hint: ClassVar[str] = ""

    @field_validator("*", mode="before")
    @classmethod
    def _whole_numbers_in_digits(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields[info.field_name] if info.field_name else None
        annotation = field.annotation if field is not None else None
        return _digits(value) if annotation is int or int in get_args(annotation) else value
