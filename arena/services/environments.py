"""Agent challenges (`protocol: agent`): the organiser's environment image and its declaration,
and the trajectories of runs (every message and tool call), readable by the challenge's organiser.

`parse_environment` is pure (used by the bundle check); the rest are services that own their
transactions. The environment's image is uploaded by the organiser like a team's image (stored by
digest) and pinned on the challenge by that digest.
"""

from __future__ import annotations

from typing import Any, cast

from arena.errors import BadRequest, Conflict, Forbidden, NotFound
from arena.models import Challenge, Image, Job, Submission
from arena.runtime import Platform
from arena.services import audit
from hidden_sets import HiddenSetError, unseal
from sandbox import TOOL_SPECS, AgentLimits, EnvironmentConfig, Limits

DEFAULT_TOOLS = ("bash", "python", "read_file", "write_file")
WORKDIR_DEFAULT = "/work"
# name: (type, minimum, maximum, default); the environment container's and each item's limits.
ENVIRONMENT_LIMITS: dict[str, tuple[type, float, float, float]] = {
    "memory_mb": (int, 64, 65_536, 512),
    "cpus": (float, 0.1, 64, 1.0),
    "pids": (int, 16, 4096, 128),
    "workdir_mb": (int, 1, 16_384, 64),
    "max_messages": (int, 2, 10_000, 60),
    "max_tool_calls": (int, 1, 5_000, 30),
    "tool_time_limit_seconds": (int, 1, 86_400, 120),
    "tool_call_time_limit_seconds": (int, 1, 3_600, 30),
    "max_tool_output_bytes": (int, 256, 1024**2, 16 * 1024),
    "max_tokens": (int, 1_000, 100_000_000, 200_000),
    "score_time_limit_seconds": (int, 1, 3_600, 60),
}
ENVIRONMENT_KEYS = {"image", "tools", "workdir", "score_command", "network", "limits"}
NETWORK_REFUSED = (
    "environment.network: only 'none' is accepted in this version; an allow-list is "
    "refused because the environment holds the item's hidden files and receives the "
    "agent's commands, so any route out could carry the hidden set away, and no egress "
    "filter is yet part of the sandbox (see docs/agent-protocol.md)"
)


def _fail(message: str) -> BadRequest:
    return BadRequest(f"challenge bundle: {message}")


def parse_environment(doc: Any) -> dict:
    """Check challenge.yaml's `environment` of an agent challenge; returns it with defaults."""
    if not isinstance(doc, dict):
        raise _fail("an agent challenge needs 'environment' (image, tools, score_command, limits)")
    unknown = sorted(set(map(str, doc)) - ENVIRONMENT_KEYS)
    if unknown:
        raise _fail(
            f"environment has unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(ENVIRONMENT_KEYS))}"
        )
    if doc.get("network", "none") != "none":
        raise _fail(NETWORK_REFUSED)
    image = doc.get("image")
    if not isinstance(image, str) or not image or len(image) > 200:
        raise _fail(
            "environment.image must name the environment's image (uploaded with `arena challenge set-environment`)"
        )
    return {
        "image": image,
        "tools": _tools(doc.get("tools", list(DEFAULT_TOOLS))),
        "workdir": _workdir(doc.get("workdir", WORKDIR_DEFAULT)),
        "score_command": _command(doc.get("score_command")),
        "network": "none",
        "limits": _limits(doc.get("limits") or {}),
    }


def _tools(given: Any) -> list[str]:
    if (
        not isinstance(given, list)
        or not given
        or not all(isinstance(t, str) for t in given)
        or len(set(given)) != len(given)
        or set(given) - set(TOOL_SPECS)
    ):
        raise _fail(f"environment.tools must list tools among {', '.join(TOOL_SPECS)}, each once")
    return list(given)


def _workdir(given: Any) -> str:
    parts = given.split("/") if isinstance(given, str) else []
    if not (
        isinstance(given, str)
        and given.startswith("/")
        and 1 < len(given) <= 100
        and all(p.replace("-", "").replace("_", "").isalnum() for p in parts[1:])
        and not given.startswith(("/arena", "/tmp", "/proc", "/dev", "/sys"))
    ):
        raise _fail(
            "environment.workdir must be an absolute path of plain names (e.g. /work), "
            "not under /arena, /tmp, /proc, /dev or /sys"
        )
    return given


def _command(given: Any) -> list[str]:
    if (
        not isinstance(given, list)
        or not given
        or len(given) > 64
        or not all(isinstance(a, str) and 0 < len(a) <= 1000 for a in given)
    ):
        raise _fail(
            "environment.score_command must be a command as a list of strings, e.g. "
            "[python3, /opt/score.py]; its last line of output is the item's score, 0 to 1"
        )
    return list(given)


def _limits(given: Any) -> dict:
    if not isinstance(given, dict):
        raise _fail("environment.limits must be a mapping")
    unknown = sorted(set(map(str, given)) - set(ENVIRONMENT_LIMITS))
    if unknown:
        raise _fail(f"unknown environment limit(s) {', '.join(unknown)}; known: {', '.join(ENVIRONMENT_LIMITS)}")
    out = {}
    for name, (kind, low, high, default) in ENVIRONMENT_LIMITS.items():
        value = given.get(name, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (kind is int and not float(value).is_integer())
            or not low <= value <= high
        ):
            raise _fail(
                f"environment.limits.{name} must be a {'whole ' if kind is int else ''}number from {low:g} to {high:g}"
            )
        out[name] = kind(value)
    return out


def environment_config(environment: dict, image_id: str) -> EnvironmentConfig:
    """What the driver needs, from a challenge's stored environment and its image's engine id."""
    given = environment["limits"]
    return EnvironmentConfig(
        image_id=image_id,
        tools=tuple(environment["tools"]),
        score_command=tuple(environment["score_command"]),
        workdir=environment["workdir"],
        limits=Limits(
            time_limit_s=float(given["tool_time_limit_seconds"]),
            memory_mb=int(given["memory_mb"]),
            cpus=float(given["cpus"]),
            pids=int(given["pids"]),
            tmp_mb=64,
        ),
        agent=AgentLimits(
            max_messages=int(given["max_messages"]),
            max_tool_calls=int(given["max_tool_calls"]),
            tool_time_s=float(given["tool_time_limit_seconds"]),
            tool_call_s=float(given["tool_call_time_limit_seconds"]),
            max_tool_output_bytes=int(given["max_tool_output_bytes"]),
            max_tokens=int(given["max_tokens"]),
            score_time_s=float(given["score_time_limit_seconds"]),
            workdir_mb=int(given["workdir_mb"]),
        ),
    )


# -- the environment's image -------------------------------------------------------------------------
def _owned(session, *, organiser_id: int, slug: str, actor=None) -> Challenge:
    from arena.services import tenancy

    challenge = tenancy.run_challenge(
        session, who=tenancy.acting(actor, organiser_id), slug=slug, what="set its environment"
    )
    if challenge.protocol != "agent":
        raise Conflict(f"{slug} is not an agent challenge (protocol: agent); it has no environment")
    return challenge


def check_owner(platform: Platform, *, organiser_id: int, slug: str, actor=None) -> None:
    """Refuse early (before a large upload) anyone but the agent challenge's organisers."""
    with platform.sessions() as session:
        _owned(session, organiser_id=organiser_id, slug=slug, actor=actor)


def set_image(platform: Platform, *, organiser_id: int, slug: str, image_digest: str, actor=None) -> dict:
    """Pin the challenge's environment to an uploaded image, by digest (audited)."""
    with platform.transaction() as session:
        challenge = _owned(session, organiser_id=organiser_id, slug=slug, actor=actor)
        if session.get(Image, image_digest) is None:
            raise NotFound(f"no uploaded image {image_digest[:80]!r}; upload it first")
        assert challenge.environment is not None  # an agent challenge declares its environment
        challenge.environment = {**challenge.environment, "image_digest": image_digest}
        audit.record(
            session,
            actor=actor,
            action="challenge.environment",
            target=f"challenge:{slug}",
            detail={"image_digest": image_digest},
        )
        return {"slug": slug, "image_digest": image_digest}


def public_view(environment: dict | None) -> dict | None:
    """What anyone may see of an environment: its tools, limits and whether its image is set."""
    if not environment:
        return None
    return {
        "tools": environment["tools"],
        "workdir": environment["workdir"],
        "network": "none",
        "limits": environment["limits"],
        "image_digest": environment.get("image_digest"),
    }


# -- trajectories ------------------------------------------------------------------------------------
def read_trajectory(platform: Platform, *, principal, submission_id: str, actor=None) -> bytes:
    """The trajectory of a submission's latest attempt (JSON lines): for the challenge's organisers
    and the administrator (hidden runs: unsealed, audited); for the team, of its sample runs only."""
    from arena.services import permissions, tenancy

    with platform.transaction() as session:
        submission = session.get(Submission, submission_id)
        if submission is None:
            raise NotFound(f"no submission {submission_id!r}")
        challenge = session.get_one(Challenge, submission.challenge_id)
        organiser = principal.role != "team" and permissions.may_read_hidden_log(
            principal, tenancy.facts(session, challenge)
        )
        team = principal.role == "team" and submission.team_id == principal.id
        if team and submission.kind != "sample":
            raise Forbidden(
                "trajectories of runs on hidden data are never shown to teams: they could "
                "carry the hidden items out. Debug on the sample set: `arena submit --sample`, "
                "then `arena trajectory`"
            )
        if not (organiser or team):
            raise NotFound(f"no submission {submission_id!r} whose trajectory you may read")
        job = _latest_with_trajectory(session, submission_id)
        if job is None:
            raise NotFound("this submission has no trajectory (not an agent run, or not run yet)")
        assert job.trajectory is not None  # selected for having one
        if submission.kind == "sample":
            return job.trajectory
        data = _unseal(platform, submission, job)
        audit.record(
            session, actor=actor, action="trajectory.read", target=f"submission:{submission_id}", detail={"job": job.id}
        )
        return data


def _latest_with_trajectory(session, submission_id: str) -> Job | None:
    from sqlalchemy import select

    return session.scalars(
        select(Job)
        .where(Job.submission_id == submission_id, Job.trajectory.is_not(None))
        .order_by(Job.attempt.desc())
        .limit(1)
    ).first()


def _unseal(platform: Platform, submission: Submission, job: Job) -> bytes:
    from arena.models import HiddenSet

    with platform.sessions() as session:
        hidden = session.get_one(HiddenSet, submission.hidden_set_id)
    key = platform.hidden_sets.open_data_key(
        key_id=hidden.data_key_id, master_key_id=hidden.master_key_id, wrapped=hidden.wrapped_key
    )
    try:
        return unseal(
            key.key, purpose=f"trajectory/{job.id}", sealed=cast(bytes, job.trajectory)
        )  # checked by the caller
    except HiddenSetError:
        raise Conflict("this trajectory could not be opened with the hidden set's key") from None
