"""The `arena` command: server commands (serve, worker, admin, db) and client commands."""

from __future__ import annotations

import click

from arena.cli import agent_cmds, client_cmds, round_cmds, server_cmds, team_cmds, tenancy_cmds, try_cmd  # noqa: F401 - adds commands

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


@click.group(help=HELP, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="arena")
def main() -> None:
    pass


server_cmds.register(main)
client_cmds.register(main)
round_cmds.register(main)
team_cmds.register(main)
try_cmd.register(main)
agent_cmds.register(main)
