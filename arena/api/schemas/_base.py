"""The two kinds of object the API describes: closed (no other properties) and open."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

MAX_ID = 2**31 - 1  # the largest id a database row has (PostgreSQL integer)


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
