"""Master-key rotation and retirement, and what a missing key looks like."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from click.testing import CliRunner
from helpers import make_bundle, make_image_tarball
from sqlalchemy import select

from arena.cli import main
from arena.errors import BadRequest, Conflict
from arena.models import HiddenSet, Submission
from arena.services import keys
from arena.services.challenges import create_challenge
from arena.services.images import receive_image
from arena.services.submissions import create_submission
from arena.worker import Worker
from hidden_sets import load_keyring


@pytest.fixture
def made(platform, organiser_token, tmp_path):
    return create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b", n=6))


def score_once(platform, tmp_path, salt: str) -> Submission:
    make_image_tarball(tmp_path / f"{salt}.tar", salt=salt)
    with (tmp_path / f"{salt}.tar").open("rb") as stream:
        digest = receive_image(platform, stream=stream).digest
    sid = create_submission(platform, team_id=1, slug="toy", image_digest=digest)["id"]
    Worker(platform).drain()
    with platform.sessions() as session:
        return session.get(Submission, sid)


def test_rotation_rewraps_every_data_key_without_touching_the_data(platform, made, team_token, fake_runner, tmp_path):
    fake_runner.predict = lambda item: "even" if item["x"] % 2 == 0 else "odd"
    files = {
        role: platform.hidden_sets.path(made.hidden_set_id, role).read_bytes() for role in ("inputs", "labels", "salts")
    }
    old_primary = platform.hidden_sets.keyring.primary
    result = keys.rotate(platform)
    assert result["rewrapped"] == 1 and result["primary"] != old_primary
    with platform.sessions() as session:
        hidden = session.get(HiddenSet, made.hidden_set_id)
    assert hidden.master_key_id == result["primary"]
    assert all(platform.hidden_sets.path(made.hidden_set_id, r).read_bytes() == b for r, b in files.items())
    on_disk = load_keyring(path=platform.settings.master_key_file)
    assert on_disk.primary == result["primary"] and old_primary in on_disk.keys
    assert score_once(platform, tmp_path, "a").score == 1.0


def test_retire_is_refused_while_in_use_and_for_the_primary(platform, made):
    old = platform.hidden_sets.keyring.primary
    with pytest.raises(Conflict, match="primary key"):
        keys.retire(platform, key_id=old)
    platform.hidden_sets.keyring.add_key()  # a new primary that wraps nothing yet
    with pytest.raises(Conflict, match="1 data key\\(s\\) are still wrapped by"):
        keys.retire(platform, key_id=old)
    with pytest.raises(BadRequest, match="no master key 'mk-nope'"):
        keys.retire(platform, key_id="mk-nope")


def test_retire_after_rotation_and_the_set_still_opens(platform, made, team_token, fake_runner, tmp_path):
    fake_runner.predict = lambda item: "even"
    old = platform.hidden_sets.keyring.primary
    keys.rotate(platform)
    assert keys.retire(platform, key_id=old)["retired"] == old
    assert old not in load_keyring(path=platform.settings.master_key_file).keys
    assert score_once(platform, tmp_path, "b").status == "scored"


def test_a_missing_master_key_fails_the_job_naming_the_key(platform, made, team_token, tmp_path, caplog):
    with platform.sessions() as session:
        master = session.scalar(select(HiddenSet.master_key_id))
    platform.settings.master_key_file.write_text(
        json.dumps({"primary": "mk-other", "keys": {"mk-other": "A" * 43 + "="}})
    )
    platform.hidden_sets.keyring.keys.pop(master)
    platform.hidden_sets.keyring.primary = "mk-other"
    sub = score_once(platform, tmp_path, "c")
    assert (sub.status, sub.failure_reason, sub.score) == ("failed", "infrastructure", None)
    assert f"master key {master!r} is not in the keyring" in caplog.text


def test_a_keyring_from_the_environment_cannot_be_rotated_here(platform, made):
    platform.settings = replace(platform.settings, master_key_env=platform.hidden_sets.keyring.to_json())
    with pytest.raises(BadRequest, match="ARENA_MASTER_KEY"):
        keys.rotate(platform)


def test_keys_cli_lists_rotates_and_explains_refusals(tmp_path, monkeypatch, job_root):
    monkeypatch.setenv("ARENA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ARENA_JOB_ROOT", str(job_root))
    runner = CliRunner()
    assert "no Arena server here" in runner.invoke(main, ["keys", "list"]).output  # a new home needs --init
    listed = runner.invoke(main, ["keys", "list", "--json", "--init"])
    assert listed.exit_code == 0, listed.output
    (first,) = json.loads(listed.stdout)
    rotated = runner.invoke(main, ["keys", "rotate", "--json"])
    assert rotated.exit_code == 0 and json.loads(rotated.stdout)["rewrapped"] == 0
    refused = runner.invoke(main, ["keys", "retire", json.loads(rotated.stdout)["primary"]])
    assert refused.exit_code == 1 and "is the primary key" in refused.output
    assert "Traceback" not in refused.output
    assert runner.invoke(main, ["keys", "retire", first["id"]]).exit_code == 0
