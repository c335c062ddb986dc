"""The API contract: every operation under /api, declared with its pydantic models, one module
per area; `build_spec()` makes the OpenAPI document served at /api/openapi.json."""

from __future__ import annotations

from typing import Any

from arena.api.contract import accounts, challenges, jobs, log, rounds, submissions
from arena.api.contract._generate import build_spec as _build
from arena.api.contract._model import Answer, Body, Operation

OPERATIONS: list[Operation] = [
    *log.OPERATIONS,
    *accounts.OPERATIONS,
    *challenges.OPERATIONS,
    *rounds.OPERATIONS,
    *submissions.OPERATIONS,
    *jobs.OPERATIONS,
]

__all__ = ["OPERATIONS", "Answer", "Body", "Operation", "build_spec"]


def build_spec() -> dict[str, Any]:
    return _build(OPERATIONS)
