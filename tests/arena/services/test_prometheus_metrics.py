"""/metrics: Prometheus' text format, read from the database when scraped."""

from __future__ import annotations

from conftest import auth
from helpers import make_bundle, make_image_tarball
from prometheus_client.parser import text_string_to_metric_families

from arena.services import accounts, sites
from arena.services.challenges import create_challenge
from arena.services.images import receive_image
from arena.services.submissions import create_submission
from arena.worker import Worker

X86 = {
    "runtime": "docker",
    "partitions": [{"name": "cpu", "architecture": "amd64", "cpus_per_node": 8, "memory_mb_per_node": 64000}],
}


def _samples(client, headers=None) -> dict:
    answer = client.get("/metrics", headers=headers or {})
    assert answer.status_code == 200 and answer.content_type.startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.get_data(as_text=True))
        for s in family.samples
    }


def test_queue_depth_durations_failures_and_site_heartbeats(platform, client, tmp_path, fake_runner):
    organiser = accounts.create_organiser(platform, name="Org")[0]
    create_challenge(
        platform,
        organiser_id=organiser.id,
        bundle_dir=make_bundle(tmp_path / "b", n=4, extra={"daily_quota": 100, "max_pending": 100}),
    )
    team = accounts.create_team(platform, name="T", factories=[])[0]
    for i in range(3):
        make_image_tarball(tmp_path / f"{i}.tar", salt=str(i))
        with (tmp_path / f"{i}.tar").open("rb") as stream:
            digest = receive_image(platform, stream=stream).digest
        create_submission(platform, team_id=team.id, slug="toy", image_digest=digest, actor=team)
    assert _samples(client)[("arena_queue_depth", (("challenge", "toy"),))] == 3
    fake_runner.exit_code = 1  # the first crashes
    Worker(platform).run_once()
    fake_runner.exit_code = 0
    Worker(platform).drain()
    _view, token = sites.create_site(platform, name="lumi-g")
    sites.heartbeat(platform, site=sites.authenticate(platform, token), capabilities=X86)
    found = _samples(client)
    assert found[("arena_queue_depth", (("challenge", "toy"),))] == 0
    assert found[("arena_job_duration_seconds_count", ())] == 3
    assert found[("arena_job_duration_seconds_bucket", (("le", "+Inf"),))] == 3
    assert found[("arena_job_failures_total", (("by", "model"), ("reason", "crashed")))] == 1
    assert found[("arena_site_last_heartbeat_timestamp_seconds", (("site", "lumi-g"),))] > 1.7e9
    assert found[("arena_site_revoked", (("site", "lumi-g"),))] == 0


def test_with_a_metrics_token_a_scrape_must_send_it(app, client):
    from dataclasses import replace

    platform = app.extensions["arena"]
    object.__setattr__(platform, "settings", replace(platform.settings, metrics_token="s3cret-scrape"))
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=auth("wrong")).status_code == 401
    assert client.get("/metrics", headers=auth("s3cret-scrape")).status_code == 200
