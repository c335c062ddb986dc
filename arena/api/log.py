"""The public log: entries, checkpoints, proofs, witnesses' cosignatures, a challenge's export
for `arena verify`; and the tree as static C2SP tlog-tiles under /log/."""

from flask import Blueprint, Response, request

from arena.api._auth import platform
from arena.api._query import or_none, parse_query
from arena.api.schemas.params import ChallengeStartLimitQuery, FromToQuery, SeqSizeQuery
from arena.errors import BadRequest, NotFound, PayloadTooLarge
from arena.services import logexport, logtree, publiclog
from arena.services.challenges import describe_challenge
from arena.tlog import parse_tile_path

bp = Blueprint("api_log", __name__, url_prefix="/api")
tiles = Blueprint("log_tiles", __name__)
MAX_NOTE_BYTES = 16 * 1024


@bp.get("/log")
def entries():
    """Log entries in order (?challenge=, ?start= sequence number, ?limit= at most 1000)."""
    query = parse_query(ChallengeStartLimitQuery)
    challenge, start, limit = or_none(query.challenge) or None, query.start, query.limit
    return {
        "size": publiclog.size(platform()),
        "entries": publiclog.entries(platform(), challenge=challenge, start=start, limit=limit),
    }


@bp.get("/log/tree-head")
def tree_head():
    """The signed JSON head of the log's RFC 9162 tree: its size and root (see /log/checkpoint)."""
    return logtree.tree_head(platform())


@bp.get("/log/proof/inclusion")
def inclusion():
    """RFC 9162 inclusion proof of entry ?seq= in the tree of ?size= (default: now), with its checkpoint."""
    query = parse_query(SeqSizeQuery)
    return logtree.inclusion(platform(), seq=query.seq, tree_size=or_none(query.size))


@bp.get("/log/proof/consistency")
def consistency():
    """RFC 9162 consistency proof from the tree of ?from= to the tree of ?to= (default: now)."""
    query = parse_query(FromToQuery)
    return logtree.consistency(platform(), old=query.from_, new=or_none(query.to))


@bp.post("/log/cosignatures")
def cosignatures():
    """A witness posts the log's checkpoint with its cosignature line (text/plain, a signed note)."""
    if (request.content_length or 0) > MAX_NOTE_BYTES:
        raise PayloadTooLarge(f"a cosigned checkpoint is at most {MAX_NOTE_BYTES} bytes")
    raw = request.get_data(cache=False)[: MAX_NOTE_BYTES + 1]
    if len(raw) > MAX_NOTE_BYTES:
        raise PayloadTooLarge(f"a cosigned checkpoint is at most {MAX_NOTE_BYTES} bytes")
    try:
        note = raw.decode()
    except UnicodeDecodeError:
        raise BadRequest("a checkpoint note is UTF-8 text") from None
    return logtree.add_cosignatures(platform(), note=note), 201


@bp.get("/log/cosigned")
def cosigned():
    """For each witness, the largest checkpoint it cosigned, as notes with their cosignatures."""
    return {"checkpoints": logtree.cosigned_checkpoints(platform())}


@bp.get("/challenges/<slug>/log/export")
def export(slug: str):
    """Everything needed to check this challenge's board offline with `arena verify`."""
    describe_challenge(platform(), slug=slug)
    return logexport.document(platform(), challenge=slug)


def _text(body: str | bytes, mimetype: str, max_age: int) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = f"public, max-age={max_age}" if max_age else "no-store"
    return response


@tiles.get("/log/checkpoint")
def checkpoint():
    """The log's latest checkpoint (c2sp.org/tlog-checkpoint), with the cosignatures collected for it."""
    return _text(logtree.checkpoint(platform()), "text/plain; charset=utf-8", 0)


@tiles.get("/log/tile/<path:rest>")
def tile(rest: str):
    """A tile or an entry bundle (c2sp.org/tlog-tiles); immutable once served."""
    parsed = parse_tile_path(rest)
    if parsed is None:
        raise NotFound("not a tile path: tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>]")
    level, index, width = parsed
    if level == "entries":
        data = logtree.entry_bundle(platform(), index=index, width=width)
    else:
        data = logtree.tile(platform(), level=int(level), index=index, width=width)
    return _text(data, "application/octet-stream", 31536000)


@tiles.get("/.well-known/arena-keys.json")
def keys():
    """The platform's public keys: the log's (as a C2SP vkey too), commitments', the witnesses'."""
    return logtree.public_keys(platform())
