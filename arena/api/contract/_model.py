"""How an operation of the API is declared: its route, who may call it, what it takes and answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

# A body's or answer's content: media type -> a model (JSON) or a plain JSON Schema (text, bytes).
Media = dict[str, type[BaseModel] | dict[str, Any]]


@dataclass(frozen=True)
class Answer:
    """One status's answer: a description, and a JSON model or other media."""

    description: str
    model: type[BaseModel] | None = None
    media: Media | None = None

    def content(self) -> Media | None:
        return {"application/json": self.model} if self.model is not None else self.media


@dataclass(frozen=True)
class Body:
    """A request body: its media types (a model validates a JSON body, see `arena.api._body`)."""

    media: Media
    description: str = ""
    required: bool = True


@dataclass(frozen=True)
class Operation:
    """One route under /api. `roles` empty: public; `security`: the kind of bearer credential.
    `errors` lists every error status the route can give (answered as {"error": {...}})."""

    method: str
    path: str
    operation_id: str
    tag: str
    summary: str
    ok: dict[int, Answer]
    errors: tuple[int, ...] = ()
    roles: tuple[str, ...] = ()
    security: str = "bearerAuth"
    upload_conflict: bool = False
    path_params: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    headers: type[BaseModel] | None = None
    body: Body | None = None
