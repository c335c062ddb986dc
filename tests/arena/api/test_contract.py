"""The typed API contract: one pydantic model per body, used by the view that reads it and by the
generated /api/openapi.json; a body that does not fit gets a 400 that names the field, never the
value sent."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import pytest
from conftest import auth
from flask import Flask
from pydantic import BaseModel, ValidationError

import arena.api
import arena.api.schemas
from arena.api._body import explain
from arena.api._query import parse_query
from arena.api.contract import OPERATIONS, build_spec
from arena.api.schemas._base import Query, RequestBody
from arena.api.schemas.accounts import CreateTeamBody, CreateTokenBody
from arena.api.schemas.challenges import RevealBody
from arena.api.schemas.jobs import SiteEndedBody, SiteRenewBody
from arena.api.schemas.params import (
    ChallengeStartLimitQuery,
    FromToQuery,
    KindQuery,
    OffsetQuery,
    RoundQuery,
    ScorerDigestQuery,
    SeqSizeQuery,
)
from arena.api.schemas.submissions import ReadHiddenLogBody, SetMethodCardBody
from arena.errors import BadRequest

SECRET = "arena_" + "s3cr3t" * 7


def _models() -> set[type[BaseModel]]:
    found = set()
    for info in pkgutil.iter_modules(arena.api.schemas.__path__):
        module = importlib.import_module(f"arena.api.schemas.{info.name}")
        found |= {
            value
            for value in vars(module).values()
            if inspect.isclass(value) and issubclass(value, BaseModel) and value.__module__ == module.__name__
        }
    return found


def _refs(node) -> set[str]:
    if isinstance(node, dict):
        own = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return own.union(*(_refs(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(value) for value in node))
    return set()


def test_each_operation_is_declared_once():
    routes = [(op.method, op.path) for op in OPERATIONS]
    assert len(routes) == len(set(routes))
    ids = [op.operation_id for op in OPERATIONS]
    assert len(ids) == len(set(ids))


def test_every_request_model_documents_a_body_of_the_contract():
    """A model a view reads a body with is the model the document shows for that body."""
    documented = {
        model for op in OPERATIONS if op.body is not None for model in op.body.media.values() if inspect.isclass(model)
    }
    readers = {model for model in _models() if issubclass(model, RequestBody) and model is not RequestBody}
    assert readers and readers <= documented
    json_bodies = [
        op.body.media["application/json"] for op in OPERATIONS if op.body and "application/json" in op.body.media
    ]
    assert all(inspect.isclass(model) and issubclass(model, BaseModel) for model in json_bodies)


def test_every_reference_resolves_and_every_component_is_used():
    spec = build_spec()
    components = spec["components"]["schemas"]
    refs = _refs(spec)
    schema_refs = {ref.rsplit("/", 1)[1] for ref in refs if ref.startswith("#/components/schemas/")}
    assert schema_refs <= set(components), "references to no component"
    assert set(components) <= schema_refs, "components nothing refers to"
    responses = {ref.rsplit("/", 1)[1] for ref in refs if ref.startswith("#/components/responses/")}
    assert responses <= set(spec["components"]["responses"])


def test_the_schemas_carry_no_generated_titles():
    def titled(node, under_properties=False) -> bool:
        if isinstance(node, list):
            return any(titled(v) for v in node)
        if not isinstance(node, dict):
            return False
        if not under_properties and "title" in node:
            return True
        return any(titled(v, under_properties=k == "properties" and not under_properties) for k, v in node.items())

    assert not titled(build_spec()["components"]["schemas"])


@pytest.mark.parametrize(
    ("model", "body", "message"),
    [
        (CreateTokenBody, {"days": 0}, "'days' must be a whole number from 1 to 3650"),
        (CreateTokenBody, {"days": "3"}, "'days' must be a whole number from 1 to 3650"),
        (CreateTokenBody, {"days": True}, "'days' must be a whole number from 1 to 3650"),
        (CreateTokenBody, {"label": 5}, "'label' must be text"),
        (CreateTeamBody, {}, "'name' is missing"),
        (CreateTeamBody, {"name": "T", "factories": ["A", 3]}, "'factories[1]' must be text"),
        (RevealBody, {}, 'say what to reveal: {"all": true} or {"ids": ["id", ...]}'),
        (RevealBody, {"ids": []}, "'ids' must be a list of at least 1 item"),
        (SiteRenewBody, {"jobs": ["x"]}, "'jobs' must be a JSON object"),
        (SiteRenewBody, {"jobs": {"job-1": "12a"}}, "'jobs' must match ^[0-9]{1,40}$"),
        (SiteEndedBody, {"state": ""}, "'state' must be text of 1 to 40 characters"),
        (ReadHiddenLogBody, {"reason": "why"}, "'reason' must be text of 10 to 500 characters"),
        (SetMethodCardBody, {"name": "x", SECRET: 1}, "the body has a property this does not take"),
    ],
)
def test_a_body_that_does_not_fit_is_explained_by_its_field(model, body, message):
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body, strict=True)
    assert explain(model, caught.value.errors(include_url=False, include_input=False)[0]) == message


def test_the_400_names_the_field_and_its_hint_but_never_the_value(client, organiser_token):
    for body in ({"days": SECRET}, {"label": [SECRET]}, {"team_id": {SECRET: SECRET}}):
        answer = client.post("/api/tokens", json=body, headers=auth(organiser_token))
        assert answer.status_code == 400 and answer.json["error"]["code"] == "bad_request"
        assert SECRET not in answer.get_data(as_text=True)
        assert answer.json["error"]["message"].startswith(f"'{next(iter(body))}' must be")
    refused = client.post("/api/uploads", json={"size": "big", "sha256": SECRET}, headers=auth(organiser_token))
    assert refused.status_code == 400 and SECRET not in refused.get_data(as_text=True)
    assert refused.json["error"]["message"] == (
        '\'size\' must be a whole number of at least 1; send {"size": <bytes>, "sha256": "<64 hex digits>"}'
    )


def test_properties_a_view_does_not_read_are_ignored_as_before(client, organiser_token):
    made = client.post("/api/tokens", json={"label": "ci", "colour": "blue"}, headers=auth(organiser_token))
    assert made.status_code == 201 and made.json["label"] == "ci"
    assert json.dumps(made.json).count("colour") == 0


ROUND = "?round= must be a whole number from 1 to 2147483647"
OFFSET_HINT = "; give ?offset=N: the number of bytes the server has (GET the upload to see)"


def _query(model, query_string: str):
    with Flask(__name__).test_request_context("/?" + query_string):
        return parse_query(model)


@pytest.mark.parametrize(
    ("model", "query_string", "message"),
    [
        *((RoundQuery, f"round={raw}", ROUND) for raw in ("%2B5", "%205", "5%20", "5.0", "1_0", "%D9%A5", "%C2%B2")),
        *((RoundQuery, f"round={raw}", ROUND) for raw in ("", "0", "-1", "2147483648", "9" * 40)),
        (ChallengeStartLimitQuery, "limit=1001", "?limit= must be a whole number from 0 to 1000"),
        (ChallengeStartLimitQuery, "start=x", "?start= must be a whole number from 0 to 2147483647"),
        (SeqSizeQuery, "size=3", "?seq= (the entry's sequence number) is required"),
        (SeqSizeQuery, "seq=1&size=-2", "?size= must be a whole number from 0 to 9007199254740991"),
        (FromToQuery, "to=3", "?from= (the older tree size) is required"),
        (FromToQuery, "from=9007199254740992", "?from= must be a whole number from 0 to 9007199254740991"),
        (OffsetQuery, "", "?offset= (the bytes the server has received) is required" + OFFSET_HINT),
        (OffsetQuery, "offset=-1", "?offset= must be a whole number from 0 to 9007199254740991" + OFFSET_HINT),
        (KindQuery, "kind=both", "?kind= must be 'hidden' or 'sample'"),
        (ScorerDigestQuery, "scorer_digest=sha256:AB", "?scorer_digest= must match ^sha256:[0-9a-f]{64}$"),
    ],
)
def test_a_query_that_does_not_fit_is_explained_by_its_parameter(model, query_string, message):
    with pytest.raises(BadRequest) as caught:
        _query(model, query_string)
    assert str(caught.value) == message


def test_a_query_takes_plain_digits_defaults_and_ignores_what_it_does_not_declare():
    assert _query(RoundQuery, "round=0007&other=x").round == 7
    assert _query(FromToQuery, "from=2&from=x").from_ == 2  # the first value, as request.args.get gave
    listed = _query(ChallengeStartLimitQuery, "")
    assert (listed.start, listed.limit) == (0, 1000)
    assert _query(KindQuery, "").kind == "hidden"


@pytest.mark.parametrize(
    "url",
    [
        "/api/log?start={}",
        "/api/log?limit={}",
        "/api/log/proof/inclusion?seq={}",
        "/api/log/proof/consistency?from=1&to={}",
        "/api/challenges/nope/reveal?version={}",
        "/api/challenges/nope/rewards?round={}",
    ],
)
def test_a_query_400_names_the_parameter_but_never_the_value(client, url):
    answer = client.get(url.format(SECRET))
    assert answer.status_code == 400 and answer.json["error"]["code"] == "bad_request"
    assert SECRET not in answer.get_data(as_text=True)
    name = re.search(r"[?&](\w+)=\{\}", url).group(1)
    assert answer.json["error"]["message"].startswith(f"?{name}= must be a whole number from ")


def test_the_views_check_queries_with_the_models_the_contract_documents():
    """One source: the query models the views parse are exactly those the operations declare,
    and no view reads request.args by hand."""
    documented = {op.query for op in OPERATIONS if op.query is not None}
    views = [path.read_text() for path in Path(arena.api.__file__).parent.glob("*.py") if path.name != "_query.py"]
    parsed = {name for text in views for name in re.findall(r"parse_query\((\w+)\)", text)}
    assert parsed == {model.__name__ for model in documented}
    assert all(issubclass(model, Query) for model in documented)
    assert not any("request.args" in text for text in views)


def test_query_parameters_are_documented_with_json_schema_bounds():
    """The digits-only check leaves each parameter's schema a plain integer with minimum/maximum."""
    parameters = [
        param
        for path in build_spec()["paths"].values()
        for op in path.values()
        for param in op.get("parameters", [])
        if param["in"] == "query"
    ]
    numbers = [param["schema"] for param in parameters if param["schema"].get("type") == "integer"]
    assert len(numbers) == 10
    assert all({"minimum", "maximum"} <= set(schema) and not {"ge", "le"} & set(schema) for schema in numbers)
