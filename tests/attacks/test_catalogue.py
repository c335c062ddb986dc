"""Each attack runs as a real submission on the real engine; the platform must give the expected
verdict, keep nothing the container printed, and score the next good submission all the same."""

from __future__ import annotations

import secrets

import pytest
from attacks.catalogue import ATTACKS, PREAMBLE
from conftest import BASE_IMAGE, load_into_podman
from helpers import make_bundle
from sqlalchemy import select

from arena import create_app
from arena.db import upgrade
from arena.models import Image, Job, Submission
from arena.services import accounts
from arena.services.challenges import create_challenge
from arena.services.submissions import create_submission, get_submission
from arena.worker import Worker
from sandbox import build_image

pytestmark = pytest.mark.docker
RUNNERS = [pytest.param("docker", id="docker"), pytest.param("podman", id="podman", marks=pytest.mark.podman)]
CANARY = "LABELCANARY" + secrets.token_hex(6)
N_ITEMS = 20
GOOD = f"""
import json
with open("/input/inputs.jsonl") as src, open("/output/predictions.jsonl", "w") as out:
    for line in src:
        item = json.loads(line)
        out.write(json.dumps({{"id": item["id"], "prediction": "L%d-{CANARY}" % item["input"]["x"]}}) + "\\n")
"""


def _image(folder, name: str, script: str, extra: str = "") -> str:
    context = folder / name
    context.mkdir()
    (context / "model.py").write_text(script)
    (context / "Dockerfile").write_text(
        f'FROM {BASE_IMAGE}\n{extra}\nCOPY model.py /app/model.py\nENTRYPOINT ["python3", "/app/model.py"]\n'
    )
    return build_image(context, tag=f"arena-attack/{name}:latest")


@pytest.fixture(scope="module", params=RUNNERS)
def runner_options(request, docker_engine) -> dict:
    """The catalogue runs against every runner installed: Docker, and rootless Podman."""
    if request.param == "docker":
        return {"runner": "docker"}
    return {"runner": "podman", "podman_user": request.getfixturevalue("podman_runner_user")}


@pytest.fixture(scope="module")
def arena_platform(runner_options, tmp_path_factory):
    home = tmp_path_factory.mktemp("attacks")
    tag = secrets.token_hex(4)
    app = create_app(
        {
            "home": home,
            "database_url": f"sqlite:///{home}/arena.db",
            "master_key_file": home / "master.key",
            "job_root": __import__("pathlib").Path(f"/dev/shm/arena-attacks-{tag}"),
            "scratch_dir": __import__("pathlib").Path(f"/dev/shm/arena-attacks-{tag}-scratch"),
            "max_predictions_bytes": 4 * 1024**2,
            "gpus": "none",
            **runner_options,
        }
    )
    platform = app.extensions["arena"]
    upgrade(platform.engine)
    organiser = accounts.create_organiser(platform, name="Attack Lab")[0]
    labels = [f"L{i}-{CANARY}" for i in range(N_ITEMS)]
    create_challenge(
        platform,
        organiser_id=organiser.id,
        bundle_dir=make_bundle(
            home / "bundle",
            slug="attacks",
            n=N_ITEMS,
            labels=labels,
            sample=False,
            extra={"limits": {"time_limit_seconds": 4, "memory_mb": 128, "pids": 64}, "daily_quota": 1000},
        ),
    )
    team = accounts.create_team(platform, name="Red Team", factories=[])[0]
    images = home / "images"
    images.mkdir()
    registry = {"good": _image(images, "good", GOOD)}
    for attack in ATTACKS:
        registry[attack.name] = _image(images, attack.name, PREAMBLE + attack.script, attack.dockerfile_extra)
    if runner_options["runner"] == "podman":
        load_into_podman(platform.runner, sorted(set(registry.values())))
    with platform.transaction() as session:
        for image_id in set(registry.values()):
            # Intake is tested elsewhere; here the built image stands in for an uploaded one.
            session.add(Image(digest=image_id, image_id=image_id, size_bytes=0))
    yield platform, team, registry
    Worker(platform).start_up()
    platform.engine.dispose()


def submit_and_run(platform, team, image_id: str) -> dict:
    sid = create_submission(platform, team_id=team.id, slug="attacks", image_digest=image_id)["id"]
    Worker(platform, name="attack-worker").drain()
    return get_submission(platform, principal=team, submission_id=sid)


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_attack(arena_platform, attack):
    platform, team, registry = arena_platform
    result = submit_and_run(platform, team, registry[attack.name])
    if attack.reason is None:
        assert result["status"] == "scored", result
        assert result["score"] in (0.0, None)  # None: the Ladder did not release it (no improvement)
    else:
        assert result["status"] == "failed", result
        accepted = (attack.reason, *attack.alternatives, *_rlimit_alternatives(platform, attack))
        assert result["failure_reason"] in accepted, result
        if result["failure_reason"] == attack.reason:
            assert attack.detail in (result["failure_detail"] or ""), result
    assert "PWNED" not in str(result) and CANARY not in str(result)
    assert set(result) == {
        "id",
        "kind",
        "released",
        "selected",
        "method_card",
        "challenge",
        "team",
        "image_digest",
        "status",
        "score",
        "failure_reason",
        "failure_detail",
        "created_at",
        "updated_at",
        # public or the team's own: its signed log entries, the secondary scores
        # beside a released score, who read its hidden log and why
        "receipt",
        "signed_results",
        "secondary",
        "log_reads",
    }
    good = submit_and_run(platform, team, registry["good"])
    assert good["status"] == "scored" and good["score"] in (1.0, None), good  # the first is released
    assert list(platform.settings.job_root.iterdir()) == []


def _rlimit_alternatives(platform, attack) -> tuple[str, ...]:
    rlimits = platform.settings.runner == "podman" and not platform.runner.cgroup_limits()
    return attack.rlimit_alternatives if rlimits else ()


def test_nothing_is_left_running_and_nothing_was_infrastructure(arena_platform, docker_engine):
    platform, _team, _registry = arena_platform
    mine = f"arena.instance={platform.settings.instance_id}"
    assert docker_engine.containers.list(all=True, filters={"label": mine}) == []
    if platform.settings.runner == "podman":
        assert platform.runner._managed() == []
    with platform.sessions() as session:
        outcomes = set(session.scalars(select(Job.outcome)))
        statuses = set(session.scalars(select(Submission.status)))
    assert "infrastructure" not in outcomes and statuses <= {"scored", "failed"}
