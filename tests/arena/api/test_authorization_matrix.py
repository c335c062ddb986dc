"""The authorization matrix: every operation of the OpenAPI document (GET /api/openapi.json) ×
every role × a resource the role owns and one it does not, against the answer declared for it in
MATRIX below. An operation without an entry fails the test, so a new route must say who may call it.

The world has two of everything: organiser Owner Org created challenge alpha and team Team A;
Other Org created beta and Team B; each team has a scored hidden run, a sample run, an upload,
a spare token, and a running job whose node holds a credential. Roles are named relative to the
target: on alpha's resources "owner" is Owner Org, "team" is Team A and "node" holds alpha's job
credential; on beta's the same names are played by Other Org, Team B and beta's node. So each
principal is tried on what it owns and on what it does not, and MATRIX states each answer once.

Each answer is the HTTP status, or OK: the operation's own answers when it is allowed (after the
caller passed authorization: success, or a conflict with state the matrix itself changed, such as
a round closed already). Denials are 401 (no valid token for this route), 403 (a token that may
not do this) or 404 (a resource it may not know of). Besides the status, no answer may carry a
hidden run's log except an allowed read of it, and lists carry nothing of the other tenant.
It lives in tests/arena, so scripts/test.sh runs it on PostgreSQL too.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from conftest import auth
from helpers import make_bundle, make_image_tarball
from sqlalchemy import select

from arena.models import ChallengeOrganiser, Job, Organiser, Registration, Submission
from arena.services import accounts, commitments, nodes, rounds, sites, tenancy
from arena.services.challenges import create_challenge
from arena.timeutil import iso, utcnow
from arena.worker import Worker

ROLES = ("anonymous", "team", "other_team", "owner", "other_organiser", "administrator", "node", "other_node", "site")
OK = "ok"
HTTP_METHODS = {"get", "put", "post", "delete", "patch"}


def public(ok=(200,)):
    return {"ok": ok, **{role: OK for role in ROLES}}


def answers(
    ok,
    *,
    anonymous=401,
    team=403,
    other_team=403,
    owner=403,
    other_organiser=403,
    administrator=403,
    node=401,
    other_node=401,
    site=401,
):
    return {
        "ok": ok,
        "anonymous": anonymous,
        "team": team,
        "other_team": other_team,
        "owner": owner,
        "other_organiser": other_organiser,
        "administrator": administrator,
        "node": node,
        "other_node": other_node,
        "site": site,
    }


def runs(ok=(200,), **more):
    """The challenge's organisers and the administrator; another organiser is refused (403)."""
    return answers(ok, owner=OK, administrator=OK, **more)


def seen_by_team_and_runners(ok=(200,)):
    """A submission: its team, its challenge's organisers, the administrator; others do not know of it."""
    return answers(ok, team=OK, other_team=404, owner=OK, other_organiser=404, administrator=OK)


def any_team(ok):
    return answers(ok, team=OK, other_team=OK)


def own_team_only(ok):
    """A team's own resource (an upload, a selection): other teams do not know of it; others' tokens
    are of the wrong role."""
    return answers(ok, team=OK, other_team=404)


def node_only(ok=(200,)):
    """Only a node credential opens these (any other token is no credential here: 401)."""
    return answers(ok, node=OK, team=401, other_team=401, owner=401, other_organiser=401, administrator=401)


def every_token(ok=(200,)):
    return answers(ok, team=OK, other_team=OK, owner=OK, other_organiser=OK, administrator=OK)


_only_site = {"site": OK, "team": 401, "other_team": 401, "owner": 401, "other_organiser": 401, "administrator": 401}

MATRIX: dict[tuple[str, str], dict] = {
    ("get", "/api/health"): public(),
    ("get", "/api/signing-key"): public(),
    ("get", "/api/openapi.json"): public(),
    ("get", "/api/log"): public(),
    ("get", "/api/log/tree-head"): public(),
    ("get", "/api/challenges"): public(),
    ("get", "/api/challenges/{slug}"): public(),
    ("get", "/api/challenges/{slug}/leaderboard"): public(),
    ("get", "/api/challenges/{slug}/leaderboard.csv"): public(),
    ("get", "/api/challenges/{slug}/log/export"): public(),
    ("get", "/api/challenges/{slug}/reveal"): public(),
    ("get", "/api/challenges/{slug}/rewards"): public(),
    ("get", "/api/challenges/{slug}/rewards.csv"): public(),
    ("get", "/api/challenges/{slug}/rounds"): public(),
    ("get", "/api/challenges/{slug}/sample/{name}"): public(),
    ("get", "/api/challenges/{slug}/teams/{team}/history"): public(),
    # The public log's checkpoints, proofs and witnesses' cosignatures (witnesses sign with their
    # own keys, not tokens: an empty post is refused alike for everyone).
    ("get", "/api/log/cosigned"): public(),
    ("get", "/api/log/proof/inclusion"): public(),
    ("get", "/api/log/proof/consistency"): public(),
    ("post", "/api/log/cosignatures"): public((400,)),
    # Who the token is, and tokens: every token holder, each for what it may make.
    ("get", "/api/me"): every_token(),
    ("get", "/api/tokens"): every_token(),
    ("post", "/api/tokens"): answers((201,), team=OK, owner=OK, administrator=OK),  # for the target team
    ("delete", "/api/tokens/{token_id}"): answers(
        (200,), team=OK, other_team=404, owner=OK, other_organiser=404, administrator=OK
    ),
    ("get", "/api/audit"): answers((200,), owner=OK, other_organiser=OK, administrator=OK),
    # Creating: organisers only (the administrator runs the platform, it does not compete in it).
    ("post", "/api/challenges"): answers((201,), owner=OK, other_organiser=OK),
    ("post", "/api/teams"): answers((201,), owner=OK, other_organiser=OK),
    ("get", "/api/teams"): answers((200,), owner=OK, other_organiser=OK),  # registrations in its own challenges
    # Everything private about a challenge: its organisers and the administrator.
    ("get", "/api/challenges/{slug}/registrations"): runs(),
    ("post", "/api/challenges/{slug}/registrations/{team_id}"): runs(),
    ("post", "/api/challenges/{slug}/reveal"): runs((201, 409)),
    ("post", "/api/challenges/{slug}/versions"): runs((201, 409)),
    ("post", "/api/challenges/{slug}/rounds/close"): runs((200, 409)),
    # Appending rounds: an empty addition is refused (400), past the permission check.
    ("post", "/api/challenges/{slug}/rounds"): runs((400,)),
    ("post", "/api/challenges/{slug}/teams/{team}/readmit"): runs(),
    ("get", "/api/challenges/{slug}/organisers"): runs(),
    ("post", "/api/challenges/{slug}/organisers"): runs((201,)),  # the owner; co-organisers cannot
    ("delete", "/api/challenges/{slug}/organisers/{organiser_id}"): runs(),
    # A scorer image is pinned by the challenge's organisers (an image each uploaded); this one has
    # no scorer to replace (400), past the check that the caller runs it.
    ("put", "/api/challenges/{slug}/scorer"): answers((400,), owner=OK),
    ("get", "/api/challenges/{slug}/queue"): runs(),
    # An agent challenge's environment image: its organisers; this one is no agent challenge (409).
    ("put", "/api/challenges/{slug}/environment"): answers((409,), owner=OK),
    # A hidden run's trajectory: its challenge's organisers and the administrator (this batch run
    # kept none: 404); never its team (403); others do not know of it.
    ("get", "/api/submissions/{submission_id}/trajectory"): answers(
        (404,), owner=OK, administrator=OK, other_team=404, other_organiser=404
    ),
    # A site agent: its own credential only (any other token is no credential here: 401). Past it,
    # these bodies are refused (400), there is no job to claim (204), and no job of the site's ended (404).
    ("post", "/api/site/heartbeat"): answers((400,), **_only_site),
    ("post", "/api/site/claim"): answers((400, 204), **_only_site),
    ("post", "/api/site/renew"): answers((200,), **_only_site),
    ("post", "/api/site/jobs/{job_id}/ended"): answers((404,), **_only_site),
    # Submissions: the team's own; the challenge's organisers; the administrator.
    # ?challenge= the target: a team sees its own there, another organiser is refused.
    ("get", "/api/submissions"): answers((200,), team=OK, other_team=OK, owner=OK, administrator=OK),
    ("get", "/api/submissions/{submission_id}"): seen_by_team_and_runners(),
    ("get", "/api/submissions/{submission_id}/log"): seen_by_team_and_runners(),  # a sample run's
    ("get", "/api/submissions/{submission_id}/predictions"): seen_by_team_and_runners(),  # a sample run's
    ("post", "/api/submissions/{submission_id}/log-reads"): answers(
        (201,), owner=OK, other_organiser=404, administrator=OK
    ),  # a hidden run's
    ("post", "/api/submissions/{submission_id}/selection"): own_team_only((200, 409)),
    ("put", "/api/submissions/{submission_id}/method-card"): own_team_only((200, 409)),
    # Taking part: any team (the challenges are open).
    ("post", "/api/challenges/{slug}/submissions"): any_team((201,)),
    ("post", "/api/challenges/{slug}/registration"): any_team((201,)),
    ("get", "/api/challenges/{slug}/can-submit"): any_team((200,)),
    # Uploads: teams (their images) and organisers (scorer images); each sees only its own.
    ("post", "/api/uploads"): answers((201,), team=OK, other_team=OK, owner=OK, other_organiser=OK),
    ("get", "/api/uploads/{upload_id}"): answers((200,), team=OK, other_team=404, owner=404, other_organiser=404),
    ("put", "/api/uploads/{upload_id}"): answers((200, 409), team=OK, other_team=404, owner=404, other_organiser=404),
    ("post", "/api/uploads/{upload_id}/complete"): answers(
        (200, 409), team=OK, other_team=404, owner=404, other_organiser=404
    ),
    # A GPU node: its own job's credential, only for that job, only while it runs.
    ("get", "/api/node/jobs/{job_id}"): node_only(),
    ("get", "/api/node/jobs/{job_id}/image"): node_only(),
    ("get", "/api/node/jobs/{job_id}/inputs"): node_only(),
    ("get", "/api/node/jobs/{job_id}/assets"): node_only(),
    ("get", "/api/node/jobs/{job_id}/environment-image"): node_only((404,)),  # its job is no agent job
    # An empty form: past the credential, the verdict is missing (400), and the job goes on.
    ("post", "/api/node/jobs/{job_id}/result"): node_only((400,)),
}


# -- the world -------------------------------------------------------------------------------------
@dataclass
class Tenant:
    """One side of the world: an organiser, its challenge, its team and that team's things."""

    slug: str
    organiser: object
    organiser_token: str
    team: object
    team_token: str
    hidden: str = ""
    sample: str = ""
    upload: str = ""
    upload_bytes: bytes = b""
    spare_token: int = 0
    job: str = ""
    node_token: str = ""
    secret: str = ""
    extra: dict = field(default_factory=dict)


def _rules(now) -> dict:
    ends = [now + timedelta(days=d) for d in range(1, 6)]
    return {
        "rounds": [{"start": iso(now - timedelta(hours=1)), "end": iso(ends[0])}] + [{"end": iso(e)} for e in ends[1:]],
        "kpi": {"baseline": {"score": 0.5}, "eliminate_after": 1},
        "rewards": {"rule": "rank_shares", "shares": [0.6, 0.4], "euros": 100, "gpu_hours": 2},
        "daily_quota": 100,
        "max_pending": 100,
    }


def _submit(client, tenant: Tenant, image: bytes, kind: str) -> str:
    made = client.post(
        f"/api/challenges/{tenant.slug}/submissions?kind={kind}",
        data=image,
        headers={**auth(tenant.team_token), "Content-Type": "application/x-tar"},
    )
    assert made.status_code == 201, made.json
    return made.json["id"]


def _running_job(platform, submission_id: str) -> tuple[str, str]:
    """The submission's job, taken by a GPU node: running, with its one-job credential."""
    with platform.transaction() as session:
        job = session.scalars(select(Job).where(Job.submission_id == submission_id)).one()
        job.status, job.worker, job.started_at = "running", "gpu-node-test", utcnow()
        job.lease_expires_at, job.executor = utcnow() + timedelta(hours=1), "slurm"
        return job.id, nodes.issue(session, job_id=job.id, lifetime=timedelta(hours=1))


@pytest.fixture
def world(app, platform, client, fake_runner, tmp_path):
    owner, owner_token = accounts.create_organiser(platform, name="Owner Org")
    other, other_token = accounts.create_organiser(platform, name="Other Org")
    accounts.create_organiser(platform, name="Helper Org")
    _admin, admin_token = accounts.create_administrator(platform, name="Platform Ops")
    now, tenants = utcnow(), []
    for slug, org, org_token, team_name in (
        ("alpha", owner, owner_token, "Team A"),
        ("beta", other, other_token, "Team B"),
    ):
        team, team_token = accounts.create_team(platform, name=team_name, factories=[], actor=org)
        create_challenge(
            platform, organiser_id=org.id, bundle_dir=make_bundle(tmp_path / slug, slug=slug, extra=_rules(now))
        )
        tenants.append(Tenant(slug, org, org_token, team, team_token, secret=f"hidden log of {slug}"))
    make_image_tarball(tmp_path / "i.tar")
    image = (tmp_path / "i.tar").read_bytes()
    fake_runner.predict = lambda item: "even" if item["x"] % 2 == 0 else "odd"
    for tenant in tenants:  # one hidden run each, whose log is the tenant's secret
        tenant.hidden = _submit(client, tenant, image, "hidden")
        fake_runner.log = tenant.secret.encode()
        assert Worker(platform).drain() == 1
    fake_runner.log = b"a sample run's log"
    for tenant in tenants:
        tenant.sample = _submit(client, tenant, image, "sample")
    assert Worker(platform).drain() == 2
    for tenant in tenants:
        rounds.close_round(platform, organiser=tenant.organiser, slug=tenant.slug, early=True)
        commitments.reveal(platform, organiser_id=tenant.organiser.id, slug=tenant.slug, ids=["i1"])
        tenant.job, tenant.node_token = _running_job(platform, _submit(client, tenant, image, "hidden"))
        make_image_tarball(tmp_path / f"{tenant.slug}.tar", salt=tenant.slug)
        tenant.upload_bytes = (tmp_path / f"{tenant.slug}.tar").read_bytes()
        started = client.post(
            "/api/uploads",
            headers=auth(tenant.team_token),
            json={"size": len(tenant.upload_bytes), "sha256": hashlib.sha256(tenant.upload_bytes).hexdigest()},
        )
        tenant.upload = started.json["id"]
        tenant.spare_token = accounts.create_token(platform, actor=tenant.team, label="spare")[0]["id"]
    site_token = sites.create_site(platform, name="matrix-site")[1]
    return {"tenants": tenants, "admin": admin_token, "image": image, "platform": platform, "site": site_token}


# -- one request -----------------------------------------------------------------------------------
@dataclass
class Call:
    path: str
    query: dict = field(default_factory=dict)
    json: object = None
    data: object = None
    content_type: str | None = None


_counter = itertools.count()


def _bundle(slug: str) -> dict:
    lines = "".join(f'{{"id": "n{i}", "input": {{"x": {i}}}}}\n' for i in range(4))
    labels = "".join(f'{{"id": "n{i}", "label": "{"even" if i % 2 == 0 else "odd"}"}}\n' for i in range(4))
    return {
        "challenge.yaml": (
            io.BytesIO(f"slug: {slug}\ntitle: Matrix {slug}\nmetric: accuracy\n".encode()),
            "challenge.yaml",
        ),
        "inputs.jsonl": (io.BytesIO(lines.encode()), "inputs.jsonl"),
        "labels.jsonl": (io.BytesIO(labels.encode()), "labels.jsonl"),
    }


def _path(template: str, target: Tenant, helper_id: int) -> str:
    values = {
        "slug": target.slug,
        "submission_id": target.hidden,
        "upload_id": target.upload,
        "job_id": target.job,
        "team_id": str(target.team.id),
        "team": target.team.name,
        "token_id": str(target.spare_token),
        "organiser_id": str(helper_id),
        "name": "inputs.jsonl",
    }
    if template.endswith(("/log", "/predictions")):
        values["submission_id"] = target.sample  # a sample run's log and predictions
    return re.sub(r"{([^}]+)}", lambda m: values[m.group(1)], template)


def _call(method: str, template: str, target: Tenant, world: dict, helper_id: int) -> Call:
    """The request an allowed caller would make of this operation on `target`."""
    call = Call(_path(template, target, helper_id))
    n = next(_counter)
    bodies = {
        ("post", "/api/tokens"): {"team_id": target.team.id, "label": "matrix"},
        ("post", "/api/teams"): {"name": f"Matrix Team {n}"},
        ("post", "/api/challenges/{slug}/registrations/{team_id}"): {"approve": True},
        ("post", "/api/challenges/{slug}/reveal"): {"ids": ["i2"]},
        ("post", "/api/challenges/{slug}/rounds/close"): {"early": True},
        ("post", "/api/challenges/{slug}/organisers"): {"organiser": "Helper Org"},
        ("post", "/api/submissions/{submission_id}/log-reads"): {"reason": "the authorization matrix"},
        ("post", "/api/submissions/{submission_id}/selection"): {"selected": False},
        ("put", "/api/submissions/{submission_id}/method-card"): {"name": "matrix entry"},
        ("post", "/api/uploads"): {"size": 10, "sha256": "0" * 64},
        ("post", "/api/challenges/{slug}/rounds"): {"rounds": []},
        ("post", "/api/log/cosignatures"): {},
        ("put", "/api/challenges/{slug}/scorer"): {"image_digest": "sha256:" + "0" * 64},
        ("post", "/api/site/heartbeat"): {"capabilities": "none"},
        ("post", "/api/site/renew"): {"jobs": {}},
        ("post", "/api/site/jobs/{job_id}/ended"): {"state": "FAILED"},
    }
    if (method, template) in bodies:
        call.json = bodies[(method, template)]
    elif template == "/api/challenges" and method == "post":
        call.data, call.content_type = _bundle(f"matrix-{n}"), "multipart/form-data"
    elif template.endswith("/versions"):
        call.data, call.content_type = (
            {k: v for k, v in _bundle("x").items() if k != "challenge.yaml"},
            "multipart/form-data",
        )
    elif template.endswith("/submissions") and method == "post":
        call.data, call.content_type = world["image"], "application/x-tar"
    elif template == "/api/uploads/{upload_id}" and method == "put":
        call.data, call.query = target.upload_bytes, {"offset": 0}
    elif template.endswith("/result"):
        call.data, call.content_type = {}, "multipart/form-data"
    if template == "/api/submissions":
        call.query = {"challenge": target.slug}
    if template == "/api/log/proof/inclusion":
        call.query = {"seq": 0, "size": 2}
    if template == "/api/log/proof/consistency":
        call.query = {"from": 1, "to": 2}
    return call


def _prepare(platform, method: str, template: str, target: Tenant, helper_id: int) -> None:
    """State an allowed call needs each time: an eliminated team to re-admit, a co-organiser to
    remove (or none, to add)."""
    with platform.transaction() as session:
        challenge = session.scalar(select(Submission).where(Submission.id == target.hidden)).challenge
        if template.endswith("/readmit"):
            session.get(Registration, (challenge.id, target.team.id)).status = "eliminated"
        if template.startswith("/api/challenges/{slug}/organisers") and method != "get":
            row = session.get(ChallengeOrganiser, (challenge.id, helper_id))
            if method == "delete" and row is None:
                session.add(ChallengeOrganiser(challenge_id=challenge.id, organiser_id=helper_id, added_at=utcnow()))
            elif method == "post" and row is not None:
                session.delete(row)


def _send(client, method: str, call: Call, token: str | None):
    headers = auth(token) if token else {}
    kwargs = {"headers": headers, "query_string": call.query}
    if call.json is not None:
        kwargs["json"] = call.json
    elif call.data is not None:
        data = call.data
        if isinstance(data, dict):  # fresh file objects for each request
            data = {k: (io.BytesIO(v[0].getvalue()), v[1]) for k, v in data.items()}
        kwargs["data"] = data
        if call.content_type:
            kwargs["content_type"] = call.content_type
    return client.open(call.path, method=method.upper(), buffered=True, **kwargs)


# -- the checks ------------------------------------------------------------------------------------
def _operations(client) -> list[tuple[str, str, dict]]:
    spec = client.get("/api/openapi.json").json
    return sorted(
        (method, path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in HTTP_METHODS
    )


def test_every_operation_has_an_entry_and_every_entry_an_operation(client):
    operations = {(method, path) for method, path, _op in _operations(client)}
    assert sorted(operations - set(MATRIX)) == [], "operations without an entry in MATRIX: say who may call them"
    assert sorted(set(MATRIX) - operations) == [], "entries in MATRIX for no operation"
    for method, path, op in _operations(client):
        entry = MATRIX[(method, path)]
        assert set(entry) == {"ok", *ROLES}, f"{method} {path}: an answer for every role"
        allowed = {role for role in ROLES if entry[role] == OK}
        declared = set(op.get("x-arena-roles") or [])
        if not declared:  # public: everyone, the same answer
            assert allowed == set(ROLES), f"{method} {path} is public in the document"
            continue
        kinds = {
            "team": "team",
            "other_team": "team",
            "owner": "organiser",
            "other_organiser": "organiser",
            "administrator": "administrator",
            "node": "node",
            "other_node": "node",
            "site": "site",
        }
        assert {kinds[r] for r in allowed} <= declared, f"{method} {path}: allowed beyond x-arena-roles"


def _tokens(world: dict, target: int) -> dict[str, str | None]:
    mine, theirs = world["tenants"][target], world["tenants"][1 - target]
    return {
        "anonymous": None,
        "team": mine.team_token,
        "other_team": theirs.team_token,
        "owner": mine.organiser_token,
        "other_organiser": theirs.organiser_token,
        "administrator": world["admin"],
        "node": mine.node_token,
        "other_node": theirs.node_token,
        "site": world["site"],
    }


def _leaks(method: str, template: str, role: str, target: Tenant, response) -> list[str]:
    """What an answer carries that its caller may not see."""
    body, found = response.get_data(as_text=True), []
    reads_it = template.endswith("/log-reads") and role in ("owner", "administrator")
    if target.secret in body and not reads_it:
        found.append("the hidden run's log")
    lists = method == "get" and template in ("/api/submissions", "/api/tokens", "/api/audit")
    if role in ("other_organiser", "other_team") and lists and response.status_code == 200:
        if target.hidden in body:
            found.append("a submission of the target's team")
        if template == "/api/tokens" and any(t["team_id"] == target.team.id for t in response.json["tokens"]):
            found.append("the target team's tokens")
        if template == "/api/audit" and f"challenge:{target.slug}" in body:
            found.append("events of the target's challenge")
    return found


def test_every_route_answers_every_role_as_the_matrix_says(client, world):
    platform = world["platform"]
    with platform.sessions() as session:
        helper_id = session.scalar(select(Organiser.id).where(Organiser.name == "Helper Org"))
    failures = []
    for method, template, _op in _operations(client):
        entry = MATRIX[(method, template)]
        for target_index, target in enumerate(world["tenants"]):
            for role, token in _tokens(world, target_index).items():
                _prepare(platform, method, template, target, helper_id)
                call = _call(method, template, target, world, helper_id)
                response = _send(client, method, call, token)
                expected = entry["ok"] if entry[role] == OK else (entry[role],)
                where = f"{method.upper()} {call.path} as {role} ({'own' if role in _OWNING else 'other'})"
                if response.status_code not in expected:
                    failures.append(
                        f"{where}: {response.status_code}, expected {' or '.join(map(str, expected))}"
                        f" {response.get_data(as_text=True)[:160]}"
                    )
                failures += [f"{where}: leaks {what}" for what in _leaks(method, template, role, target, response)]
    assert not failures, f"{len(failures)} answers beyond the matrix:\n" + "\n".join(failures)


_OWNING = {"team", "owner", "node"}


def test_a_co_organiser_gets_the_owners_answers_except_choosing_organisers(client, world):
    """A co-organiser added by the owner: everything private about the challenge, as the owner,
    except adding or removing co-organisers."""
    alpha, beta = world["tenants"]
    platform = world["platform"]
    tenancy.add_organiser(platform, who=alpha.organiser, slug="alpha", name="Other Org")
    h = auth(beta.organiser_token)
    assert client.get(f"/api/submissions/{alpha.hidden}", headers=h).json["results"]
    assert client.get("/api/challenges/alpha/registrations", headers=h).status_code == 200
    read = client.post(f"/api/submissions/{alpha.hidden}/log-reads", json={"reason": "co-organiser check"}, headers=h)
    assert read.status_code == 201 and read.json["log"] == alpha.secret
    assert (
        client.post("/api/challenges/alpha/organisers", json={"organiser": "Helper Org"}, headers=h).status_code == 403
    )
    assert client.post("/api/tokens", json={"team_id": alpha.team.id}, headers=h).status_code == 403
