"""The API a site agent uses (`arena site-agent` on a login node), with its site credential."""

from __future__ import annotations

from flask import Blueprint, Response

from arena.api._auth import bearer_token, platform
from arena.api._body import parse_body
from arena.api.schemas.jobs import SiteEndedBody, SiteHeartbeatBody, SiteRenewBody
from arena.errors import BadRequest
from arena.services import sites

bp = Blueprint("api_site", __name__, url_prefix="/api/site")
JOB = "<job_id>"


def _site():
    return sites.authenticate(platform(), bearer_token())


@bp.post("/heartbeat")
def heartbeat():
    """{"capabilities": {...}}: what the site can run now; also tells the platform it is alive."""
    site = _site()
    return sites.heartbeat(platform(), site=site, capabilities=parse_body(SiteHeartbeatBody).capabilities)


@bp.post("/claim")
def claim():
    """The next job one of the site's partitions fits (fair queue order), or 204 when none waits."""
    site = _site()
    if not site.capabilities:
        raise BadRequest("send a heartbeat with the site's capabilities before claiming jobs")
    claimed = sites.claim(platform(), site=site)
    return claimed if claimed is not None else Response(status=204)


@bp.post("/renew")
def renew():
    """{"jobs": {"<job id>": "<Slurm job id>", ...}}: these Slurm jobs still live; extends their
    leases in one call, and names those the platform no longer runs."""
    site = _site()
    return sites.renew(platform(), site=site, jobs=parse_body(SiteRenewBody).jobs)


@bp.post(f"/jobs/{JOB}/ended")
def ended(job_id: str):
    """{"state": "<Slurm state>"}: the job's Slurm job ended without sending a result."""
    state = parse_body(SiteEndedBody).state
    return sites.ended(platform(), site=_site(), job_id=job_id, state=state)
