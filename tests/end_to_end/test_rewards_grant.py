"""Awards become compute: closed rounds' GPU-minutes granted into a real Slurm accounting database
(slurmdbd on Debian's MariaDB: `ARENA_SLURM_ACCOUNTING=1 scripts/slurm.sh`), idempotently, audited,
and checkable against the signed round reports."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from datetime import timedelta

import pytest
from helpers import make_bundle, make_image_tarball
from sqlalchemy import select

from arena.models import AuditEvent
from arena.services import accounts, grants, rounds
from arena.services.challenges import create_challenge
from arena.services.images import receive_image
from arena.services.submissions import create_submission
from arena.slurm import SacctmgrCli
from arena.timeutil import iso, utcnow
from arena.worker import Worker
from sandbox import FakeRunner

pytestmark = pytest.mark.slurm
ACCT_CONF = os.environ.get("ARENA_TEST_SLURM_ACCOUNTING_CONF", "/etc/slurm/accounting/slurm.conf")
N = 60
LABELS = ["even" if i % 2 == 0 else "odd" for i in range(N)]


@pytest.fixture(scope="module")
def sacctmgr():
    """sacctmgr against the real slurmdbd. Under CI a missing one fails the test."""
    cli = SacctmgrCli(f"env SLURM_CONF={ACCT_CONF} sacctmgr")
    problem = None
    try:
        cli._run("--noheader", "list", "cluster")
    except Exception as exc:  # noqa: BLE001 - any failure means: no accounting database here
        problem = f"no slurmdbd ({exc}); run ARENA_SLURM_ACCOUNTING=1 scripts/slurm.sh"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    return cli


@pytest.fixture
def fake_runner():
    return FakeRunner(predict=lambda item: "even" if item["x"] % 2 == 0 else "odd")


@pytest.fixture
def prefix(sacctmgr):
    tag = f"t{secrets.token_hex(3)}-"
    yield tag
    out = sacctmgr._run("--noheader", "--parsable2", "list", "account", "format=Account")
    for account in [a for a in out.split() if a.startswith(tag)]:
        sacctmgr._run("delete", "account", account)


def _closed_rounds(platform, tmp_path) -> None:
    """A challenge of two rounds; two teams (one an alliance of two factories) score in each."""
    now = utcnow()
    organiser = accounts.create_organiser(platform, name="Org")[0]
    create_challenge(
        platform,
        organiser_id=organiser.id,
        bundle_dir=make_bundle(
            tmp_path / "bundle",
            n=N,
            labels=LABELS,
            extra={
                "rounds": [
                    {"start": iso(now - timedelta(minutes=5)), "end": iso(now + timedelta(hours=1)), "gpu_hours": 10},
                    {"end": iso(now + timedelta(hours=2)), "gpu_hours": 5},
                ],
                "rewards": {"rule": "rank_shares", "shares": [0.7, 0.3], "gpu_hours": 10},
            },
        ),
    )
    teams = [
        accounts.create_team(platform, name="Alpha", factories=["LUMI:0.6", "IT4LIA:0.4"])[0],
        accounts.create_team(platform, name="Beta", factories=["MareNostrum"])[0],
    ]
    for number in (1, 2):
        for team in teams:
            path = tmp_path / f"{team.name}{number}.tar"
            make_image_tarball(path, salt=f"{team.name}{number}")
            with path.open("rb") as stream:
                digest = receive_image(platform, stream=stream).digest
            create_submission(platform, team_id=team.id, slug="toy", image_digest=digest, actor=team)
            Worker(platform).drain()
        rounds.close_round(platform, organiser=organiser, slug="toy", early=True)


def _limit(sacctmgr, account: str) -> int | None:
    return sacctmgr.gpu_minutes(account)


def test_a_closed_round_becomes_gpu_minutes_in_slurm_accounting_once(platform, tmp_path, sacctmgr, prefix):
    _closed_rounds(platform, tmp_path)
    first = rounds.get_report(platform, slug="toy", number=1)
    won = grants.factory_minutes(first["report"])
    assert set(won) == {"LUMI", "IT4LIA", "MareNostrum"} and sum(won.values()) == 600
    done = grants.grant(platform, slug="toy", number=1, sacctmgr=sacctmgr, prefix=prefix)
    assert done["report"] == first["log_entry"]
    for factory, minutes in won.items():
        assert _limit(sacctmgr, f"{prefix}{factory.lower()}") == minutes
    again = grants.grant(platform, slug="toy", number=1, sacctmgr=sacctmgr, prefix=prefix)
    assert not any(row["new"] for row in again["factories"]) and again["limits"] == done["limits"]
    second = grants.factory_minutes(rounds.get_report(platform, slug="toy", number=2)["report"])
    grants.grant(platform, slug="toy", number=2, sacctmgr=sacctmgr, prefix=prefix)
    for factory in won:
        assert _limit(sacctmgr, f"{prefix}{factory.lower()}") == won[factory] + second.get(factory, 0)
    assert all(row["agrees"] for row in grants.check(platform, sacctmgr=sacctmgr))
    with platform.sessions() as session:
        audited = session.scalars(select(AuditEvent).where(AuditEvent.action == "rewards.grant")).all()
    assert len(audited) == len(won) + len(second)
    assert {e.detail["report_seq"] for e in audited} == {
        first["log_entry"]["seq"],
        rounds.get_report(platform, slug="toy", number=2)["log_entry"]["seq"],
    }
    # A limit changed behind Arena's back shows up in the check.
    sacctmgr.set_gpu_minutes(f"{prefix}lumi", 1)
    assert [r["account"] for r in grants.check(platform, sacctmgr=sacctmgr) if not r["agrees"]] == [f"{prefix}lumi"]


def test_the_cli_grants_and_refuses_an_open_round_clearly(platform, tmp_path, sacctmgr, prefix):
    _closed_rounds(platform, tmp_path)
    env = {
        **os.environ,
        "ARENA_HOME": str(platform.settings.home),
        "ARENA_DATABASE_URL": platform.settings.database_url,
        "ARENA_MASTER_KEY_FILE": str(platform.settings.master_key_file),
    }
    command = [
        str(__import__("helpers").ARENA),
        "rewards",
        "grant",
        "toy",
        "--account-prefix",
        prefix,
        "--account",
        f"MareNostrum={prefix}bsc",
        "--sacctmgr",
        f"env SLURM_CONF={ACCT_CONF} sacctmgr",
    ]
    done = subprocess.run([*command, "--round", "1", "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    accounts_set = json.loads(done.stdout)["limits"]
    assert set(accounts_set) == {f"{prefix}lumi", f"{prefix}it4lia", f"{prefix}bsc"}
    missing = subprocess.run([*command, "--round", "3"], env=env, capture_output=True, text=True, timeout=120)
    assert missing.returncode == 1 and "round 3 of toy has not closed yet" in missing.stderr
    assert "Traceback" not in missing.stderr
