"""`arena verify-set`: check a revealed hidden set against its signed commitment, offline."""

from __future__ import annotations

import json
from pathlib import Path

import click

from arena.cli import logcheck
from arena.signing import verify_statement
from hidden_sets import RevealedItem, check_revealed, check_revealed_assets


def _items(document: dict) -> list[RevealedItem]:
    return [
        RevealedItem(
            index=int(i["index"]),
            salt=bytes.fromhex(i["salt"]),
            item=i["item"].encode(),
            proof=[bytes.fromhex(p) for p in i.get("proof", [])],
        )
        for i in document["items"]
    ]


def asset_problems(document: dict, folder: Path) -> list[str]:
    """Problems with the asset files in `folder` against the hashes the revealed items commit to."""
    try:
        items = [json.loads(i["item"]) for i in document["items"]]
    except (KeyError, ValueError, TypeError):
        return ["the items are not in the reveal format (index, salt, item, proof)"]
    return check_revealed_assets([i for i in items if isinstance(i, dict)], folder)


def verify_document(document: dict, *, public_key: str | None, root: str | None) -> list[str]:
    """Problems with a reveal document, one line each; empty when it checks out."""
    statement, problems = document["statement"], []
    key = public_key or document["public_key"]
    if public_key and public_key != document.get("public_key"):
        problems.append("the document names another public key than the one you trust")
    if not verify_statement(public_key=key, statement=statement, signature=document["signature"]):
        problems.append("the commitment's signature does not verify with the platform's public key")
    if root and root != statement["root"]:
        problems.append(f"the commitment's root {statement['root']} is not the root you expected")
    try:
        items = _items(document)
    except (KeyError, ValueError, TypeError):
        return [*problems, "the items are not in the reveal format (index, salt, item, proof)"]
    return problems + check_revealed(items, root=bytes.fromhex(statement["root"]), tree_size=int(statement["n_items"]))


@click.command("verify-set")
@click.argument("reveal_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--public-key",
    help="The platform's Ed25519 public key (base64) you trust, "
    "e.g. from /api/signing-key; default: the one in the file.",
)
@click.option("--root", help="The commitment root you saw published (hex), to check it is the same.")
@click.option(
    "--assets",
    "assets_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder holding the set's assets/ (as the organiser published them): check every "
    "asset file a revealed item references against the hash its leaf commits to.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def verify_set(
    reveal_file: Path, public_key: str | None, root: str | None, assets_dir: Path | None, as_json: bool
) -> None:
    """Check REVEAL_FILE (a revealed hidden set, in full or in part) against its commitment.

    Offline: checks the platform's signature on the commitment, then that every revealed item,
    with its salt, hashes into the committed RFC 6962 root (with inclusion proofs for a partial
    reveal). An item that references binary assets commits to their SHA-256 hashes; with
    --assets DIR each of those files (DIR/assets/…) is hashed and compared too. Exits 0 when
    everything checks out, 1 naming each item or asset that does not.
    """
    try:
        document = json.loads(reveal_file.read_text())
        problems = verify_document(document, public_key=public_key, root=root)
        if assets_dir is not None:
            problems += asset_problems(document, assets_dir)
        statement = document["statement"]
    except (ValueError, KeyError, TypeError):
        raise click.ClickException(f"{reveal_file} is not an Arena reveal document") from None
    summary = {
        "ok": not problems,
        "challenge": statement["challenge"],
        "version": statement["version"],
        "root": statement["root"],
        "items_checked": len(document["items"]),
        "n_items": statement["n_items"],
        "problems": problems,
    }
    report(
        summary,
        as_json=as_json,
        failed=f"{statement['challenge']} v{statement['version']}, root {statement['root']}",
        ok=f"{len(document['items'])} of {statement['n_items']} items of {statement['challenge']} "
        f"v{statement['version']} match root {statement['root']}, signed by the platform",
    )


def report(summary: dict, *, as_json: bool, failed: str, ok: str) -> None:
    """Print a verification's outcome (JSON, or one line and the problems); exit 1 on problems."""
    problems = summary["problems"]
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    elif problems:
        click.echo(f"FAILED: {failed}")
        for problem in problems:
            click.echo(f"  - {problem}")
    else:
        click.echo(f"OK: {ok}")
    if problems:
        raise SystemExit(1)


def _print_details(summary: dict) -> None:
    """Which scorer images produced the results, and each team's slices with their intervals."""
    for image in summary["scorers"]:
        click.echo(f"scorer image: {image}")
    for team, found in summary["slices"].items():
        for name, value in sorted(found.items()):
            interval = "" if value["ci_low"] is None else f" [{value['ci_low']:.4f}, {value['ci_high']:.4f}]"
            click.echo(f"slice {name} of {team}: {value['score']:.4f}{interval} ({value['n_items']} items)")


def _board_problems(document: dict) -> list[str]:
    from arena.domain.ranking import BOARD_KEYS, rank_results

    slug = document["challenge"]
    mine = [e for e in document["entries"] if e["body"].get("challenge") == slug]
    opening = next((e["body"]["data"] for e in mine if e["body"]["kind"] == "challenge.open"), None)
    if opening is None:
        return [f"the log has no opening entry for {slug}"]
    implied = rank_results(mine, higher=opening["higher_is_better"])
    shown = [{k: e.get(k) for k in BOARD_KEYS} for e in document["leaderboard"]["entries"]]
    expected = [{k: e.get(k) for k in BOARD_KEYS} for e in implied]
    if shown == expected:
        return []
    for position, (a, b) in enumerate(zip(shown, expected, strict=False), start=1):
        if a != b:
            return [
                f"the published leaderboard differs from the logged results at line {position}: "
                f"shows {a}, the log implies {b}"
            ]
    return [f"the published leaderboard has {len(shown)} entries; the log implies {len(expected)}"]


def _receipt_problems(report: dict, receipts: dict[str, dict], cards: dict[str, dict]) -> list[str]:
    """Each counted submission was received, from its team, inside the round's window; and its
    open-source flag is what its method card, as logged, says."""
    problems, name = [], f"round {report['round']}"
    for standing in report["standings"]:
        if not standing["submission"]:
            continue
        card = cards.get(standing["submission"])
        if "open_source" in standing and standing["open_source"] != bool((card or {}).get("open_source")):
            problems.append(f"{name}: {standing['team']}'s open_source is not what its logged method card says")
        receipt = receipts.get(standing["submission"])
        if receipt is None:
            problems.append(
                f"{name}: {standing['team']}'s submission {standing['submission']} has no receipt in the log"
            )
        elif (
            receipt["data"]["team"] != standing["team"]
            or receipt["data"].get("round") != report["round"]
            or not report["opened_at"] <= receipt["at"] <= report["stopped_at"]
        ):
            problems.append(
                f"{name}: {standing['team']}'s submission {standing['submission']} was not received "
                "from that team during the round"
            )
    return problems


def round_reports(document: dict) -> list[dict]:
    slug = document["challenge"]
    return [
        e["body"]["data"]
        for e in document["entries"]
        if e["body"].get("challenge") == slug and e["body"]["kind"] == "round.report"
    ]


def _round_problems(document: dict) -> list[str]:
    """Every round report recomputes: its verdicts and amounts from its evidence and the rules
    logged when the challenge opened, and its submissions from the receipts."""
    from arena.domain import payout

    slug = document["challenge"]
    mine = [e["body"] for e in document["entries"] if e["body"].get("challenge") == slug]
    opening: dict = next((b["data"] for b in mine if b["kind"] == "challenge.open"), {})
    receipts = {b["data"]["submission"]: b for b in mine if b["kind"] == "submission.receipt"}
    problems = _addition_problems(mine, opening)
    for report in round_reports(document):
        cards = {
            b["data"]["submission"]: b["data"]["card"]
            for b in mine
            if b["kind"] == "method_card" and b["at"] <= report["closed_at"]
        }
        rules, added = rules_in_force(mine, opening, report.get("round"))
        if report.get("rules") != rules:
            problems.append(
                f"round {report.get('round')}: the report's rules are not those in force when it "
                f"opened (logged when {slug} opened, or with the round's addition)"
            )
        elif added is not None and added["at"] > report["opened_at"]:
            problems.append(
                f"round {report.get('round')}: its rules were logged at {added['at']}, after it "
                f"opened at {report['opened_at']}"
            )
        found = payout.problems(report)
        problems += found or _receipt_problems(report, receipts, cards)
    return problems


def _scorer_problems(document: dict) -> list[str]:
    """A challenge scored by a scoring container: each result names the scorer image (by digest)
    that the log had pinned for the challenge when the result was logged."""
    slug, pinned, problems = document["challenge"], None, []
    for entry in document["entries"]:
        body = entry["body"]
        if body.get("challenge") != slug:
            continue
        if body["kind"] == "challenge.open":
            pinned = (body["data"].get("scorer") or {}).get("image")
        elif body["kind"] == "challenge.scorer":
            pinned = body["data"]["scorer_image"]
        elif body["kind"] == "result" and body["data"].get("scorer_image") != pinned:
            problems.append(
                f"result of {body['data']['submission']}: scored by {body['data'].get('scorer_image')}, "
                f"but the log had pinned {pinned}"
            )
    return problems


def scorers(document: dict) -> list[str]:
    """The scorer images the log pinned for the challenge, in order."""
    slug, found = document["challenge"], []
    for entry in document["entries"]:
        body = entry["body"]
        if body.get("challenge") == slug and body["kind"] == "challenge.open" and body["data"].get("scorer"):
            found.append(body["data"]["scorer"]["image"])
        elif body.get("challenge") == slug and body["kind"] == "challenge.scorer":
            found.append(body["data"]["scorer_image"])
    return found


def slices(document: dict) -> dict[str, dict]:
    """Each board entry's slices, as logged with its released result."""
    return {e["team"]: e["slices"] for e in document["leaderboard"]["entries"] if e.get("slices")}


def rules_in_force(mine: list[dict], opening: dict, number) -> tuple[dict | None, dict | None]:
    """The rules of round `number`: those of the `rounds.add` entry that added it (and that
    entry), else those logged when the challenge opened (and None)."""
    for body in mine:
        if body["kind"] == "rounds.add" and any(r["number"] == number for r in body["data"]["rounds"]):
            return body["data"], body
    return opening.get("rules"), None


def _addition_problems(mine: list[dict], opening: dict) -> list[str]:
    """Rounds are only ever appended: each addition numbers its rounds on from the last one."""
    numbers = [r["number"] for r in (opening.get("rules") or {}).get("rounds", [])]
    problems = []
    for body in (b for b in mine if b["kind"] == "rounds.add"):
        added = [r["number"] for r in body["data"]["rounds"]]
        expected = list(range(max(numbers, default=0) + 1, max(numbers, default=0) + 1 + len(added)))
        if added != expected:
            problems.append(f"entry {body['seq']} (rounds.add): adds rounds {added}, not the next ones {expected}")
        numbers += added
    return problems


def check_log(
    document: dict,
    *,
    public_key: str | None = None,
    witnesses: list | None = None,
    min_witnesses: int = 0,
    state: dict | None = None,
    receipts: dict[str, dict] | None = None,
) -> tuple[list[str], logcheck.Log]:
    """Every check of a log export, in order; the problems and what was learnt (tree, witnessed size)."""
    key = public_key or document["public_key"]
    problems = []
    if public_key and public_key != document.get("public_key"):
        problems.append("the export names another public key than the one you trust")
    log = logcheck.Log(entries=document["entries"])
    note_key = logcheck.log_key(document, key)
    problems += logcheck.entry_problems(log, key) + logcheck.head_problems(document, log, key)
    problems += logcheck.checkpoint_problems(document, log, note_key) + logcheck.commitment_problems(document, log, key)
    problems += logcheck.witness_problems(document, log, note_key, witnesses or [], min_witnesses)
    problems += logcheck.state_problems(state, log)
    if receipts is not None:
        problems += logcheck.receipt_problems(receipts, log, key)
    return problems + _board_problems(document) + _round_problems(document) + _scorer_problems(document), log


def verify_log_document(document: dict, *, public_key: str | None = None, **checks) -> list[str]:
    return check_log(document, public_key=public_key, **checks)[0]


def _witness_keys(values: tuple[str, ...]) -> list:
    from arena.tlog import COSIGNATURE_V1, NoteError, parse_vkey

    keys = []
    for value in values:
        text = Path(value).read_text().strip() if Path(value).is_file() else value
        try:
            key = parse_vkey(text)
        except NoteError as error:
            raise click.BadParameter(str(error), param_hint="--witness") from None
        if key.alg != COSIGNATURE_V1:
            raise click.BadParameter(f"{key.name}: not a cosigner key (type 0x04)", param_hint="--witness")
        keys.append(key)
    return keys


def _kept(folder: Path | None) -> dict[str, dict] | None:
    """The receipts and signed results kept under `folder` (any *.json, recursively), by file name."""
    if folder is None:
        return None
    kept = {}
    for path in sorted(folder.rglob("*.json")):
        try:
            kept[str(path.relative_to(folder))] = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            kept[str(path.relative_to(folder))] = {}
    return kept


def _read_state(path: Path | None) -> dict | None:
    if path is None or not path.exists():
        return None
    try:
        state = json.loads(path.read_text())
        int(state["size"]), bytes.fromhex(state["root"])
    except (ValueError, KeyError, TypeError):
        raise click.ClickException(f"{path} is not an arena verify state file") from None
    return state


def _write_state(path: Path, log) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps({"size": log.tree.size, "root": log.tree.root().hex()}) + "\n")
    temporary.replace(path)


@click.command("verify")
@click.argument("export_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--public-key", help="The platform's Ed25519 public key (base64) you trust; default: the file's.")
@click.option(
    "--witness",
    "witness_values",
    multiple=True,
    metavar="VKEY",
    help="A witness you trust: its verifier key (name+id+base64, as `arena witness --show-key` "
    "prints it) or a file holding it. Repeat for several.",
)
@click.option(
    "--min-witnesses",
    type=click.IntRange(min=0),
    default=None,
    help="How many of the --witness keys must have cosigned a checkpoint this log extends (default: all of them).",
)
@click.option(
    "--receipts",
    "receipts_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder of receipts and signed results you kept (arena submit keeps them under "
    "$XDG_STATE_HOME/arena/receipts): prove each is in the log, or name the one missing.",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file remembering the last checkpoint verified: refuse a log that does not extend "
    "it; updated when all checks pass.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def verify_log(
    export_file: Path,
    public_key: str | None,
    witness_values: tuple[str, ...],
    min_witnesses: int | None,
    receipts_dir: Path | None,
    state_file: Path | None,
    as_json: bool,
) -> None:
    """Check a log export (`arena log export`) offline.

    Every entry's format, signature, hash and chain, that times never go backwards and that every
    result names a root its challenge logged; the signed tree head and checkpoint; that the
    published leaderboard is exactly what the logged results imply; that every round's payout
    report recomputes from its evidence and the rules in force when the round opened (logged when
    the challenge opened, or with the round's addition, before it opened), its submissions from
    their receipts. With
    --witness, that enough witnesses cosigned a checkpoint this log extends (a rewritten log, or
    one shown to others differently, fails); with --receipts, that each kept receipt is in the
    log; with --state, that the log extends the one verified last time. Exits 0 when all holds,
    1 naming each thing that broke.
    """
    witnesses, minimum = _witnesses(witness_values, min_witnesses)
    kept = _kept(receipts_dir)
    document, problems, log = _check_export(
        export_file,
        public_key=public_key,
        witnesses=witnesses,
        minimum=minimum,
        state=_read_state(state_file),
        kept=kept,
    )
    if state_file is not None and not problems:
        _write_state(state_file, log)
    summary = _summary(document, log, problems, kept)
    if not as_json and not problems:
        _print_details(summary)
    extra = (f"; {minimum} witness(es) cosigned its first {log.witnessed} entries" if minimum else "") + (
        f"; {summary['receipts']} kept receipt(s) proven in the log" if receipts_dir else ""
    )
    report(
        summary,
        as_json=as_json,
        failed=str(summary["challenge"]),
        ok=f"{summary['entries']} log entries signed and chained; the tree head matches; "
        f"the {summary['challenge']} leaderboard is exactly what the logged results imply; "
        f"{summary['round_reports']} round report(s) recompute from their evidence and the rules{extra}",
    )


def _witnesses(values: tuple[str, ...], min_witnesses: int | None) -> tuple[list, int]:
    """The witness keys trusted (--witness) and how many of them must have cosigned."""
    witnesses = _witness_keys(values)
    minimum = len(witnesses) if min_witnesses is None else min_witnesses
    if minimum > len(witnesses):
        raise click.BadParameter(f"{minimum} witnesses required, {len(witnesses)} given", param_hint="--min-witnesses")
    return witnesses, minimum


def _check_export(
    path: Path, *, public_key: str | None, witnesses: list, minimum: int, state: dict | None, kept: dict | None
) -> tuple[dict, list[str], logcheck.Log]:
    """The export read and checked: (document, problems, the log as checked)."""
    try:
        document = json.loads(path.read_text())
        problems, log = check_log(
            document, public_key=public_key, witnesses=witnesses, min_witnesses=minimum, state=state, receipts=kept
        )
        round_reports(document)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise click.ClickException(f"{path} is not an Arena log export") from None
    return document, problems, log


def _summary(document: dict, log: logcheck.Log, problems: list[str], kept: dict | None) -> dict:
    return {
        "ok": not problems,
        "challenge": document.get("challenge"),
        "entries": len(document["entries"]),
        "round_reports": len(round_reports(document)),
        "witnessed_size": log.witnessed,
        "receipts": len(kept or {}),
        "scorers": scorers(document),
        "slices": slices(document),
        "problems": problems,
    }
