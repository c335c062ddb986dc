"""Tenancy from the command line, against `arena serve` as a process: the owner adds and removes a
co-organiser; the administrator is made on the server's machine; errors are one clear line."""

from __future__ import annotations

import json

from helpers import arena, make_bundle, serve_arena


def test_an_owner_chooses_its_co_organisers_from_the_cli(tmp_path):
    (tmp_path / "home").mkdir()
    with serve_arena(tmp_path / "home", serve_args=("--no-worker",)) as env:
        owner = json.loads(arena(env, "admin", "create-organiser", "Owner Org", "--json").stdout)["token"]
        other = json.loads(arena(env, "admin", "create-organiser", "Other Org", "--json").stdout)["token"]
        admin = json.loads(arena(env, "admin", "create-administrator", "Ops", "--json").stdout)["token"]
        arena(env, "challenge", "create", str(make_bundle(tmp_path / "b", slug="cli-toy")), token=owner)

        refused = arena(env, "challenge", "registrations", "cli-toy", token=other, check=False)
        assert refused.returncode == 1 and "only the organisers of cli-toy" in refused.stderr
        assert "Traceback" not in refused.stderr
        added = arena(env, "challenge", "add-organiser", "cli-toy", "Other Org", token=owner).stdout
        assert "owner          Owner Org" in added and "co-organiser   Other Org" in added
        assert json.loads(arena(env, "challenge", "registrations", "cli-toy", "--json", token=other).stdout) == []
        not_owner = arena(env, "challenge", "remove-organiser", "cli-toy", "Other Org", token=other, check=False)
        assert not_owner.returncode == 1 and "only the owner of cli-toy" in not_owner.stderr
        listed = json.loads(arena(env, "challenge", "organisers", "cli-toy", "--json", token=admin).stdout)
        assert [o["name"] for o in listed["co_organisers"]] == ["Other Org"]
        arena(env, "challenge", "remove-organiser", "cli-toy", "Other Org", token=owner)
        again = arena(env, "challenge", "registrations", "cli-toy", token=other, check=False)
        assert again.returncode == 1 and "only the organisers of cli-toy" in again.stderr
        nobody = arena(env, "challenge", "remove-organiser", "cli-toy", "Nobody", token=owner, check=False)
        assert nobody.returncode == 1 and "'Nobody' is not a co-organiser of cli-toy" in nobody.stderr
        unknown = arena(
            env, "logs", "sub-0000000000000000", "--reason", "a reason long enough", token=admin, check=False
        )
        assert unknown.returncode == 1 and "no submission" in unknown.stderr
