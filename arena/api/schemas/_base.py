"""The two kinds of object the API describes: closed (no other properties) and open."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Closed(BaseModel):
    """An object with exactly the properties declared (additionalProperties: false)."""

    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """An object that may carry properties besides those declared."""

    model_config = ConfigDict(extra="allow")
