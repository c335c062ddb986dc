"""/metrics for Prometheus (arena/services/metrics.py). With ARENA_METRICS_TOKEN set, a scrape must
send it as a bearer token; without, keep /metrics to the operators' network."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response

from arena.api._auth import bearer_token, platform
from arena.errors import Unauthorized
from arena.services import metrics

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape():
    wanted = platform().settings.metrics_token
    if wanted and not hmac.compare_digest((bearer_token() or "").encode(), wanted.encode()):
        raise Unauthorized("/metrics needs the operators' metrics token: 'Authorization: Bearer …'")
    return Response(metrics.exposition(platform()), mimetype=None, content_type=metrics.CONTENT_TYPE)
