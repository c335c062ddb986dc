"""`arena site-agent`: pull jobs from the platform into this site's Slurm (on a login node)."""

from __future__ import annotations

import shlex
import shutil
import signal
import sys
import threading
from pathlib import Path

import click
import yaml

from arena.config import client_url, site_token


def _node_command() -> str:
    beside = Path(sys.executable).parent / "arena"
    return shlex.quote(str(beside)) if beside.exists() else (shutil.which("arena") or "arena")


def _capabilities(path: str) -> dict:
    from arena.errors import UserFacingError
    from arena.services.sites import parse_capabilities

    try:
        doc = yaml.safe_load(Path(path).read_text())
        return parse_capabilities(doc)
    except (OSError, yaml.YAMLError) as exc:
        raise click.ClickException(f"cannot read the capabilities file {path}: {type(exc).__name__}") from None
    except UserFacingError as exc:
        raise click.ClickException(f"{path}: {exc.message}") from None


def _token(token_file: str | None) -> str:
    if token_file:
        try:
            return Path(token_file).read_text().strip()
        except OSError as exc:
            raise click.ClickException(f"cannot read the site credential from {token_file}: {exc.strerror}") from None
    token = site_token()
    if not token:
        raise click.ClickException("give the site credential with --token-file FILE or ARENA_SITE_TOKEN")
    return token


def _pairs(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.isidentifier():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint="--node-env")
        out[key] = rest
    return out


@click.command("site-agent")
@click.option(
    "--capabilities",
    "capabilities_file",
    required=True,
    type=click.Path(dir_okay=False),
    help="YAML file: runtime (docker or podman), max_jobs, and partitions (name, architecture, "
    "gpu_vendor, gpus_per_node, cpus_per_node, memory_mb_per_node). See docs/hpc.md.",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False),
    help="File holding the site credential (from `arena admin create-site`); else ARENA_SITE_TOKEN.",
)
@click.option(
    "--relay-listen",
    default="127.0.0.1:8181",
    show_default=True,
    help="HOST:PORT the relay listens on: an address compute nodes reach, never a public one.",
)
@click.option("--relay-url", help="How compute nodes reach the relay (default: http://RELAY-LISTEN).")
@click.option("--node-command", help="How a compute node starts Arena (default: this installation's `arena`).")
@click.option(
    "--node-env",
    multiple=True,
    metavar="KEY=VALUE",
    help="Exported to node-run in each batch script (repeatable), e.g. ARENA_NODE_JOB_ROOT=/dev/shm/arena.",
)
@click.option("--account", help="Slurm account the jobs are charged to.")
@click.option("--log-dir", default="/tmp", show_default=True, help="Where Slurm writes node-run's own messages.")
@click.option(
    "--poll",
    "poll_s",
    default=5.0,
    show_default=True,
    type=click.FloatRange(0.2, 600),
    help="Seconds between passes (heartbeat, follow, claim).",
)
@click.option("--sbatch", default="sbatch", show_default=True, help="The sbatch command (a wrapper, say).")
def site_agent(
    capabilities_file: str,
    token_file: str | None,
    relay_listen: str,
    relay_url: str | None,
    node_command: str | None,
    node_env: tuple[str, ...],
    account: str | None,
    log_dir: str,
    poll_s: float,
    sbatch: str,
) -> None:
    """Run this site's agent on a login node: it calls the platform at ARENA_URL over HTTPS with
    the site credential, claims jobs that this site's partitions fit (the platform's fair queue
    decides the order), submits each to the local Slurm with sbatch, follows them with squeue and
    scontrol, renews their leases, and relays what compute nodes need (image, inputs, assets,
    predictions) so that nodes reach nothing but this login node. It needs no root, no inbound port
    from outside the site and no database. Stop it with Ctrl-C or SIGTERM; its running jobs are
    re-queued centrally once their leases lapse."""
    from arena.cli.logging_setup import setup_logging
    from arena.config import log_format
    from arena.siteagent import AgentConfig, AgentError, SiteAgent, SiteClient
    from arena.siterelay import Relay
    from arena.slurm import SlurmCli

    setup_logging(log_format())
    capabilities = _capabilities(capabilities_file)
    host, _, port = relay_listen.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter("give HOST:PORT", param_hint="--relay-listen")
    url = client_url()
    env = {"ARENA_RUNNER": capabilities["runtime"], **_pairs(node_env)}
    relay = Relay(upstream=url, host=host, port=int(port))
    config = AgentConfig(
        url=url,
        capabilities=capabilities,
        relay_url=relay_url or f"http://{host}:{relay.port}",
        node_command=node_command or _node_command(),
        node_env=env,
        account=account,
        log_dir=log_dir,
        poll_s=poll_s,
    )
    agent = SiteAgent(config, client=SiteClient(url, _token(token_file)), slurm=SlurmCli(sbatch), relay=relay)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    relay.start()
    click.echo(f"site agent: relay on {config.relay_url}; platform {url}", err=True)
    try:
        agent.run_forever(stop)
    except AgentError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        pass
    finally:
        relay.close()
