"""The OpenAPI document at /api/openapi.json: it describes every /api route, and the API answers
as it says (schemathesis fuzzes every operation in-process, with real data to find)."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import schemathesis
import werkzeug
from conftest import auth
from helpers import make_bundle, make_image_tarball
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from arena.api import openapi
from arena.services import accounts, commitments, registrations, rounds
from arena.services.challenges import create_challenge
from arena.timeutil import iso, utcnow
from arena.worker import Worker

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
SLUG = "gpu-faults"
MAX_EXAMPLES = 50
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    response_headers_conformance,
]


@pytest.fixture
def api_app(app):
    """The app, serving the document even before arena/api/__init__.py lists the blueprint."""
    if "api_openapi" not in app.blueprints:
        app.register_blueprint(openapi.bp)
    return app


def _api_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def test_the_document_describes_every_api_route_and_no_other(api_app):
    response = api_app.test_client().get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = response.json
    documented = {(path, method) for path, item in spec["paths"].items() for method in item if method in HTTP_METHODS}
    routes = _api_routes(api_app)
    assert sorted(routes - documented) == [], "routes missing from arena/api/openapi.py"
    assert sorted(documented - routes) == [], "documented operations that no route serves"
    for path, item in spec["paths"].items():
        for method, op in item.items():
            placeholders = set(re.findall(r"{([^}]+)}", path))
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert placeholders == declared, f"{method.upper()} {path}: path parameters"
            public = op["security"] == []
            assert public == (not op.get("x-arena-roles")), f"{method.upper()} {path}: security"
            assert public or "401" in op["responses"], f"{method.upper()} {path}: no 401"
    # A valid OpenAPI 3.1 document (schemathesis checks it against the specification's schema).
    schemathesis.openapi.from_wsgi("/api/openapi.json", api_app, config=SchemathesisConfig()).validate()


# -- schemathesis ---------------------------------------------------------------------------------
@pytest.fixture
def arena_data(api_app, tmp_path, fake_runner):
    """An organiser, a team, a challenge with a sample set, a scored hidden run and a sample run,
    a partial reveal, another team's registration, a started upload, and spare tokens to revoke."""
    platform = api_app.extensions["arena"]
    organiser, _ = accounts.create_organiser(platform, name="Organiser")
    administrator, _ = accounts.create_administrator(platform, name="Administrator")
    team, team_token = accounts.create_team(platform, name="Team A", factories=["Factory A"], actor=organiser)
    now = utcnow()
    rounds_yaml = {
        "rounds": [
            {"start": iso(now - timedelta(hours=1)), "end": iso(now + timedelta(days=1))},
            {"end": iso(now + timedelta(days=2))},
        ],
        "kpi": {"baseline": {"score": 0.5}, "eliminate_after": 1},
        "rewards": {"rule": "rank_shares", "shares": [0.6, 0.4], "euros": 100, "gpu_hours": 2},
    }
    create_challenge(
        platform,
        organiser_id=organiser.id,
        bundle_dir=make_bundle(tmp_path / "bundle", slug=SLUG, extra=rounds_yaml),
    )
    fake_runner.predict = lambda item: "even" if item["x"] % 2 == 0 else "odd"
    client = api_app.test_client()
    tarball = tmp_path / "image.tar"
    make_image_tarball(tarball)
    image = tarball.read_bytes()
    submitted = {}
    for kind in ("hidden", "sample"):
        made = client.post(
            f"/api/challenges/{SLUG}/submissions?kind={kind}",
            data=image,
            headers={**auth(team_token), "Content-Type": "application/x-tar"},
        )
        assert made.status_code == 201, made.json
        submitted[kind] = made.json
    assert Worker(platform).drain() == 2
    # Round 1 closed, so that GET .../rewards has a report to answer with; round 2 is open.
    rounds.close_round(platform, organiser=organiser, slug=SLUG, early=True)
    # A partial reveal, so that GET .../reveal has a document to answer with.
    commitments.reveal(platform, organiser_id=organiser.id, slug=SLUG, ids=["i1"])
    make_image_tarball(tmp_path / "other.tar", salt="other")
    other = (tmp_path / "other.tar").read_bytes()
    started = client.post(
        "/api/uploads",
        headers=auth(team_token),
        json={"size": len(other), "sha256": hashlib.sha256(other).hexdigest()},
    )
    assert started.status_code == 201, started.json
    # Another team's registration, for the organiser to decide on (Team A's stays approved).
    other_team, _ = accounts.create_team(platform, name="Team B", factories=[], actor=organiser)
    registrations.register(platform, team=other_team, slug=SLUG)
    spare = [accounts.create_token(platform, actor=who, label="spare")[0]["id"] for who in (organiser, team)]
    return {
        "principals": {"organiser": organiser, "team": team, "administrator": administrator},
        "registered_team_id": other_team.id,
        "spare_token_ids": spare,
        "submission_ids": [submitted["hidden"]["id"], submitted["sample"]["id"]],
        "image_digest": submitted["hidden"]["image_digest"],
        "upload_id": started.json["id"],
        "upload_bytes": other,
    }


def _bundle_parts(slug: str) -> dict[str, bytes]:
    lines = [f'{{"id": "n{i}", "input": {{"x": {i}}}}}\n' for i in range(4)]
    labels = [f'{{"id": "n{i}", "label": "{"even" if i % 2 == 0 else "odd"}"}}\n' for i in range(4)]
    return {
        "challenge.yaml": f"slug: {slug}\ntitle: T {slug}\nmetric: accuracy\n".encode(),
        "inputs.jsonl": "".join(lines).encode(),
        "labels.jsonl": "".join(labels).encode(),
    }


# Values at the edge that generated data seldom reaches: integers just past SQLite's 64 bits, and
# a lone surrogate (valid JSON, "\ud800", but no UTF-8 text). The API must refuse them (4xx), not
# crash on them.
EDGE_INTEGERS = [2**63, -(2**63) - 1]
LONE_SURROGATE = "\ud800"


def _edge(value, *, strings: bool) -> st.SearchStrategy:
    if isinstance(value, int) and not isinstance(value, bool):
        return st.sampled_from([value, value, *EDGE_INTEGERS])
    if strings and isinstance(value, str):
        return st.sampled_from([value, value, LONE_SURROGATE])
    return st.just(value)


def _with_edges(mapping, *, strings: bool) -> st.SearchStrategy:
    if not isinstance(mapping, dict):
        return st.just(mapping)
    return st.fixed_dictionaries({k: _edge(v, strings=strings) for k, v in mapping.items()})


def _real_values(data: dict):
    """Strategies that offer real identifiers and valid bodies besides what schemathesis makes up,
    so that the fuzzing reaches the success answers too, not only 404 and 400; and edge values."""

    def path_parameters(context, params):
        if not params:
            return st.just(params)
        real = dict(params)
        if "slug" in params:
            real["slug"] = SLUG
        if "submission_id" in params:
            real["submission_id"] = st.sampled_from(data["submission_ids"])
        if "upload_id" in params:
            real["upload_id"] = data["upload_id"]
        if "team" in params:
            real["team"] = "Team A"
        if "team_id" in params:
            real["team_id"] = data["registered_team_id"]
        if "token_id" in params:
            real["token_id"] = st.sampled_from(data["spare_token_ids"])
        fixed = {k: v if isinstance(v, st.SearchStrategy) else st.just(v) for k, v in real.items()}
        chosen = st.one_of(st.just(params), st.fixed_dictionaries(fixed))
        return chosen.flatmap(lambda p: _with_edges(p, strings=False))

    def query(context, query):
        if query and "offset" in query:
            query = {**query, "offset": st.sampled_from([query["offset"], 0])}
            return st.fixed_dictionaries(
                {k: v if isinstance(v, st.SearchStrategy) else st.just(v) for k, v in query.items()}
            )
        return _with_edges(query, strings=False)

    def body(context, body):
        operation = context.operation
        route = (operation.method.lower(), operation.path)
        choices = [body]
        if route == ("post", "/api/challenges/{slug}/submissions") and isinstance(body, dict):
            choices.append({**body, "image_digest": data["image_digest"]})
        elif route == ("post", "/api/challenges/{slug}/reveal") and isinstance(body, dict):
            choices += [{"ids": ["i0", "i3"], "version": 1}, {"all": True}]
        elif route == ("post", "/api/challenges/{slug}/registrations/{team_id}"):
            choices += [{"approve": True}, {"approve": False}]
        elif route == ("post", "/api/teams"):
            choices.append({"name": "Fuzzed Alliance", "factories": ["Factory A:2", "Factory F:1"]})
        elif route == ("post", "/api/challenges"):
            return st.sampled_from([body] + [_bundle_parts(slug) for slug in ("made-by-fuzz", "made-again")])
        elif route == ("post", "/api/challenges/{slug}/versions"):
            parts = _bundle_parts("x")
            return st.sampled_from([body, {name: parts[name] for name in ("inputs.jsonl", "labels.jsonl")}])
        elif route == ("put", "/api/uploads/{upload_id}"):
            return st.sampled_from([body, data["upload_bytes"]])
        elif route == ("post", "/api/node/jobs/{job_id}/result"):
            return st.just(body)  # multipart: a lone surrogate cannot even be encoded to send
        return st.sampled_from(choices).flatmap(lambda b: _with_edges(b, strings=True))

    return {
        "flatmap_path_parameters": path_parameters,
        "flatmap_query": query,
        "flatmap_body": body,
    }


class _BufferedClient(werkzeug.Client):
    """Reads and closes each response at once (file responses would be left open otherwise)."""

    def open(self, *args, **kwargs):
        return super().open(*args, **{**kwargs, "buffered": True})


def _fuzz(
    operation, arena_data, *, hooks, tokens: dict[str, tuple[int, str]], only: str | None = None, checks=CHECKS
) -> None:
    """Fuzz one operation with valid and invalid data; raise what the checks find. With `only`,
    every request carries that role's token."""
    roles = operation.definition.raw.get("x-arena-roles") or ["organiser", "team"]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE, hooks=hooks),
        operation.as_strategy(GenerationMode.NEGATIVE, hooks=hooks),
    )
    ours = {token_id for token_id, _ in tokens.values()}

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, data=st.data())
    def run(case, data):
        # A token of a role the operation takes (most often), of another role, or none.
        who = data.draw(
            st.sampled_from(["allowed", "allowed", "allowed", "organiser", "team", "none"]),
            label="who",
        )
        if who == "allowed":
            who = data.draw(st.sampled_from(roles), label="role")
        who = only or who
        if who not in tokens and who != "none":  # a node credential: the Slurm tests use real ones
            who = "none"
        if case.path_parameters and case.path_parameters.get("token_id") in ours:
            case.path_parameters["token_id"] = arena_data["spare_token_ids"][0]  # keep ours valid
        headers = {} if who == "none" else auth(tokens[who][1])
        case.call_and_validate(headers=headers, checks=checks, session=_BufferedClient(operation.app))

    run()


def _schema(api_app, arena_data):
    # Rate limits are per team and organiser (tests/arena/test_ratelimit.py); fuzzing every
    # operation as one team would run into its limit.
    api_app.extensions["arena.ratelimit"].limit = 0
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", api_app, config=SchemathesisConfig(seed=20261125))
    for name, function in _real_values(arena_data).items():
        schema.hook(name)(function)
    return schema


def test_no_operation_gives_a_500_with_a_team_token(api_app, arena_data):
    """The review's check: schemathesis over every operation, every request with a team's token
    (operations for organisers or nodes included: those must refuse it, not fail)."""
    platform = api_app.extensions["arena"]
    schema = _schema(api_app, arena_data)
    failures = []
    for operation in [result.ok() for result in schema.get_all_operations()]:
        view, token = accounts.create_token(platform, actor=arena_data["principals"]["team"], label="fuzz")
        try:
            _fuzz(
                operation,
                arena_data,
                hooks=schema.hooks,
                tokens={"team": (view["id"], token)},
                only="team",
                checks=[not_a_server_error, content_type_conformance],
            )
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect all, then fail once
            details = [str(e) for e in getattr(exc, "exceptions", [])] or [str(exc)]
            failures.append(f"{operation.label}:\n" + "\n".join(details))
    assert not failures, f"{len(failures)} operation(s) failed:\n\n" + "\n\n".join(failures)


def test_the_api_answers_as_documented(api_app, arena_data):
    """Every operation: no 5xx; status codes, content types and bodies as documented."""
    platform = api_app.extensions["arena"]
    schema = _schema(api_app, arena_data)
    operations = [result.ok() for result in schema.get_all_operations()]
    documented = {
        f"{method.upper()} {path}"
        for path, item in schema.raw_schema["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }
    # schemathesis leaves out the operation that serves the document itself: it loaded it above.
    assert documented - {op.label for op in operations} <= {"GET /api/openapi.json"}
    failures = []
    for operation in operations:
        # Fresh tokens for each operation (some operations revoke tokens).
        tokens = {}
        for role, actor in arena_data["principals"].items():
            view, token = accounts.create_token(platform, actor=actor, label=operation.label[:100])
            tokens[role] = (view["id"], token)
        try:
            _fuzz(operation, arena_data, hooks=schema.hooks, tokens=tokens)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect all, then fail once
            details = [str(e) for e in getattr(exc, "exceptions", [])] or [str(exc)]
            failures.append(f"{operation.label}:\n" + "\n".join(details))
    assert not failures, f"{len(failures)} operation(s) failed:\n\n" + "\n\n".join(failures)
