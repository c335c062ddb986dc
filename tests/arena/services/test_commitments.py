"""Commitments: published signed roots, results that record them, reveals anyone can check."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner
from conftest import auth
from helpers import make_bundle, make_image_tarball, write_jsonl
from sqlalchemy import select

from arena.cli.verify import verify_document, verify_set
from arena.errors import BadRequest
from arena.models import HiddenSet, Result
from arena.services.challenges import add_version, create_challenge
from arena.services.images import receive_image
from arena.services.submissions import create_submission
from arena.signing import verify_statement
from arena.worker import Worker


@pytest.fixture
def made(platform, organiser_token, tmp_path):
    return create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b", n=7))


def test_the_signed_root_is_published_in_the_api_and_on_the_page(client, platform, made):
    published = client.get("/api/challenges/toy").json["commitment"]
    assert published["root"] == made.root and len(made.root) == 64
    assert published["statement"]["n_items"] == 7 and published["statement"]["root"] == made.root
    assert verify_statement(
        public_key=published["public_key"], statement=published["statement"], signature=published["signature"]
    )
    keys = client.get("/api/signing-key").json
    assert keys["commitment_key"] == published["public_key"] != keys["public_key"]  # separate keys
    assert published["statement"]["key_id"] == keys["commitment_key_id"]
    assert made.root in client.get("/challenges/toy").get_data(as_text=True)


def submit_and_score(platform, fake_runner, tmp_path) -> str:
    """Upload a stand-in image, submit it for team 1 on "toy", and let the worker score it."""
    fake_runner.predict = lambda item: "even"
    make_image_tarball(tmp_path / "i.tar")
    with (tmp_path / "i.tar").open("rb") as stream:
        digest = receive_image(platform, stream=stream).digest
    create_submission(platform, team_id=1, slug="toy", image_digest=digest)
    Worker(platform).drain()
    return digest


def test_results_record_the_root_they_were_scored_against(platform, made, team_token, fake_runner, tmp_path):
    submit_and_score(platform, fake_runner, tmp_path)
    with platform.sessions() as session:
        results = session.scalars(select(Result)).all()
    assert sorted(r.split for r in results) == ["private", "public"]
    assert {r.hidden_set_root for r in results} == {made.root}


def reveal_document(client, organiser_token, body) -> dict:
    response = client.post("/api/challenges/toy/reveal", json=body, headers=auth(organiser_token))
    assert response.status_code == 201, response.json
    with client.get("/api/challenges/toy/reveal") as answer:
        return json.loads(answer.data)


def test_a_full_reveal_verifies_and_a_changed_item_fails_it(client, made, organiser_token):
    document = reveal_document(client, organiser_token, {"all": True})
    assert document["complete"] and len(document["items"]) == 7
    assert verify_document(document, public_key=None, root=made.root) == []
    item = json.loads(document["items"][3]["item"])
    item["label"] = "even" if item["label"] == "odd" else "odd"
    document["items"][3]["item"] = json.dumps(item, sort_keys=True, separators=(",", ":"))
    problems = verify_document(document, public_key=None, root=made.root)
    assert problems == ["the revealed set as a whole does not hash to the committed root"]


def test_a_partial_reveal_carries_inclusion_proofs(client, made, organiser_token):
    document = reveal_document(client, organiser_token, {"ids": ["i2", "i5"]})
    assert [i["index"] for i in document["items"]] == [2, 5]
    assert all(i["proof"] for i in document["items"])
    assert verify_document(document, public_key=None, root=made.root) == []
    document["items"][1]["salt"] = "00" * 32
    assert verify_document(document, public_key=None, root=made.root) == [
        "item 5 (id 'i5'): does not match the committed root"
    ]


def test_a_forged_statement_or_a_foreign_key_fails(client, made, organiser_token):
    fresh = reveal_document(client, organiser_token, {"all": True})
    document = copy.deepcopy(fresh)
    document["statement"]["n_items"] = 6
    assert any("signature does not verify" in p for p in verify_document(document, public_key=None, root=None))
    other_key = "A" * 43 + "="
    assert "another public key" in verify_document(fresh, public_key=other_key, root=None)[0]
    assert "not the root you expected" in verify_document(fresh, public_key=None, root="ab" * 32)[0]


def test_verify_set_cli_accepts_genuine_and_rejects_changed(client, made, organiser_token, tmp_path):
    document = reveal_document(client, organiser_token, {"all": True})
    path = tmp_path / "reveal.json"
    path.write_text(json.dumps(document))
    ok = CliRunner().invoke(verify_set, [str(path), "--root", made.root])
    assert ok.exit_code == 0 and ok.output.startswith("OK: 7 of 7 items")
    document["items"][0]["item"] = document["items"][0]["item"].replace('"x":0', '"x":1')
    path.write_text(json.dumps(document))
    bad = CliRunner().invoke(verify_set, [str(path)])
    assert bad.exit_code == 1 and "does not hash to the committed root" in bad.output
    path.write_text("{}")
    broken = CliRunner().invoke(verify_set, [str(path)])
    assert broken.exit_code == 1 and "not an Arena reveal document" in broken.output


def test_reveal_is_for_the_challenge_owner_only(client, platform, made):
    from arena.services.accounts import create_organiser

    other = create_organiser(platform, name="Someone Else")[1]
    response = client.post("/api/challenges/toy/reveal", json={"all": True}, headers=auth(other))
    assert response.status_code == 403
    assert client.get("/api/challenges/toy/reveal").status_code == 404


@pytest.mark.parametrize("body", [{}, {"ids": []}, {"ids": [3]}, {"all": True, "version": "2"}])
def test_bad_reveal_requests_are_400(client, made, organiser_token, body):
    response = client.post("/api/challenges/toy/reveal", json=body, headers=auth(organiser_token))
    assert response.status_code == 400 and response.json["error"]["message"]


def test_unknown_ids_cannot_be_revealed(client, made, organiser_token):
    response = client.post("/api/challenges/toy/reveal", json={"ids": ["nope"]}, headers=auth(organiser_token))
    assert response.status_code == 400 and "not in this hidden set" in response.json["error"]["message"]


def test_a_new_version_has_its_own_key_and_root_and_old_results_keep_theirs(
    client, platform, made, team_token, organiser_token, fake_runner, tmp_path
):
    digest = submit_and_score(platform, fake_runner, tmp_path)

    folder = tmp_path / "v2"
    write_jsonl(folder / "inputs.jsonl", [{"id": f"n{i}", "input": {"x": i}} for i in range(4)])
    write_jsonl(folder / "labels.jsonl", [{"id": f"n{i}", "label": "even"} for i in range(4)])
    files = {n: (open(folder / n, "rb"), n) for n in ("inputs.jsonl", "labels.jsonl")}
    response = client.post(
        "/api/challenges/toy/versions", data=files, headers=auth(organiser_token), content_type="multipart/form-data"
    )
    assert response.status_code == 201, response.json
    second = response.json
    assert second["version"] == 2 and second["root"] != made.root

    create_submission(platform, team_id=1, slug="toy", image_digest=digest)
    Worker(platform).drain()
    with platform.sessions() as session:
        results = session.scalars(select(Result).where(Result.split == "public").order_by(Result.id)).all()
        keys = session.scalars(select(HiddenSet.data_key_id)).all()
    assert [r.hidden_set_root for r in results] == [made.root, second["root"]]
    assert results[1].score == 1.0 and results[1].released  # a new version starts the Ladder afresh
    assert len(set(keys)) == 2
    assert client.get("/api/challenges/toy").json["commitment"]["version"] == 2


def test_a_bad_new_version_leaves_nothing(platform, made, tmp_path):
    folder = tmp_path / "v2"
    write_jsonl(folder / "inputs.jsonl", [{"id": "a", "input": 1}])
    write_jsonl(folder / "labels.jsonl", [{"id": "b", "label": "even"}])
    with pytest.raises(BadRequest, match="id is not in the inputs file"):
        add_version(platform, organiser_id=1, slug="toy", folder=folder)
    assert len(list(platform.hidden_sets.root.iterdir())) == 1
    with platform.sessions() as session:  # the first version is still the only one, and current
        assert [(h.version, h.root) for h in session.scalars(select(HiddenSet))] == [(1, made.root)]


def test_a_complete_reveal_is_final(client, made, organiser_token):
    reveal_document(client, organiser_token, {"all": True})
    again = client.post("/api/challenges/toy/reveal", json={"ids": ["i1"]}, headers=auth(organiser_token))
    assert again.status_code == 409 and "revealed in full already" in again.json["error"]["message"]
    with client.get("/api/challenges/toy/reveal") as answer:
        assert len(json.loads(answer.data)["items"]) == 7


def test_a_non_json_item_is_named(client, made, organiser_token):
    document = reveal_document(client, organiser_token, {"ids": ["i1"]})
    document["items"][0]["item"] = "{not json"
    assert verify_document(document, public_key=None, root=made.root) == ["item 1: not JSON"]


def test_the_create_answer_carries_the_root(client, organiser_token, tmp_path):
    root = make_bundle(tmp_path / "c", slug="with-root")
    files = {n: (open(root / n, "rb"), n) for n in ("challenge.yaml", "inputs.jsonl", "labels.jsonl")}
    made = client.post(
        "/api/challenges", data=files, headers=auth(organiser_token), content_type="multipart/form-data"
    ).json
    assert made["root"] == client.get("/api/challenges/with-root").json["commitment"]["root"]
