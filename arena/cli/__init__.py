"""The `arena` command: client commands (over HTTPS, registered at once) and server-side commands
(serve, worker, admin, db, keys, node-run, site-agent, rewards grant|check), whose modules reach
the services and the database and are imported only when one of them is asked for."""

from __future__ import annotations

import click

from arena.cli import agent_cmds, client_cmds, round_cmds, team_cmds, tenancy_cmds, try_cmd  # noqa: F401 - adds commands

# The commands `server_cmds.register` adds to `arena` and to `arena rewards`.
SERVER_COMMANDS = ("serve", "worker", "admin", "db", "keys", "node-run", "site-agent")

HELP = """Arena: secret-benchmark competitions for AI Factories.

\b
Server side (on the machine that runs Arena; data under ARENA_HOME, default ./var):
  arena serve                       API, public pages and an evaluation worker in one process
  arena worker                      an evaluation worker alone
  arena admin create-organiser NAME bootstrap an organiser and print its token
  arena admin create-administrator NAME  a platform administrator (sees every challenge)
  arena keys list|rotate|retire     master keys that wrap the hidden sets' data keys
  (each prints the ARENA_HOME and database it used; admin, keys and db refuse to set up a new,
  empty server unless given --init; serve and worker set one up on a fresh ARENA_HOME)

\b
Client side (talk to ARENA_URL, default http://127.0.0.1:8000, with ARENA_TOKEN):
  arena challenge create BUNDLE_DIR organiser: create a challenge from a bundle folder
  arena challenge list              anyone: the challenges on the server
  arena challenge get-sample C DIR  anyone: the public sample (and its assets), laid out as /input
  arena team create NAME            organiser: create a team, print its token
  arena team list                   organiser: the teams, their factories and registrations
  arena try CHALLENGE IMAGE         anyone: run IMAGE here on the public sample, as the platform would
  arena submit CHALLENGE IMAGE      team: upload a local Docker image as a submission
  arena submit CHALLENGE IMAGE --sample   team: a debug run on the public sample set
  arena submissions [CHALLENGE]     team: your runs, scores, receipts and runs left today
  arena status SUBMISSION_ID        team or organiser: where a submission stands, why it failed
  arena logs SUBMISSION_ID          team or organiser: a sample run's log
  arena logs ID --reason "..."      organiser: a hidden run's log (audited; the team is told)
  arena challenge organisers C      organiser: the owner and co-organisers of C
  arena challenge add-organiser C N owner: make organiser N a co-organiser (remove-organiser)
  arena leaderboard CHALLENGE       anyone: the public leaderboard
  arena round list CHALLENGE        anyone: the rounds, their pools, and the reward rules
  arena round close CHALLENGE       organiser: close the current round (--early before its end)
  arena round add CHALLENGE FILE    organiser: append rounds (and their rules) to a running challenge
  arena rewards CHALLENGE           anyone: a closed round's payout report (--round N, --csv F)
  arena round readmit C TEAM        organiser: let an eliminated team take part again
  arena challenge add-version C DIR organiser: a new hidden-set version between rounds
  arena challenge set-environment C IMAGE  organiser: an agent challenge's environment image
  arena trajectory SUBMISSION_ID    organiser: an agent run's messages and tool calls (teams: sample runs)
  arena challenge reveal C --all    organiser: publish the hidden items with their salts
  arena verify-set FILE             anyone: check a reveal against the signed commitment
                                    (--assets DIR: and the published asset files)
  arena log export CHALLENGE -o F   anyone: the signed public log and the board, to a file
  arena verify FILE                 anyone: check that log offline, and the board against it
                                    (--witness KEY, --receipts DIR, --state FILE)
  arena log checkpoint|proof|audit  anyone: the signed checkpoint, RFC 9162 proofs, the log from its tiles
  arena witness --key K --name N --state F   a factory: cosign each checkpoint that extends the last

Client commands that print results take --json for scripts. Contracts are in docs/.
"""


class _Arena(click.Group):
    """The top-level group, loading the server-side commands when one is named (or listed, for
    --help): the client commands stay clear of the services (tests/test_layering.py)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *SERVER_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SERVER_COMMANDS:
            load_server_commands()
        return super().get_command(ctx, cmd_name)


@click.group(cls=_Arena, help=HELP, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="arena")
def main() -> None:
    pass


def load_server_commands() -> None:
    """Add the server-side commands to `arena` (and `rewards grant|check` to `arena rewards`)."""
    if "serve" not in main.commands:
        from arena.cli import server_cmds

        server_cmds.register(main)


round_cmds.rewards_group.load_server_commands = load_server_commands
client_cmds.register(main)
round_cmds.register(main)
team_cmds.register(main)
try_cmd.register(main)
agent_cmds.register(main)
