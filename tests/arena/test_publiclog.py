"""The public log: receipts at once, results logged, and `arena verify` catches any tampering."""

from __future__ import annotations

import copy
import json

import pytest
from click.testing import CliRunner

from arena.cli.verify import verify_log, verify_log_document
from arena.services.challenges import create_challenge
from arena.signing import verify_statement
from arena.worker import Worker
from conftest import auth
from helpers import make_bundle, make_image_tarball


@pytest.fixture
def export(client, platform, organiser_token, team_token, fake_runner, tmp_path):
    from arena.services.accounts import create_team

    create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b", n=6))
    other = create_team(platform, name="Team B", factories=[])[1]
    for token, salt, answer in ((team_token, "a", "even"), (other, "b", "odd"), (team_token, "c", "odd")):
        make_image_tarball(tmp_path / f"{salt}.tar", salt=salt)
        fake_runner.predict = lambda item, answer=answer: answer
        made = client.post("/api/challenges/toy/submissions", data=(tmp_path / f"{salt}.tar").read_bytes(),
                           headers={**auth(token), "Content-Type": "application/x-tar"}).json
        assert verify_statement(public_key=client.get("/api/signing-key").json["public_key"],
                                statement=made["receipt"]["body"], signature=made["receipt"]["signature"])
        Worker(platform).drain()
    return client.get("/api/challenges/toy/log/export").json


def test_a_genuine_export_verifies(export):
    kinds = [e["body"]["kind"] for e in export["entries"]]
    assert kinds == ["challenge.open"] + ["submission.receipt", "result"] * 3
    assert verify_log_document(export) == []
    # Which team leads depends on which items the secret key made public; both are on the board.
    assert sorted(e["team"] for e in export["leaderboard"]["entries"]) == ["Team A", "Team B"]


def changed_score(doc):
    doc["entries"][2]["body"]["data"]["score"] = 0.99


def changed_signature(doc):
    doc["entries"][1]["signature"] = doc["entries"][3]["signature"]


def dropped_entry(doc):
    del doc["entries"][3]


def reordered(doc):
    doc["entries"][3], doc["entries"][5] = doc["entries"][5], doc["entries"][3]


def forged_board(doc):
    doc["leaderboard"]["entries"][0]["score"] = 0.123


def shrunk_head(doc):
    doc["tree_head"]["head"]["size"] -= 1


@pytest.mark.parametrize("tamper", [changed_score, changed_signature, dropped_entry, reordered,
                                    forged_board, shrunk_head])
def test_every_kind_of_tampering_fails_naming_what_broke(export, tamper):
    doc = copy.deepcopy(export)
    tamper(doc)
    problems = verify_log_document(doc)
    assert problems, tamper.__name__
    if tamper in (changed_score, changed_signature):
        assert problems[0].startswith(("entry 2 (result)", "entry 1 (submission.receipt)"))


def test_the_cli_verifies_and_refuses(export, tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(export))
    ok = CliRunner().invoke(verify_log, [str(path)])
    assert ok.exit_code == 0 and ok.output.startswith("OK: 7 log entries")
    changed_score(export)
    path.write_text(json.dumps(export))
    bad = CliRunner().invoke(verify_log, [str(path)])
    assert bad.exit_code == 1 and "entry 2 (result): its content does not match its hash" in bad.output
    path.write_text("[]")
    assert "not an Arena log export" in CliRunner().invoke(verify_log, [str(path)]).output


def test_log_routes(client, export):
    entries = client.get("/api/log?limit=2").json
    assert entries["size"] == 7 and len(entries["entries"]) == 2
    head = client.get("/api/log/tree-head").json
    assert head["head"]["size"] == 7
    assert client.get("/api/log?limit=5000").status_code == 400


def test_the_published_item_scores_digest_cannot_be_brute_forced(platform, tmp_path):
    """The review's finding: an unsalted digest of a small split's 0/1 vector gave its right/wrong
    pattern away to anyone trying every vector. Now it is salted with a secret per result."""
    import hashlib
    import itertools

    import numpy as np
    from test_rounds import ModelRunner, World

    from arena.models import Result
    from arena.services import publiclog
    from sqlalchemy import select

    runner = ModelRunner()
    platform.runner = runner
    world = World(platform, runner, tmp_path)
    create_challenge(platform, organiser_id=world.organiser.id, bundle_dir=make_bundle(tmp_path / "b", n=40))
    world.team("Alpha", ["LUMI"])
    world.submit("Alpha", 3)
    [entry] = [e for e in publiclog.entries(platform) if e["body"]["kind"] == "result"]
    published, n = entry["body"]["data"]["item_scores_sha256"], entry["body"]["data"]["n_items"]
    assert published and n <= 16
    every_vector = {hashlib.sha256(np.asarray(bits, dtype="<f8").tobytes()).hexdigest()
                    for bits in itertools.product((0.0, 1.0), repeat=n)}
    assert published not in every_vector
    with platform.sessions() as session:
        row = session.scalars(select(Result).where(Result.split == "public")).one()
        salt = publiclog.scores_salt(platform, submission_id=row.submission_id, split="public")
        # It is still a commitment: with the salt disclosed, the true vector is the one that matches.
        matches = [bits for bits in itertools.product((0.0, 1.0), repeat=n)
                   if publiclog.scores_digest(bits, salt=salt) == published]
        assert len(matches) == 1
        other = publiclog.scores_salt(platform, submission_id=row.submission_id, split="private")
        assert other != salt and len(salt) == 32
