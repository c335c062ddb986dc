"""What operators scrape at /metrics (Prometheus text format, with the official prometheus-client).

Every figure is read from the database when scraped, so any number of API processes answer alike:
queue depth per challenge, running jobs per challenge and site (or executor), job durations (a
histogram over finished jobs), failures by reason, and each site agent's last call.
"""

from __future__ import annotations

from datetime import UTC

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from sqlalchemy import case, func, select

from arena.models import Challenge, Job, Site, Submission
from arena.runtime import Platform

BUCKETS = (5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _DatabaseCollector:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def collect(self):
        with self.platform.sessions() as session:
            yield from _queue(session)
            yield _durations(session)
            yield _failures(session)
            yield from _sites(session)


def _by_challenge(session, status: str):
    return session.execute(
        select(Challenge.slug, Site.name, Job.executor, func.count(Job.id))
        .join(Submission, Job.submission_id == Submission.id)
        .join(Challenge, Submission.challenge_id == Challenge.id)
        .outerjoin(Site, Job.site_id == Site.id)
        .where(Job.status == status)
        .group_by(Challenge.slug, Site.name, Job.executor)
    ).all()


def _queue(session):
    queued = GaugeMetricFamily("arena_queue_depth", "Jobs waiting in the fair queue", labels=["challenge"])
    depth: dict[str, int] = {}
    for slug, _site, _executor, count in _by_challenge(session, "queued"):
        depth[slug] = depth.get(slug, 0) + count
    for slug in session.scalars(select(Challenge.slug)):
        queued.add_metric([slug], depth.get(slug, 0))
    running = GaugeMetricFamily(
        "arena_jobs_running",
        "Jobs running, by challenge and where (a site, or the executor)",
        labels=["challenge", "site"],
    )
    for slug, site, executor, count in _by_challenge(session, "running"):
        running.add_metric([slug, site or executor], count)
    yield queued
    yield running


def _durations(session):
    bounds = [case((Job.duration_s <= b, 1), else_=0) for b in BUCKETS]
    row = session.execute(
        select(
            *(func.coalesce(func.sum(b), 0) for b in bounds),
            func.count(Job.duration_s),
            func.coalesce(func.sum(Job.duration_s), 0.0),
        ).where(Job.duration_s.is_not(None))
    ).one()
    *counts, total, seconds = row
    histogram = HistogramMetricFamily("arena_job_duration_seconds", "How long finished jobs' containers ran")
    buckets = [(str(b), int(c)) for b, c in zip(BUCKETS, counts, strict=True)] + [("+Inf", int(total))]
    histogram.add_metric([], buckets, float(seconds))
    return histogram


def _failures(session):
    failures = CounterMetricFamily(
        "arena_job_failures",
        "Jobs that ended without a score, by reason and by whose "
        "failure it was (the model's, or the platform's: re-queued)",
        labels=["reason", "by"],
    )
    rows = session.execute(
        select(Job.outcome, Job.status, func.count(Job.id))
        .where(Job.status.in_(("done", "failed")), Job.outcome.is_not(None), Job.outcome != "scored")
        .group_by(Job.outcome, Job.status)
    ).all()
    for outcome, status, count in rows:
        failures.add_metric([outcome, "platform" if status == "failed" else "model"], count)
    return failures


def _sites(session):
    seen = GaugeMetricFamily(
        "arena_site_last_heartbeat_timestamp_seconds",
        "When each site's agent last called (Unix time; 0: never)",
        labels=["site"],
    )
    revoked = GaugeMetricFamily("arena_site_revoked", "1 when a site's credential is revoked", labels=["site"])
    for site in session.scalars(select(Site).order_by(Site.name)):
        at = site.last_seen_at
        seen.add_metric([site.name], _unix(at) if at else 0.0)
        revoked.add_metric([site.name], 1.0 if site.revoked_at else 0.0)
    yield seen
    yield revoked


def _unix(at) -> float:

    return at.replace(tzinfo=UTC).timestamp()


def exposition(platform: Platform) -> bytes:
    """The metrics in Prometheus' text format, read now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_DatabaseCollector(platform))
    return generate_latest(registry)
