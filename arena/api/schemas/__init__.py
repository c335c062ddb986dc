"""The API's request and response bodies and parameters, declared once as pydantic models.

They validate what the views read (`arena.api._body`) and generate /api/openapi.json
(`arena.api.contract`). One module per area; `_base` has the two kinds of object."""
