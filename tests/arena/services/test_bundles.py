"""Bad bundles get a clear error naming file and line, and leave nothing half-made."""

from __future__ import annotations

import json

import pytest
from helpers import make_bundle, write_jsonl
from sqlalchemy import func, select

from arena.errors import BadRequest, Conflict
from arena.models import Challenge, HiddenSet
from arena.services.bundles import load_bundle
from arena.services.challenges import create_challenge


def test_a_good_bundle_loads_with_defaults(tmp_path):
    bundle = load_bundle(make_bundle(tmp_path / "b", n=4))
    assert (bundle.slug, bundle.metric, bundle.n_items, bundle.n_sample_items) == ("toy", "accuracy", 4, 1)
    assert bundle.limits["time_limit_seconds"] == 30 and bundle.limits["cpus"] == 1.0
    assert bundle.daily_quota == 5


def _break(root, name: str, text: str) -> None:
    (root / name).write_text(text)


CASES = [
    ("missing file", lambda r: (r / "labels.jsonl").unlink(), "labels.jsonl is missing"),
    ("half a sample", lambda r: (r / "sample/labels.jsonl").unlink(), "sample/ must hold both"),
    (
        "not json",
        lambda r: _break(r, "inputs.jsonl", '{"id": "i0", "input": 1}\n{oops\n'),
        "inputs.jsonl line 2: not valid JSON",
    ),
    (
        "duplicate id",
        lambda r: _break(r, "inputs.jsonl", '{"id": "a", "input": 1}\n{"id": "a", "input": 2}\n'),
        "inputs.jsonl line 2: duplicate id (first at line 1)",
    ),
    (
        "unknown id",
        lambda r: write_jsonl(
            r / "labels.jsonl", [{"id": f"i{i}", "label": "x"} for i in range(3)] + [{"id": "ghost", "label": "x"}]
        ),
        "labels.jsonl line 4: id is not in",
    ),
    (
        "missing label",
        lambda r: write_jsonl(r / "labels.jsonl", [{"id": "i0", "label": "x"}]),
        "2 item(s) have no label (first at inputs line 2)",
    ),
    (
        "label leaking into inputs",
        lambda r: write_jsonl(r / "inputs.jsonl", [{"id": "i0", "input": 1, "label": "x"}]),
        "exactly the keys 'id' and 'input'",
    ),
    (
        "unknown metric",
        lambda r: _break(r, "challenge.yaml", "slug: toy\ntitle: T\nmetric: f7\n"),
        "unknown metric 'f7'",
    ),
    ("bad slug", lambda r: _break(r, "challenge.yaml", "slug: Bad Slug\ntitle: T\nmetric: accuracy\n"), "slug must be"),
    (
        "unknown key",
        lambda r: _break(r, "challenge.yaml", "slug: toy\ntitle: T\nmetric: accuracy\nmetirc: x\n"),
        "unknown key(s) metirc",
    ),
    (
        "bad limit",
        lambda r: _break(r, "challenge.yaml", "slug: toy\ntitle: T\nmetric: accuracy\nlimits: {memory_mb: 1}\n"),
        "limits.memory_mb must be between 64",
    ),
    ("bad yaml", lambda r: _break(r, "challenge.yaml", "slug: [toy\n"), "not valid YAML"),
    (
        "empty line",
        lambda r: _break(r, "inputs.jsonl", '{"id": "a", "input": 1}\n\n'),
        "inputs.jsonl line 2: empty line",
    ),
    (
        "label the metric cannot score",
        lambda r: (_break(r, "challenge.yaml", "slug: toy\ntitle: T\nmetric: mae\n"), None),
        "labels.jsonl line 1: label must be a number",
    ),
]


@pytest.mark.parametrize(("case", "damage", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_bundles_are_refused_and_leave_nothing(platform, organiser_token, tmp_path, case, damage, message):
    root = make_bundle(tmp_path / "b", n=3)
    damage(root)
    with pytest.raises(BadRequest) as caught:
        create_challenge(platform, organiser_id=1, bundle_dir=root)
    assert message in caught.value.message
    with platform.sessions() as session:
        assert session.scalar(select(func.count(Challenge.id))) == 0
        assert session.scalar(select(func.count(HiddenSet.id))) == 0
    hidden_root = platform.hidden_sets.root
    assert not hidden_root.exists() or list(hidden_root.iterdir()) == []


def test_a_taken_slug_is_a_conflict_and_the_first_challenge_stands(platform, organiser_token, tmp_path):
    create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "a"))
    with pytest.raises(Conflict, match="exists already"):
        create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b"))
    assert len(list(platform.hidden_sets.root.iterdir())) == 1


def test_hidden_files_are_encrypted_at_rest(platform, organiser_token, tmp_path):
    root = make_bundle(tmp_path / "b", labels=["CANARY-LABEL"] * 10)
    made = create_challenge(platform, organiser_id=1, bundle_dir=root)
    for role in ("inputs", "labels"):
        blob = platform.hidden_sets.path(made.hidden_set_id, role).read_bytes()
        assert b"CANARY-LABEL" not in blob and b'"input"' not in blob
    with platform.sessions() as session:
        hidden = session.get(HiddenSet, made.hidden_set_id)
        assert hidden.wrapped_key and len(hidden.wrapped_key) > 32
    assert json.loads((platform.sample_dir / "toy" / "labels.jsonl").read_text())["label"] == "CANARY-LABEL"
