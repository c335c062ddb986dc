"""HPC sites whose agents pull jobs (`arena site-agent` on a login node).

A site is made by an administrator on the server's machine (`arena admin create-site NAME`), which
prints its credential once; only its hash is kept, and revoking it stops the agent at its next
call. An agent advertises its capabilities (partitions: architecture, GPU vendor and count per
node, CPUs and memory per node; its container runtime) and claims jobs: the fair queue still
decides the order (services/queue.py), and a job goes only to a partition that fits it. For each
claimed job the agent gets a one-job node credential (services/nodes.py) for its batch script;
it renews the job's lease while Slurm holds it, and reports a Slurm job that ended without a
result (re-queued, never counted against the team). An agent that vanishes stops renewing: its
jobs' leases lapse and the next sweep re-queues them the same way.

The central platform connects to no site: every call here is the agent's request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import select

from arena import evaluation
from arena.errors import BadRequest, Conflict, NotFound, Unauthorized
from arena.models import Job, Site, Submission
from arena.runtime import Platform
from arena.services import audit, leases, nodes, queue
from arena.timeutil import iso, utcnow

TOKEN_PREFIX = "arena_site_"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
PLATFORMS = {"linux/amd64": "amd64", "linux/arm64": "arm64"}
VENDORS = ("nvidia", "amd")
RUNTIMES = ("docker", "podman")
NODE_OVERHEAD_MB = 512  # node-run and its staging, beside the container (as for central Slurm)
MAX_PARTITIONS = 32
INVALID = "this site credential is not valid (unknown or revoked); ask the platform's administrators"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- administration ---------------------------------------------------------------------------------
def create_site(platform: Platform, *, name: str, actor=None) -> tuple[dict, str]:
    """A new site and its credential (shown once)."""
    if not NAME_RE.match(name):
        raise BadRequest("a site name is 2-63 lowercase letters, digits and hyphens, e.g. 'lumi-g'")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with platform.transaction() as session:
        if session.scalar(select(Site.id).where(Site.name == name)) is not None:
            raise Conflict(f"a site named {name!r} exists already")
        site = Site(name=name, token_hash=_hash(token))
        session.add(site)
        session.flush()
        audit.record(session, actor=actor, action="site.create", target=f"site:{name}")
        return view(site), token


def revoke_site(platform: Platform, *, name: str, actor=None) -> dict:
    """Revoke a site's credential; its running jobs are re-queued when their leases lapse."""
    with platform.transaction() as session:
        site = session.scalar(select(Site).where(Site.name == name))
        if site is None:
            raise NotFound(f"no site named {name!r}")
        if site.revoked_at is None:
            site.revoked_at = utcnow()
            audit.record(session, actor=actor, action="site.revoke", target=f"site:{name}")
        return view(site)


def list_sites(platform: Platform) -> list[dict]:
    with platform.sessions() as session:
        return [view(site) for site in session.scalars(select(Site).order_by(Site.name))]


def view(site: Site) -> dict:
    return {
        "name": site.name,
        "capabilities": site.capabilities,
        "created_at": iso(site.created_at),
        "last_seen_at": iso(site.last_seen_at) if site.last_seen_at else None,
        "revoked": site.revoked_at is not None,
    }


def authenticate(platform: Platform, token: str | None) -> Site:
    if not token or not token.startswith(TOKEN_PREFIX):
        raise Unauthorized("a site agent needs its site credential: 'Authorization: Bearer arena_site_…'")
    with platform.sessions() as session:
        site = session.scalar(select(Site).where(Site.token_hash == _hash(token)))
        if site is None or site.revoked_at is not None:
            raise Unauthorized(INVALID)
        session.expunge(site)
        return site


# -- capabilities -----------------------------------------------------------------------------------
def _whole(part: dict, key: str, low: int, high: int, where: str) -> int:
    value = part.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"{where}.{key} must be a whole number from {low} to {high}")
    return value


def _partition(part, where: str) -> dict:
    if not isinstance(part, dict):
        raise BadRequest(f"{where} must be a mapping")
    name, arch, vendor = part.get("name"), part.get("architecture"), part.get("gpu_vendor")
    if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9_.-]{1,64}$", name):
        raise BadRequest(f"{where}.name must be a Slurm partition name")
    if arch not in PLATFORMS.values():
        raise BadRequest(f"{where}.architecture must be one of {', '.join(PLATFORMS.values())}")
    gpus = _whole(part, "gpus_per_node", 0, 64, where) if "gpus_per_node" in part else 0
    if gpus and vendor not in VENDORS or not gpus and vendor not in (None, *VENDORS):
        raise BadRequest(f"{where}.gpu_vendor must be one of {', '.join(VENDORS)} where it has GPUs")
    return {
        "name": name,
        "architecture": arch,
        "gpu_vendor": vendor if gpus else None,
        "gpus_per_node": gpus,
        "cpus_per_node": _whole(part, "cpus_per_node", 1, 100_000, where),
        "memory_mb_per_node": _whole(part, "memory_mb_per_node", 256, 1 << 32, where),
    }


def parse_capabilities(doc) -> dict:
    """An agent's advertised capabilities, checked: BadRequest naming the first problem."""
    if not isinstance(doc, dict):
        raise BadRequest("capabilities must be a JSON object")
    runtime, parts = doc.get("runtime"), doc.get("partitions")
    if runtime not in RUNTIMES:
        raise BadRequest(f"capabilities.runtime must be one of {', '.join(RUNTIMES)}")
    if not isinstance(parts, list) or not 0 < len(parts) <= MAX_PARTITIONS:
        raise BadRequest(f"capabilities.partitions must list 1 to {MAX_PARTITIONS} partitions")
    partitions = [_partition(p, f"capabilities.partitions[{i}]") for i, p in enumerate(parts)]
    return {
        "runtime": runtime,
        "max_jobs": _whole(doc, "max_jobs", 1, 100_000, "capabilities") if "max_jobs" in doc else 100,
        "partitions": partitions,
    }


def partition_for(needs: dict, capabilities: dict) -> dict | None:
    """The first partition that can run a job with requirements `needs` (queue.needs)."""
    for part in capabilities.get("partitions", []):
        if _misfit(needs, part)[1] is None:
            return part
    return None


def _misfit(needs: dict, part: dict) -> tuple[int, str | None]:
    """How far partition `part` gets in the checks, and why it cannot run the job (None: it can)."""
    gpus, arch = int(needs.get("gpus", 0)), needs.get("architecture", "amd64")
    vendors = needs.get("gpu_vendors") or ["nvidia"]
    checks = [
        (needs.get("protocol") != "agent", "agent challenges run on a central worker's engine, not at a site"),
        (part["architecture"] == arch, f"no site runs linux/{arch} images"),
        (gpus <= part["gpus_per_node"], f"no site with linux/{arch} has {gpus} GPU(s) on one node"),
        (not gpus or part["gpu_vendor"] in vendors, f"no site with linux/{arch} has {' or '.join(vendors)} GPUs"),
        (
            float(needs.get("cpus", 1)) <= part["cpus_per_node"],
            f"no matching site has {needs.get('cpus')} CPUs on one node",
        ),
        (
            _memory_mb(needs) <= part["memory_mb_per_node"],
            f"no matching site has {_memory_mb(needs)} MiB of memory on one node",
        ),
    ]
    for stage, (ok, reason) in enumerate(checks):
        if not ok:
            return stage, reason
    return len(checks), None


def _memory_mb(needs: dict) -> int:
    return int(needs.get("memory_mb", 0)) + NODE_OVERHEAD_MB + int(needs.get("folder_mb", 0))


def waiting_reason(needs: dict, sites: list[dict]) -> str | None:
    """Why no site can run a job with `needs` (the reason of the partition that came closest);
    None when one can."""
    if not sites:
        return "no site agent is active"
    found = [_misfit(needs, part) for capabilities in sites for part in capabilities.get("partitions", [])]
    if not found:
        return "no active site advertises a partition"
    stage, reason = max(found, key=lambda f: f[0])
    return reason


# -- what an agent does -------------------------------------------------------------------------------
ACTIVE_FOR = timedelta(minutes=10)  # a site whose agent called within this is active


def heartbeat(platform: Platform, *, site: Site, capabilities) -> dict:
    """Record the agent's capabilities and that it is alive."""
    checked = parse_capabilities(capabilities)
    with platform.transaction() as session:
        row = session.get_one(Site, site.id)
        row.capabilities, row.last_seen_at = checked, utcnow()
    return {"site": site.name, "capabilities": checked}


def claim(platform: Platform, *, site: Site) -> dict | None:
    """The next job, in the fair queue's order, that one of the site's partitions fits; with its
    partition, its Slurm request and its node credential. None when none waits that fits."""
    leases.recover_expired_jobs(platform)  # the agents' polls sweep lapsed leases, too
    capabilities = site.capabilities or {}
    chosen: dict = {}

    def fits(needs: dict) -> bool:
        part = partition_for(needs, capabilities)
        if part is not None:
            chosen.update(part=part, needs=needs)
        return part is not None

    ticket = evaluation.claim_next_job(platform, worker=f"site:{site.name}", accepts=fits)
    if ticket is None:
        return None
    settings = platform.settings
    lifetime = timedelta(seconds=ticket.limits.time_limit_s + settings.slurm_margin_s)
    token = nodes.hand_over(
        platform, job_id=ticket.job_id, executor="site", lifetime=lifetime, lease_s=settings.lease_s, site_id=site.id
    )
    limits = ticket.limits
    return {
        "job": ticket.job_id,
        "partition": chosen["part"]["name"],
        "node_token": token,
        "lease_s": settings.lease_s,
        "time_seconds": int(limits.time_limit_s + settings.slurm_margin_s),
        "cpus": max(1, int(-(-limits.cpus // 1))),
        "memory_mb": _memory_mb(chosen["needs"]),
        "gpus": limits.gpus,
        "gpu_vendor": chosen["part"]["gpu_vendor"],
        "architecture": chosen["needs"]["architecture"],
    }


def _own_running(session, site: Site, job_id: str) -> Job:
    job = session.get(Job, job_id)
    if job is None or job.site_id != site.id:
        raise NotFound(f"job {job_id} is not one of this site's")
    return job


MAX_RENEW = 10_000  # jobs renewed in one call: one call a pass, whatever the site's size


def renew(platform: Platform, *, site: Site, jobs: dict[str, str | None]) -> dict:
    """Extend the leases of the site's jobs whose Slurm jobs still live ({job id: Slurm job id}),
    in one call; `stopped` names those the platform no longer runs (their result is in, or they
    were taken back): the agent lets their Slurm jobs end. A job of another site is refused."""
    until, running, stopped = utcnow() + timedelta(seconds=platform.settings.lease_s), [], []
    with platform.transaction() as session:
        rows = {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(list(jobs))))}
        for job_id, external_id in jobs.items():
            job = rows.get(job_id)
            if job is None or job.site_id != site.id:
                raise NotFound(f"job {job_id} is not one of this site's")
            if external_id and job.external_id is None:
                job.external_id = external_id[:40]
            if job.status == "running":
                job.lease_expires_at = until
                running.append(job_id)
            else:
                stopped.append(job_id)
        session.get_one(Site, site.id).last_seen_at = utcnow()
    return {"running": running, "stopped": stopped}


def ended(platform: Platform, *, site: Site, job_id: str, state: str) -> dict:
    """The job's Slurm job ended without a result: the platform's failure, re-queued (or failed
    after the last attempt), never counted against the team."""
    reason = f"site {site.name}: Slurm job ended {str(state)[:40]} before sending a result"
    with platform.transaction() as session:
        _own_running(session, site, job_id)
        nodes.revoke(session, job_id=job_id)
        if not leases.end_if_running(session, job_id, outcome="infrastructure", error=reason):
            return {"job": job_id, "requeued": False}  # its result came in meanwhile
        done = leases.requeue_or_fail(platform, session, session.get_one(Job, job_id))
    return {"job": job_id, "requeued": done == "requeued"}


def active_capabilities(session) -> list[dict]:
    since = utcnow() - ACTIVE_FOR
    return [
        s.capabilities
        for s in session.scalars(
            select(Site).where(Site.revoked_at.is_(None), Site.last_seen_at >= since, Site.capabilities.is_not(None))
        )
    ]


def any_site(session) -> bool:
    return session.scalar(select(Site.id).where(Site.revoked_at.is_(None)).limit(1)) is not None


def queued_reasons(session, submission_ids: list[str]) -> dict[str, str]:
    """For queued submissions, why no active site can run them (only where sites are in use)."""
    if not submission_ids or not any_site(session):
        return {}
    sites = active_capabilities(session)
    return {
        sid: reason
        for sid, needs in queue.queued_needs(session, submission_ids).items()
        if (reason := waiting_reason(needs, sites)) is not None
    }


def challenge_queue(platform: Platform, *, organiser, slug: str) -> list[dict]:
    """A challenge's queued and running jobs, for its organiser: where each runs, and why a
    queued one waits when no active site can run it."""
    from arena.services import tenancy

    with platform.sessions() as session:
        challenge = tenancy.run_challenge(session, who=organiser, slug=slug, what="see its queue")
        rows = session.execute(
            select(Job, Site.name)
            .join(Submission, Job.submission_id == Submission.id)
            .outerjoin(Site, Job.site_id == Site.id)
            .where(Submission.challenge_id == challenge.id, Job.status.in_(("queued", "running")))
            .order_by(Job.created_at)
        ).all()
        waiting = queued_reasons(session, [job.submission_id for job, _ in rows if job.status == "queued"])
        return [
            {
                "job": job.id,
                "submission": job.submission_id,
                "status": job.status,
                "executor": job.executor,
                "site": site,
                "created_at": iso(job.created_at),
                "waiting_reason": waiting.get(job.submission_id) if job.status == "queued" else None,
            }
            for job, site in rows
        ]
