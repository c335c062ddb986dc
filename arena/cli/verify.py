"""`arena verify-set`: check a revealed hidden set against its signed commitment, offline."""

from __future__ import annotations

import json
from pathlib import Path

import click

from arena.signing import verify_statement
from hidden_sets import RevealedItem, check_revealed, check_revealed_assets


def _items(document: dict) -> list[RevealedItem]:
    return [RevealedItem(index=int(i["index"]), salt=bytes.fromhex(i["salt"]), item=i["item"].encode(),
                         proof=[bytes.fromhex(p) for p in i.get("proof", [])])
            for i in document["items"]]


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
    return problems + check_revealed(items, root=bytes.fromhex(statement["root"]),
                                     tree_size=int(statement["n_items"]))


@click.command("verify-set")
@click.argument("reveal_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--public-key", help="The platform's Ed25519 public key (base64) you trust, "
              "e.g. from /api/signing-key; default: the one in the file.")
@click.option("--root", help="The commitment root you saw published (hex), to check it is the same.")
@click.option("--assets", "assets_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A folder holding the set's assets/ (as the organiser published them): check every "
                   "asset file a revealed item references against the hash its leaf commits to.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def verify_set(reveal_file: Path, public_key: str | None, root: str | None, assets_dir: Path | None,
               as_json: bool) -> None:
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
    summary = {"ok": not problems, "challenge": statement["challenge"], "version": statement["version"],
               "root": statement["root"], "items_checked": len(document["items"]),
               "n_items": statement["n_items"], "problems": problems}
    report(summary, as_json=as_json,
           failed=f"{statement['challenge']} v{statement['version']}, root {statement['root']}",
           ok=f"{len(document['items'])} of {statement['n_items']} items of {statement['challenge']} "
              f"v{statement['version']} match root {statement['root']}, signed by the platform")


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


def _entry_problems(entries: list[dict], public_key: str) -> list[str]:
    from hidden_sets._commitment import canonical_json
    from hidden_sets._merkle import leaf_hash

    problems, previous = [], "0" * 64
    for index, entry in enumerate(entries):
        body = entry.get("body", {})
        name = f"entry {index} ({body.get('kind', '?')})"
        if body.get("seq") != index:
            problems.append(f"{name}: sequence number {body.get('seq')} where {index} was expected")
        if leaf_hash(canonical_json(body)).hex() != entry.get("leaf_hash"):
            problems.append(f"{name}: its content does not match its hash")
        if body.get("prev") != previous:
            problems.append(f"{name}: does not chain to the entry before it")
        if not verify_statement(public_key=public_key, statement=body, signature=entry.get("signature", "")):
            problems.append(f"{name}: the signature does not verify")
        previous = entry.get("leaf_hash")
    return problems


def _head_problems(document: dict, public_key: str) -> list[str]:
    from hidden_sets import TreeBuilder

    signed = document["tree_head"]
    head, problems = signed["head"], []
    if not verify_statement(public_key=public_key, statement=head, signature=signed["signature"]):
        problems.append("the tree head's signature does not verify")
    builder = TreeBuilder()
    for entry in document["entries"]:
        builder.add(bytes.fromhex(entry["leaf_hash"]))
    if head["size"] != builder.size:
        problems.append(f"the tree head counts {head['size']} entries; the export holds {builder.size}")
    elif head["root"] != builder.root().hex():
        problems.append("the tree head's root is not the root of the exported entries")
    return problems


def _board_problems(document: dict) -> list[str]:
    from arena.services.leaderboard import BOARD_KEYS, rank_results

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
    for position, (a, b) in enumerate(zip(shown, expected), start=1):
        if a != b:
            return [f"the published leaderboard differs from the logged results at line {position}: "
                    f"shows {a}, the log implies {b}"]
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
            problems.append(f"{name}: {standing['team']}'s submission {standing['submission']} has no receipt in the log")
        elif receipt["data"]["team"] != standing["team"] or receipt["data"].get("round") != report["round"] \
                or not report["opened_at"] <= receipt["at"] <= report["stopped_at"]:
            problems.append(f"{name}: {standing['team']}'s submission {standing['submission']} was not received "
                            "from that team during the round")
    return problems


def round_reports(document: dict) -> list[dict]:
    slug = document["challenge"]
    return [e["body"]["data"] for e in document["entries"]
            if e["body"].get("challenge") == slug and e["body"]["kind"] == "round.report"]


def _round_problems(document: dict) -> list[str]:
    """Every round report recomputes: its verdicts and amounts from its evidence and the rules
    logged when the challenge opened, and its submissions from the receipts."""
    from arena.services import payout

    slug = document["challenge"]
    mine = [e["body"] for e in document["entries"] if e["body"].get("challenge") == slug]
    opening = next((b["data"] for b in mine if b["kind"] == "challenge.open"), {})
    receipts = {b["data"]["submission"]: b for b in mine if b["kind"] == "submission.receipt"}
    problems = []
    for report in round_reports(document):
        cards = {b["data"]["submission"]: b["data"]["card"] for b in mine
                 if b["kind"] == "method_card" and b["at"] <= report["closed_at"]}
        if report.get("rules") != opening.get("rules"):
            problems.append(f"round {report.get('round')}: the report's rules are not those logged when "
                            f"{slug} opened")
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
            problems.append(f"result of {body['data']['submission']}: scored by {body['data'].get('scorer_image')}, "
                            f"but the log had pinned {pinned}")
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


def verify_log_document(document: dict, *, public_key: str | None = None) -> list[str]:
    key = public_key or document["public_key"]
    problems = []
    if public_key and public_key != document.get("public_key"):
        problems.append("the export names another public key than the one you trust")
    return (problems + _entry_problems(document["entries"], key) + _head_problems(document, key)
            + _board_problems(document) + _round_problems(document) + _scorer_problems(document))


@click.command("verify")
@click.argument("export_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--public-key", help="The platform's Ed25519 public key (base64) you trust; default: the file's.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def verify_log(export_file: Path, public_key: str | None, as_json: bool) -> None:
    """Check a log export (`arena log export`) offline: every entry's signature and hash, the
    chain, the signed tree head, that the published leaderboard is exactly what the logged
    results imply, and that every round's payout report recomputes: its KPI verdicts, rank bands,
    awards and eliminations from its evidence and the rules logged when the challenge opened, its
    submissions from their receipts. Exits 0 when all holds, 1 naming each thing that broke."""
    try:
        document = json.loads(export_file.read_text())
        problems = verify_log_document(document, public_key=public_key)
        round_reports(document)
    except (ValueError, KeyError, TypeError, AttributeError):
        raise click.ClickException(f"{export_file} is not an Arena log export") from None
    summary = {"ok": not problems, "challenge": document.get("challenge"),
               "entries": len(document["entries"]), "round_reports": len(round_reports(document)),
               "scorers": scorers(document), "slices": slices(document), "problems": problems}
    if not as_json and not problems:
        _print_details(summary)
    report(summary, as_json=as_json, failed=str(summary["challenge"]),
           ok=f"{summary['entries']} log entries signed and chained; the tree head matches; "
              f"the {summary['challenge']} leaderboard is exactly what the logged results imply; "
              f"{summary['round_reports']} round report(s) recompute from their evidence and the rules")
