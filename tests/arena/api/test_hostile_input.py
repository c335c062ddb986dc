"""Input crafted to break parsers gets a 4xx naming the problem, never a 500."""

from __future__ import annotations

import pytest
from conftest import auth
from helpers import make_bundle

from arena.errors import BadRequest
from arena.services.bundles import load_bundle

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("path", ["/api/teams", "/api/tokens"])
def test_deeply_nested_json_is_400(client, organiser_token, path):
    answer = client.post(path, data=DEEP, headers={**auth(organiser_token), "Content-Type": "application/json"})
    assert answer.status_code == 400


def test_lone_surrogates_in_json_are_400(client, organiser_token):
    answer = client.post(
        "/api/tokens",
        data='{"label": "\\ud800"}',
        headers={**auth(organiser_token), "Content-Type": "application/json"},
    )
    assert answer.status_code == 400 and "not valid Unicode" in answer.json["error"]["message"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("inputs.jsonl", '{"id": "a", "input": "\\ud800"}\n', "inputs.jsonl line 1: not valid JSON"),
        ("inputs.jsonl", '{"id": "a", "input": ' + DEEP + "}\n", "inputs.jsonl line 1: not valid JSON"),
        ("challenge.yaml", 'slug: toy\ntitle: "\\ud800"\nmetric: accuracy\n', "'title' is not valid Unicode"),
        ("challenge.yaml", DEEP.replace("]", ""), "nested too deeply"),
    ],
)
def test_hostile_bundles_are_400(tmp_path, name, text, message):
    root = make_bundle(tmp_path / "b")
    (root / name).write_text(text)
    with pytest.raises(BadRequest) as caught:
        load_bundle(root)
    assert message in caught.value.message


def test_a_digest_with_a_trailing_newline_is_refused(client, team_token):
    answer = client.post("/api/uploads", json={"size": 10, "sha256": "a" * 64 + "\n"}, headers=auth(team_token))
    assert answer.status_code == 400


def test_ids_past_the_database_range_are_4xx(client, team_token, organiser_token):
    assert client.delete(f"/api/tokens/{2**63}", headers=auth(team_token)).status_code == 404
    assert client.post("/api/tokens", json={"team_id": 2**63}, headers=auth(organiser_token)).status_code == 400


def test_a_nul_in_a_challenge_parameter_finds_nothing_instead_of_failing(client, team_token):
    """PostgreSQL cannot compare text holding a NUL: such a slug must find nothing, not raise
    (on PostgreSQL, ARENA_TEST_DATABASE=postgres, this was a 500)."""
    refused = client.get("/api/submissions", query_string={"challenge": "toy\x00"}, headers=auth(team_token))
    assert refused.status_code == 404 and "no challenge" in refused.json["error"]["message"]
    found = client.get("/api/log", query_string={"challenge": "\x00"})
    assert found.status_code == 200 and found.json["entries"] == []
