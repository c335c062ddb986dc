"""Sites: credentials, capabilities, routing of claims by what a job needs, waiting reasons, and the
agent's calls through the API (no Slurm needed: the agent itself is tested in tests/end_to_end/test_site_agents.py)."""

from __future__ import annotations

import pytest
from conftest import auth
from helpers import make_bundle, make_image_tarball
from sqlalchemy import select

from arena.errors import BadRequest, Conflict, NotFound, Unauthorized
from arena.models import AuditEvent, Job, Site
from arena.services import accounts, dashboards, sites
from arena.services.challenges import create_challenge
from arena.services.images import receive_image
from arena.services.submissions import create_submission

X86 = {
    "runtime": "docker",
    "partitions": [{"name": "cpu", "architecture": "amd64", "cpus_per_node": 64, "memory_mb_per_node": 256000}],
}
ARM_GPU = {
    "runtime": "podman",
    "max_jobs": 8,
    "partitions": [
        {
            "name": "booster",
            "architecture": "arm64",
            "gpu_vendor": "nvidia",
            "gpus_per_node": 4,
            "cpus_per_node": 72,
            "memory_mb_per_node": 480000,
        }
    ],
}
AMD_GPU = {
    "runtime": "podman",
    "partitions": [
        {
            "name": "standard-g",
            "architecture": "amd64",
            "gpu_vendor": "amd",
            "gpus_per_node": 8,
            "cpus_per_node": 56,
            "memory_mb_per_node": 480000,
        }
    ],
}


def _site(platform, name: str, capabilities: dict) -> Site:
    _view, token = sites.create_site(platform, name=name)
    site = sites.authenticate(platform, token)
    sites.heartbeat(platform, site=site, capabilities=capabilities)
    return sites.authenticate(platform, token)


def _challenge(platform, tmp_path, slug: str, *, gpus: int = 0, **extra) -> tuple:
    """The challenge's organiser and token."""
    organiser, token = accounts.create_organiser(platform, name=f"Org {slug}")
    limits = {"time_limit_seconds": 60, "memory_mb": 1024, "cpus": 1, "pids": 64, "gpus": gpus}
    create_challenge(
        platform,
        organiser_id=organiser.id,
        bundle_dir=make_bundle(
            tmp_path / slug, slug=slug, n=4, extra={"limits": limits, "daily_quota": 100, "max_pending": 100, **extra}
        ),
    )
    return organiser, token


def _submit(platform, tmp_path, team, slug: str, arch: str = "amd64") -> str:
    path = tmp_path / f"{slug}-{arch}-{team.name}.tar"
    make_image_tarball(path, arch=arch, salt=f"{slug}{arch}{team.name}")
    with path.open("rb") as stream:
        image = receive_image(platform, stream=stream)
    return create_submission(platform, team_id=team.id, slug=slug, image_digest=image.digest, actor=team)["id"]


def test_a_site_credential_is_kept_as_a_hash_audited_and_revocable(platform):
    view, token = sites.create_site(platform, name="lumi-g")
    assert token.startswith("arena_site_") and view["name"] == "lumi-g" and not view["revoked"]
    with platform.sessions() as session:
        assert token not in str(session.scalar(select(Site)).__dict__)
        actions = [e.action for e in session.scalars(select(AuditEvent))]
    assert sites.authenticate(platform, token).name == "lumi-g"
    with pytest.raises(Conflict):
        sites.create_site(platform, name="lumi-g")
    with pytest.raises(BadRequest):
        sites.create_site(platform, name="LUMI G!")
    sites.revoke_site(platform, name="lumi-g")
    with pytest.raises(Unauthorized):
        sites.authenticate(platform, token)
    with platform.sessions() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent))]
    assert actions.count("site.create") == 1 and actions.count("site.revoke") == 1


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"runtime": "singularity", "partitions": []}, "runtime must be one of docker, podman"),
        ({"runtime": "podman", "partitions": []}, "partitions must list 1 to"),
        (
            {
                "runtime": "podman",
                "partitions": [
                    {"name": "g", "architecture": "riscv64", "cpus_per_node": 1, "memory_mb_per_node": 1024}
                ],
            },
            "architecture must be one of",
        ),
        (
            {
                "runtime": "podman",
                "partitions": [
                    {
                        "name": "g",
                        "architecture": "amd64",
                        "gpus_per_node": 4,
                        "cpus_per_node": 1,
                        "memory_mb_per_node": 1024,
                    }
                ],
            },
            "gpu_vendor must be",
        ),
        (
            {
                "runtime": "podman",
                "partitions": [
                    {"name": "g; rm -rf", "architecture": "amd64", "cpus_per_node": 1, "memory_mb_per_node": 1024}
                ],
            },
            "name must be a Slurm partition",
        ),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_bad_capabilities_are_refused_naming_the_problem(doc, message):
    with pytest.raises(BadRequest, match=message):
        sites.parse_capabilities(doc)


def test_claims_go_only_to_a_partition_that_fits(platform, tmp_path):
    _challenge(platform, tmp_path, "cpu-any", platforms=["linux/amd64", "linux/arm64"])
    _challenge(platform, tmp_path, "gpu-amd", gpus=2, gpu_vendors=["amd"])
    team = accounts.create_team(platform, name="Routing", factories=[])[0]
    arm_job = _submit(platform, tmp_path, team, "cpu-any", "arm64")
    amd_job = _submit(platform, tmp_path, team, "gpu-amd")
    x86, arm, amd = _site(platform, "x86", X86), _site(platform, "jupiter", ARM_GPU), _site(platform, "lumi", AMD_GPU)
    assert sites.claim(platform, site=x86) is None  # an arm64 image and an AMD-GPU job: neither fits
    claimed = sites.claim(platform, site=arm)
    assert claimed["partition"] == "booster" and claimed["architecture"] == "arm64"
    assert claimed["node_token"].startswith("arena_node_") and claimed["memory_mb"] == 1024 + 512
    assert sites.claim(platform, site=arm) is None  # the AMD job is not for NVIDIA nodes
    got = sites.claim(platform, site=amd)
    assert (got["partition"], got["gpus"], got["gpu_vendor"]) == ("standard-g", 2, "amd")
    with platform.sessions() as session:
        placed = {j.submission_id: (j.executor, j.site_id) for j in session.scalars(select(Job))}
    assert placed == {arm_job: ("site", arm.id), amd_job: ("site", amd.id)}


def test_an_image_for_a_platform_the_challenge_refuses_is_refused_at_submission(platform, tmp_path):
    _challenge(platform, tmp_path, "amd64-only")
    team = accounts.create_team(platform, name="Arm Team", factories=[])[0]
    with pytest.raises(BadRequest, match="built for linux/arm64; challenge 'amd64-only' accepts linux/amd64"):
        _submit(platform, tmp_path, team, "amd64-only", "arm64")


def test_a_job_no_site_can_run_says_why_on_the_console_and_in_the_api(platform, client, tmp_path):
    organiser, token = _challenge(platform, tmp_path, "big-gpu", gpus=8)
    team = accounts.create_team(platform, name="Waiting", factories=[])[0]
    waiting = _submit(platform, tmp_path, team, "big-gpu")
    console = dashboards.console(platform, who=organiser)
    assert [q["waiting_reason"] for q in console["queue"]] == [None]  # no sites in use: no reason to give
    _site(platform, "x86", X86)
    _site(platform, "jupiter", ARM_GPU)
    console = dashboards.console(platform, who=organiser)
    [row] = [q for q in console["queue"] if q["submission"] == waiting]
    assert row["waiting_reason"] == "no site with linux/amd64 has 8 GPU(s) on one node"
    answer = client.get("/api/challenges/big-gpu/queue", headers=auth(token)).get_json()
    assert [(j["submission"], j["waiting_reason"]) for j in answer["jobs"]] == [(waiting, row["waiting_reason"])]
    other = accounts.create_organiser(platform, name="Someone Else")[1]
    assert client.get("/api/challenges/big-gpu/queue", headers=auth(other)).status_code == 403


@pytest.mark.parametrize(
    ("needs", "reason"),
    [
        ({"architecture": "arm64", "gpus": 0}, "no site runs linux/arm64 images"),
        ({"architecture": "amd64", "gpus": 2, "gpu_vendors": ["nvidia"]}, "no site with linux/amd64 has nvidia GPUs"),
        ({"architecture": "amd64", "gpus": 0, "cpus": 1, "memory_mb": 600000}, "no matching site has 600512 MiB"),
        ({"architecture": "amd64", "gpus": 1, "gpu_vendors": ["amd"], "cpus": 1, "memory_mb": 100}, None),
    ],
)
def test_the_waiting_reason_is_the_closest_partitions(needs, reason):
    found = sites.waiting_reason(needs, [sites.parse_capabilities(X86), sites.parse_capabilities(AMD_GPU)])
    assert (found is None) if reason is None else found.startswith(reason)
    assert sites.waiting_reason(needs, []) == "no site agent is active"


def test_the_agent_api_needs_its_credential_and_its_own_jobs(platform, client, tmp_path):
    _challenge(platform, tmp_path, "api-toy")
    team = accounts.create_team(platform, name="Api", factories=[])[0]
    _submit(platform, tmp_path, team, "api-toy")
    _view, token = sites.create_site(platform, name="alpha")
    _view, other = sites.create_site(platform, name="beta")
    assert client.post("/api/site/claim").status_code == 401
    assert client.post("/api/site/claim", headers=auth(token)).status_code == 400  # no heartbeat yet
    bad = client.post("/api/site/heartbeat", json={"capabilities": {"runtime": "x"}}, headers=auth(token))
    assert bad.status_code == 400 and "runtime" in bad.get_json()["error"]["message"]
    assert client.post("/api/site/heartbeat", json={"capabilities": X86}, headers=auth(token)).status_code == 200
    claimed = client.post("/api/site/claim", headers=auth(token)).get_json()
    assert client.post("/api/site/claim", headers=auth(token)).status_code == 204
    job = claimed["job"]
    stolen = client.post("/api/site/renew", json={"jobs": {job: None}}, headers=auth(other))
    assert stolen.status_code == 404
    assert client.post("/api/site/renew", json={"jobs": ["x"]}, headers=auth(token)).status_code == 400
    renewed = client.post("/api/site/renew", json={"jobs": {job: "42"}}, headers=auth(token)).get_json()
    assert renewed == {"running": [job], "stopped": []}
    ended = client.post(f"/api/site/jobs/{job}/ended", json={"state": "NODE_FAIL"}, headers=auth(token)).get_json()
    assert ended == {"job": job, "requeued": True}
    with platform.sessions() as session:
        first = session.get(Job, job)
        assert (first.status, first.outcome, first.external_id) == ("failed", "infrastructure", "42")
        assert "NODE_FAIL" in first.error
    assert client.post("/api/site/renew", json={"jobs": {job: "42"}}, headers=auth(token)).get_json() == {
        "running": [],
        "stopped": [job],
    }
    with pytest.raises(NotFound):
        sites.revoke_site(platform, name="gamma")
