"""The `arena` command loads its server-side commands only when one is asked for: the team CLI
runs without the services, the database layer or Flask, and `arena --help` still lists all."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from arena.cli import SERVER_COMMANDS, main

SERVER_SIDE = ("arena.services", "arena.models", "arena.db", "arena.runtime", "sqlalchemy", "flask")


def loaded_after(code: str, prefixes: tuple[str, ...] = SERVER_SIDE) -> list[str]:
    """The modules (of these prefixes) a fresh interpreter has loaded after running `code`."""
    probe = f"{code}\nimport sys\nprint('loaded:', *(m for m in sys.modules if m.startswith({prefixes!r})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return done.stdout.splitlines()[-1].split()[1:]  # after what --help printed


def test_the_team_cli_loads_no_server_side_module():
    assert loaded_after("import arena.cli") == []
    assert loaded_after("from arena.cli import main; main(['submit', '--help'], standalone_mode=False)") == []
    assert loaded_after("from arena.cli import main; main(['verify', '--help'], standalone_mode=False)") == []


def test_a_server_command_is_loaded_when_named():
    named = "from arena.cli import main; main(['db', '--help'], standalone_mode=False)"
    assert loaded_after(named, ("arena.cli.server_cmds",)) == ["arena.cli.server_cmds"]
    assert loaded_after("from arena.cli import main", ("arena.cli.server_cmds",)) == []
    result = CliRunner().invoke(main, ["db", "--help"])
    assert result.exit_code == 0 and "Alembic" in result.output


def test_help_lists_every_command_with_its_line():
    output = CliRunner().invoke(main, ["--help"]).output
    commands = output.split("Commands:")[1].splitlines()
    listed = {line.split()[0]: line for line in commands if line.strip()}
    for name in (*SERVER_COMMANDS, "submit", "verify", "challenge", "rewards", "round", "witness", "try"):
        assert name in listed and len(listed[name].split()) > 1, name
    rewards = CliRunner().invoke(main, ["rewards", "--help"]).output
    assert {"grant", "check", "show"} <= {
        line.split()[0] for line in rewards.split("Commands:")[1].splitlines() if line
    }
