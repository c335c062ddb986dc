"""The pages show what the rules say, and nothing misleads: the challenge page lists every limit,
metric, quota and the registration mode; an early close shows its time; failures say where they ran."""

from __future__ import annotations

import re
from datetime import timedelta

from conftest import auth, web_sign_in
from helpers import make_bundle, make_image_tarball

from arena.services import accounts, rounds
from arena.services.challenges import create_challenge
from arena.timeutil import iso, utcnow
from arena.worker import Worker


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_challenge_page_shows_every_rule_before_any_score(client, platform, organiser_token, tmp_path):
    create_challenge(
        platform,
        organiser_id=1,
        bundle_dir=make_bundle(
            tmp_path / "b",
            extra={
                "secondary_metrics": ["macro_f1"],
                "registration": "approval",
                "daily_quota": 7,
                "max_pending": 2,
                "count_failures": False,
                "limits": {"time_limit_seconds": 30, "memory_mb": 256, "pids": 99, "cpus": 1.5},
                "rounds": [
                    {
                        "start": iso(utcnow() - timedelta(days=1)),
                        "end": iso(utcnow() + timedelta(days=9)),
                        "gpu_hours": 1.5,
                    }
                ],
            },
        ),
    )
    page = _text(client.get("/challenges/toy").get_data(as_text=True))
    assert "also shown: macro_f1" in page and "also shown beside it: macro_f1" in page
    for shown in (
        "30 s per run",
        "256 MiB",
        "CPUs 1.5",
        "Processes 99",
        "GPUs 0",
        "by approval: register with arena challenge register toy",
        "7 runs on the hidden set per team per UTC day",
        "nor do your model's own failures",
        "at most 2 submissions per team queued or running",
        "1 GPU-hour 30 min",
        "arena try toy IMAGE",
    ):
        assert shown in page, shown


def test_an_interactive_challenge_page_shows_its_session_limits(client, platform, organiser_token, tmp_path):
    from helpers import write_jsonl

    root = make_bundle(
        tmp_path / "b",
        metric="exact_match",
        sample=False,
        extra={
            "protocol": "interactive",
            "limits": {"time_limit_seconds": 30, "memory_mb": 256, "request_time_limit_seconds": 12, "concurrency": 2},
        },
    )
    write_jsonl(
        root / "inputs.jsonl",
        [{"id": f"i{i}", "input": {"messages": [{"role": "user", "content": "hi"}]}} for i in range(10)],
    )
    create_challenge(platform, organiser_id=1, bundle_dir=root)
    page = _text(client.get("/challenges/toy").get_data(as_text=True))
    assert "Per request 12 s" in page and "2 requests at once" in page and "Start-up 60 s" in page


def test_the_console_shows_an_early_close_and_where_failures_ran(
    client, platform, organiser_token, team_token, fake_runner, tmp_path
):
    create_challenge(
        platform,
        organiser_id=1,
        bundle_dir=make_bundle(
            tmp_path / "b",
            extra={"rounds": [{"start": iso(utcnow() - timedelta(days=1)), "end": iso(utcnow() + timedelta(days=9))}]},
        ),
    )
    make_image_tarball(tmp_path / "i.tar")
    fake_runner.exit_code = 3
    for kind in ("sample", "hidden"):
        client.post(
            f"/api/challenges/toy/submissions?kind={kind}",
            data=(tmp_path / "i.tar").read_bytes(),
            headers={**auth(team_token), "Content-Type": "application/x-tar"},
        )
    Worker(platform).drain()
    organiser = accounts.authenticate(platform, token=organiser_token)
    closed = rounds.close_round(platform, organiser=organiser, slug="toy", early=True)
    web_sign_in(client, organiser_token, role="organiser")
    page = client.get("/console").get_data(as_text=True)
    assert f'stopped early <time datetime="{closed["stopped_at"]}"' in page
    assert f'<time datetime="{closed["closed_at"]}"' in page
    failures = _text(page[page.index('id="failures"') : page.index('id="audit"')])
    assert "sample set (debug)" in failures and "hidden set" in failures


def test_the_dashboard_paints_only_the_reason_of_a_failed_row(
    client, platform, organiser_token, team_token, fake_runner, tmp_path
):
    create_challenge(platform, organiser_id=1, bundle_dir=make_bundle(tmp_path / "b"))
    make_image_tarball(tmp_path / "i.tar")
    fake_runner.exit_code = 3
    client.post(
        "/api/challenges/toy/submissions?kind=sample",
        data=(tmp_path / "i.tar").read_bytes(),
        headers={**auth(team_token), "Content-Type": "application/x-tar"},
    )
    Worker(platform).drain()
    page = web_sign_in(client, team_token).get_data(as_text=True)
    row = page[page.index('<tr class="status-failed">') :]
    row = row[: row.index("</tr>")]
    assert '<td class="why"><strong>crashed</strong>' in row
    with client.get("/static/arena.css") as css:
        assert "td:nth-child" not in css.get_data(as_text=True)
