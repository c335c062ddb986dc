"""The OpenAPI 3.1 document, generated from the declared operations and their pydantic models.

Each model's JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) comes from
`model_json_schema`; the models it refers to are collected under components/schemas."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from arena.api.contract._model import Body, Media, Operation
from arena.api.contract._responses import ERRORS, RESPONSES, SECURITY_SCHEMES
from arena.api.schemas.accounts import Error

REF = "#/components/schemas/{model}"
Schema = dict[str, Any]
TAGS = ("meta", "tokens", "challenges", "rounds", "submissions", "teams", "uploads", "nodes", "sites", "log")


class _Generator(GenerateJsonSchema):
    """pydantic's generator without titles, and without `"default": null` on optional fields."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        if "default" in schema and schema["default"] is None:
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)


def _untitled(node: Any, *, names: bool = False) -> Any:
    """The schema without the models' titles (`names`: a mapping whose keys are property names)."""
    if isinstance(node, list):
        return [_untitled(item) for item in node]
    if not isinstance(node, dict):
        return node
    return {
        key: _untitled(value, names=key in ("properties", "$defs") and not names)
        for key, value in node.items()
        if names or key != "title"
    }


def model_schema(model: type[BaseModel], components: dict[str, Schema]) -> Schema:
    """The model's JSON Schema, its referenced models moved into `components`."""
    schema = _untitled(model.model_json_schema(ref_template=REF, schema_generator=_Generator))
    components.update(schema.pop("$defs", {}))
    return schema


def _ref(model: type[BaseModel], components: dict[str, Schema]) -> Schema:
    components[model.__name__] = model_schema(model, components)
    return {"$ref": REF.format(model=model.__name__)}


def _content(media: Media, components: dict[str, Schema]) -> dict[str, Any]:
    return {
        kind: {"schema": schema if isinstance(schema, dict) else _ref(schema, components)}
        for kind, schema in media.items()
    }


def _parameters(model: type[BaseModel], where: str, components: dict[str, Schema]) -> list[dict[str, Any]]:
    """One parameter per field of `model`; a field's description and example go on the parameter."""
    schema = model_schema(model, components)
    required = set(schema.get("required", []))
    parameters = []
    for name, field in schema["properties"].items():
        field = dict(field)
        param: dict[str, Any] = {"name": name, "in": where, "required": name in required}
        for key in ("description", "example"):
            if key in field:
                param[key] = field.pop(key)
        parameters.append({**param, "schema": field})
    return parameters


def _body(body: Body, components: dict[str, Schema]) -> dict[str, Any]:
    out: dict[str, Any] = {"required": body.required, "content": _content(body.media, components)}
    if body.description:
        out["description"] = body.description
    return out


def _responses(op: Operation, components: dict[str, Schema]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, answer in op.ok.items():
        responses[str(status)] = {"description": answer.description}
        if (content := answer.content()) is not None:
            responses[str(status)]["content"] = _content(content, components)
    for status in op.errors:
        responses[str(status)] = {"$ref": f"#/components/responses/{ERRORS[status]}"}
    if op.upload_conflict:
        responses["409"] = {"$ref": "#/components/responses/UploadConflict"}
    return responses


def operation(op: Operation, components: dict[str, Schema]) -> dict[str, Any]:
    """The OpenAPI operation object of `op`."""
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "tags": [op.tag],
        "summary": op.summary,
        "responses": _responses(op, components),
        "security": [{op.security: []}] if op.roles else [],
    }
    if op.roles:
        out["x-arena-roles"] = list(op.roles)
    parameters = [
        param
        for model, where in ((op.path_params, "path"), (op.query, "query"), (op.headers, "header"))
        if model is not None
        for param in _parameters(model, where, components)
    ]
    if parameters:
        out["parameters"] = parameters
    if op.body is not None:
        out["requestBody"] = _body(op.body, components)
    return out


def _api_version() -> str:
    try:
        return version("arena")
    except PackageNotFoundError:
        return "0"


def build_spec(operations: list[Operation]) -> dict[str, Any]:
    """The whole document: every operation, its models under components/schemas."""
    components: dict[str, Schema] = {}
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method] = operation(op, components)
    _ref(Error, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Arena API",
            "version": _api_version(),
            "description": "The JSON API of Arena, a secret-benchmark competition platform. "
            "Send 'Authorization: Bearer <token>'; errors are "
            '{"error": {"code", "message"}}. See docs/cli.md.',
        },
        "tags": [{"name": name} for name in TAGS],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(components.items())),
            "responses": RESPONSES,
            "securitySchemes": SECURITY_SCHEMES,
        },
    }
