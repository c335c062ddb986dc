"""The OpenAPI 3.1 description of the JSON API under /api, served at GET /api/openapi.json.

Built from plain dicts by `build_spec`. Every route under /api is described (a test checks it
against the app's URL map), with the bodies the views accept and the answers they give: success,
and every error status a route can return. Errors are always {"error": {"code", "message"}}.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from flask import Blueprint

bp = Blueprint("api_openapi", __name__, url_prefix="/api")

Schema = dict[str, Any]


@bp.get("/openapi.json")
def openapi():
    return build_spec()


# -- schema helpers --------------------------------------------------------------------------------
def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(
    properties: dict[str, Schema],
    *,
    required: list[str] | None = None,
    closed: bool = True,
    description: str | None = None,
) -> Schema:
    """An object; every property required unless `required` says otherwise; `closed`: no others."""
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }
    if closed:
        schema["additionalProperties"] = False
    if description:
        schema["description"] = description
    return schema


def _nullable(schema: Schema) -> Schema:
    """The same schema, or JSON null (OpenAPI 3.1: a type list)."""
    out = dict(schema)
    kind = out.get("type")
    out["type"] = [*(kind if isinstance(kind, list) else [kind]), "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
BOOLEAN: Schema = {"type": "boolean"}
TIMESTAMP: Schema = {
    "type": "string",
    "format": "date-time",
    "description": "UTC, ISO 8601 with a trailing Z, e.g. 2026-11-25T14:57:28Z",
}
HEX64: Schema = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
BINARY: Schema = {"type": "string", "format": "binary"}
SUBMISSION_STATUSES = ["queued", "running", "scored", "failed"]
FAILURE_REASONS = [
    "timeout",
    "out_of_memory",
    "crashed",
    "invalid_output",
    "output_too_large",
    "not_ready",
    "infrastructure",
    "scorer_failed",
]


def _summary_properties() -> dict[str, Schema]:
    """`challenge_summary` in arena/services/challenges.py."""
    return {
        "slug": STRING,
        "title": STRING,
        "description": STRING,
        "metric": STRING,
        "limits": {
            "type": "object",
            "description": "the sandbox limits of every run",
            "properties": {
                "time_limit_seconds": INTEGER,
                "memory_mb": INTEGER,
                "cpus": NUMBER,
                "pids": INTEGER,
                "gpus": INTEGER,
            },
            "additionalProperties": NUMBER,
        },
        "daily_quota": {"type": "integer", "minimum": 1},
        "max_pending": {"type": "integer", "minimum": 1},
        "registration": {
            "type": "string",
            "enum": ["open", "approval"],
            "description": "open: any team may take part; approval: the organiser decides",
        },
        "public_fraction": {
            "type": "number",
            "exclusiveMinimum": 0,
            "exclusiveMaximum": 1,
            "description": "share of hidden items on the public board (the rest rank the round's close)",
        },
        "count_failures": {
            "type": "boolean",
            "description": "whether a model's own failures use up the daily quota (platform failures never do)",
        },
        "rules": {"anyOf": [_ref("Rules"), {"type": "null"}]},
        "secondary_metrics": {
            "type": "array",
            "items": STRING,
            "description": "shown beside the primary metric; only the primary ranks and pays",
        },
        "protocol": {
            "type": "string",
            "enum": ["batch", "interactive", "agent"],
            "description": "batch: /input to /output (docs/container-protocol.md); interactive: a "
            "chat API on /run/arena/model.sock (docs/interactive-protocol.md); agent: "
            "the same, with tools acting in an environment per item (docs/agent-protocol.md)",
        },
        "environment": _nullable(
            _obj(
                {
                    "tools": {"type": "array", "items": STRING},
                    "workdir": STRING,
                    "network": {"type": "string", "enum": ["none"]},
                    "limits": {"type": "object", "additionalProperties": NUMBER},
                    "image_digest": _nullable(STRING),
                },
                description="an agent challenge's environment: its tools, per-item limits and pinned image",
            )
        ),
        "higher_is_better": BOOLEAN,
        "scorer": _nullable(
            _obj(
                {
                    "image": {"type": "string", "description": "the scorer image's digest (sha256:…)"},
                    "aggregation": {"type": "string", "enum": ["mean", "ratio"]},
                    "range": {"type": "array", "items": NUMBER, "minItems": 2, "maxItems": 2},
                    "secondary": {"type": "array", "items": STRING},
                },
                description="the organiser's scoring container (docs/scorer-protocol.md); null: the built-in metric",
            )
        ),
        "platforms": {
            "type": "array",
            "items": {"type": "string", "enum": ["linux/amd64", "linux/arm64"]},
            "description": "what the challenge's images may be built for",
        },
        "gpu_vendors": {
            "type": "array",
            "items": {"type": "string", "enum": ["nvidia", "amd"]},
            "description": "GPU vendors its GPU jobs may run on",
        },
        "teams": {"type": "integer", "minimum": 0, "description": "teams that have submitted"},
    }


def _round_schemas() -> dict[str, Schema]:
    """Rounds, rules and payout reports: arena/services/rules.py, rounds.py and payout.py."""
    differences = _obj(
        {
            "values": {"type": "array", "items": NUMBER},
            "counts": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        },
        description="the multiset of per-item differences (positive: the first is "
        "better on that item), all a paired bootstrap needs",
    )
    cents = {"type": "integer", "minimum": 0, "description": "euro cents"}
    minutes = {"type": "integer", "minimum": 0, "description": "GPU-minutes of priority access"}
    factory_award = _obj(
        {
            "factory": STRING,
            "share": {"type": "string", "description": "declared share, exact"},
            "cents": cents,
            "gpu_minutes": minutes,
        }
    )
    verdicts = ["met", "missed", "no_submission", "no_baseline", "none"]
    standing = _obj(
        {
            "position": _nullable(INTEGER),
            "team": STRING,
            "submission": _nullable(STRING),
            "score": _nullable(NUMBER),
            "ci_low": _nullable(NUMBER),
            "ci_high": _nullable(NUMBER),
            "kpi": {"type": "string", "enum": verdicts},
            "p_value": _nullable(NUMBER),
            "improvement": _nullable(NUMBER),
            "qualifies": BOOLEAN,
            "band": _nullable(INTEGER),
            "open_source": BOOLEAN,
            "cents": cents,
            "gpu_minutes": minutes,
            "factories": {"type": "array", "items": factory_award},
            "misses": {"type": "integer", "minimum": 0},
            "eliminated": BOOLEAN,
        }
    )
    standing["required"] = [k for k in standing["required"] if k != "open_source"]  # reports before method cards
    evidence = _obj(
        {
            "team": STRING,
            "submission": _nullable(STRING),
            "score": _nullable(NUMBER),
            "ci_low": _nullable(NUMBER),
            "ci_high": _nullable(NUMBER),
            "factories": {"type": "array", "items": {"type": "array", "items": STRING, "minItems": 2, "maxItems": 2}},
            "misses_before": {"type": "integer", "minimum": 0},
            "vs_baseline": _nullable(differences),
            "open_source": {"type": "boolean", "description": "the counted submission's method card says open source"},
            "slices": {
                "type": "object",
                "description": "each labelled slice's {score, ci_low, ci_high, n_items} on "
                "the private split (slices of at least 30 items); shown, never ranked or paid",
                "additionalProperties": {"type": "object"},
            },
        }
    )
    evidence["required"] = [k for k in evidence["required"] if k not in ("open_source", "slices")]
    round_rule = _obj(
        {
            "number": INTEGER,
            "name": STRING,
            "start": _nullable(TIMESTAMP),
            "end": TIMESTAMP,
            "pool_cents": cents,
            "pool_gpu_minutes": minutes,
        }
    )
    summary = {
        "number": INTEGER,
        "name": STRING,
        "status": {"type": "string", "enum": ["upcoming", "open", "closing", "closed"]},
        "opens_at": TIMESTAMP,
        "ends_at": TIMESTAMP,
        "closed_at": _nullable(TIMESTAMP),
        "pool_cents": cents,
        "pool_gpu_minutes": minutes,
        "paid_cents": _nullable(INTEGER),
        "paid_gpu_minutes": _nullable(INTEGER),
        "stopped_at": _nullable(TIMESTAMP),
        "stopped_early": BOOLEAN,
        "added": {"type": "boolean", "description": "added to the running challenge (its rules logged then)"},
    }
    baseline = {
        "type": "object",
        "description": "a fixed score, or a team of the organiser's",
        "properties": {"score": NUMBER, "team": STRING},
        "additionalProperties": False,
    }
    return {
        "Rules": _obj(
            {
                "rounds": {"type": "array", "items": round_rule},
                "kpi": _nullable(_obj({"baseline": baseline, "alpha": NUMBER, "eliminate_after": _nullable(INTEGER)})),
                "rewards": _obj(
                    {
                        "rule": {
                            "type": "string",
                            "enum": ["winner_take_all", "rank_shares", "rank_band_split", "proportional"],
                        },
                        "shares": {"type": "array", "items": STRING},
                        "require_open_source": BOOLEAN,
                    },
                    required=["rule", "shares"],
                ),
                "resamples": INTEGER,
            },
            description="rounds, KPI and reward rules, fixed when the challenge was created",
        ),
        "RoundSummary": _obj(summary),
        "RoundList": _obj(
            {
                "challenge": STRING,
                "rules": {
                    "anyOf": [_ref("Rules"), {"type": "null"}],
                    "description": "the rules in force: of the open round, else the next, else the last",
                },
                "opening_rules": {
                    "anyOf": [_ref("Rules"), {"type": "null"}],
                    "description": "the rules logged when the challenge opened",
                },
                "rounds": {"type": "array", "items": _ref("RoundSummary")},
            }
        ),
        "RoundsAdded": _obj(
            {
                "challenge": STRING,
                "rules": _ref("Rules"),
                "opening_rules": _ref("Rules"),
                "rounds": {"type": "array", "items": _ref("RoundSummary")},
                "added": {"type": "array", "items": _ref("RoundSummary")},
                "log_entry": _obj({"seq": INTEGER, "leaf_hash": STRING, "signature": STRING}),
            }
        ),
        "Round": _obj({"challenge": STRING, **summary}),
        "RoundReport": _obj(
            {
                "format": {"type": "string", "const": "arena.round-report/v1"},
                "challenge": STRING,
                "round": INTEGER,
                "name": STRING,
                "opened_at": TIMESTAMP,
                "ends_at": TIMESTAMP,
                "stopped_at": TIMESTAMP,
                "closed_early": BOOLEAN,
                "closed_at": TIMESTAMP,
                "metric": STRING,
                "higher_is_better": BOOLEAN,
                "hidden_set": _nullable(STRING),
                "hidden_set_root": _nullable(STRING),
                "rules": _ref("Rules"),
                "pool": _obj({"cents": cents, "gpu_minutes": minutes}),
                "baseline": _nullable(
                    _obj({"score": _nullable(NUMBER), "team": _nullable(STRING), "submission": _nullable(STRING)})
                ),
                "teams": {"type": "array", "items": evidence},
                "pairs": {
                    "type": "array",
                    "items": _obj({"better": STRING, "worse": STRING, "differences": differences}),
                },
                "standings": {"type": "array", "items": standing},
                "pair_tests": {
                    "type": "array",
                    "items": _obj({"better": STRING, "worse": STRING, "p_value": NUMBER, "tied": BOOLEAN}),
                },
                "totals": _obj({"cents": cents, "gpu_minutes": minutes}),
            }
        ),
        "SignedRoundReport": _obj(
            {
                "report": _ref("RoundReport"),
                "log_entry": _obj(
                    {
                        "seq": INTEGER,
                        "leaf_hash": HEX64,
                        "signature": {"type": "string", "description": "Ed25519, base64"},
                    },
                    description="the public-log entry whose data is this report",
                ),
            }
        ),
        "Readmitted": _obj({"challenge": STRING, "team": STRING, "status": STRING}),
    }


def _schemas() -> dict[str, Schema]:
    token_view = {
        "id": INTEGER,
        "role": {"type": "string", "enum": ["organiser", "team", "administrator"]},
        "team_id": _nullable(INTEGER),
        "organiser_id": _nullable(INTEGER),
        "label": _nullable(STRING),
        "created_at": TIMESTAMP,
        "expires_at": _nullable(TIMESTAMP),
        "revoked_at": _nullable(TIMESTAMP),
    }
    submission: dict[str, Schema] = {
        "id": {"type": "string", "description": "sub- and 16 hex digits"},
        "kind": {"type": "string", "enum": ["hidden", "sample"]},
        "challenge": {"type": "string", "description": "the challenge's slug"},
        "team": {"type": "string", "description": "the team's name"},
        "image_digest": {"type": "string", "description": "sha256: and the tarball's SHA-256"},
        "status": {"type": "string", "enum": SUBMISSION_STATUSES},
        "score": _nullable(NUMBER),
        "failure_reason": _nullable({"type": "string", "enum": FAILURE_REASONS}),
        "failure_detail": _nullable(STRING),
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "attempts": {
            "type": "array",
            "items": _ref("Attempt"),
            "description": "each evaluation job; shown to organisers only",
        },
        "selected": {"type": "boolean", "description": "chosen by the team for the final ranking"},
        "results": {
            "type": "array",
            "description": "every split's score, private included; shown to organisers only",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["split", "score", "ci_low", "ci_high", "n_items", "released", "hidden_set_root"],
                "properties": {
                    "split": {"type": "string", "enum": ["public", "private", "sample"]},
                    "score": {"type": "number"},
                    "ci_low": {"type": ["number", "null"]},
                    "ci_high": {"type": ["number", "null"]},
                    "n_items": {"type": "integer"},
                    "released": {"type": ["boolean", "null"]},
                    "hidden_set_root": {"type": ["string", "null"]},
                },
            },
        },
        "method_card": {
            "type": ["object", "null"],
            "description": "what the team says this entry is",
            "properties": {
                "name": STRING,
                "description": STRING,
                "code_url": _nullable(STRING),
                "licence": _nullable(STRING),
                "open_source": BOOLEAN,
            },
        },
        "released": {
            "type": ["boolean", "null"],
            "description": "hidden runs once scored: whether the Ladder released the public score "
            "(score is null when it did not: no better than the team's best beyond noise)",
        },
        "log_reads": {
            "type": "array",
            "description": "each read of this hidden run's log by its organisers (or the administrator): "
            "when, by which organisation, and why (GET of one submission only)",
            "items": _ref("LogRead"),
        },
        "receipt": {
            "anyOf": [{"$ref": "#/components/schemas/LogEntry"}, {"type": "null"}],
            "description": "the signed public-log entry recording this submission (hidden runs; null for a sample run)",
        },
        "receipt_entry": {
            "type": ["object", "null"],
            "additionalProperties": False,
            "required": ["seq", "leaf_hash"],
            "properties": {"seq": {"type": "integer"}, "leaf_hash": {"type": "string"}},
            "description": "in a team's listing: where its receipt is in the public log (null: a sample run)",
        },
        "secondary": {
            "type": ["object", "null"],
            "description": "the secondary metrics' {score, ci_low, ci_high} (a metric null where it could not "
            "score): a sample run's; a hidden run's on the public split, beside a released score",
        },
        "signed_results": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/LogEntry"},
            "description": "the submission's signed result entries in the public log",
        },
    }
    statement = {
        "type": "object",
        "description": "the signed commitment statement",
        "properties": {
            "type": {"type": "string", "const": "arena.hidden-set-commitment/v1"},
            "challenge": STRING,
            "hidden_set": STRING,
            "version": INTEGER,
            "n_items": INTEGER,
            "root": HEX64,
            "tree": STRING,
            "leaf": STRING,
            "committed_at": _nullable(TIMESTAMP),
            "n_assets": {"type": "integer", "minimum": 0, "description": "binary asset files in the set"},
            "v": {"type": "integer", "const": 2, "description": "format 2: signed over RFC 8785 bytes"},
        },
    }
    return {
        "Error": _obj(
            {
                "error": _obj(
                    {
                        "code": {
                            "type": "string",
                            "description": "e.g. bad_request, "
                            "unauthorized, forbidden, not_found, conflict, "
                            "payload_too_large, request_entity_too_large, "
                            "quota_exceeded, rate_limited",
                        },
                        "message": {"type": "string", "description": "safe to show"},
                    }
                )
            }
        ),
        "Health": _obj({"status": {"type": "string", "const": "ok"}}),
        "SigningKey": _obj(
            {
                "algorithm": {"type": "string", "const": "Ed25519"},
                "public_key": {"type": "string", "description": "the log's key, base64"},
                "key_id": {"type": "string", "description": "first 8 hex digits of SHA-256 of the key"},
                "commitment_key": {"type": "string", "description": "the key signing commitments, base64"},
                "commitment_key_id": STRING,
            }
        ),
        "Me": _obj(
            {
                "role": {"type": "string", "enum": ["organiser", "team", "administrator"]},
                "id": INTEGER,
                "name": STRING,
            }
        ),
        "Token": _obj(token_view),
        "NewToken": _obj({**token_view, "token": {"type": "string", "description": "shown once"}}),
        "TokenList": _obj({"tokens": {"type": "array", "items": _ref("Token")}}),
        "AuditEvent": _obj(
            {
                "id": INTEGER,
                "at": TIMESTAMP,
                "actor": STRING,
                "action": STRING,
                "target": _nullable(STRING),
                "detail": _nullable({"type": "object"}),
            }
        ),
        "AuditTrail": _obj({"events": {"type": "array", "items": _ref("AuditEvent")}}),
        "ChallengeSummary": _obj(_summary_properties()),
        "ChallengeList": _obj({"challenges": {"type": "array", "items": _ref("ChallengeSummary")}}),
        "Statement": statement,
        "Commitment": _obj(
            {
                "version": INTEGER,
                "n_items": INTEGER,
                "root": _nullable(HEX64),
                "statement": {"anyOf": [_ref("Statement"), {"type": "null"}]},
                "signature": _nullable({"type": "string", "description": "Ed25519, base64"}),
                "public_key": {"type": "string", "description": "base64"},
                "revealed": BOOLEAN,
            }
        ),
        "Challenge": _obj(
            {
                **_summary_properties(),
                "hidden_set_version": {"type": "integer", "minimum": 1},
                "n_items": INTEGER,
                "has_sample": BOOLEAN,
                "n_assets": {"type": "integer", "minimum": 0, "description": "binary asset files in the set"},
                "n_sample_assets": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "binary asset files in the sample (GET sample/assets.tar)",
                },
                "commitment": _ref("Commitment"),
            }
        ),
        "ChallengeCreated": _obj(
            {
                "slug": STRING,
                "hidden_set": STRING,
                "n_items": INTEGER,
                "n_sample_items": INTEGER,
                "root": HEX64,
                "n_assets": {"type": "integer", "minimum": 0, "description": "binary asset files in the hidden set"},
                "n_sample_assets": {"type": "integer", "minimum": 0, "description": "binary asset files in the sample"},
            }
        ),
        "VersionCreated": _obj(
            {
                "slug": STRING,
                "version": {"type": "integer", "minimum": 2},
                "hidden_set": STRING,
                "n_items": INTEGER,
                "root": HEX64,
                "n_assets": {"type": "integer", "minimum": 0},
            }
        ),
        "RevealResult": _obj({"hidden_set": STRING, "version": INTEGER, "items": INTEGER, "complete": BOOLEAN}),
        "RevealDocument": _obj(
            {
                "format": {"type": "string", "const": "arena.hidden-set-reveal/v1"},
                "statement": {"anyOf": [_ref("Statement"), {"type": "null"}]},
                "signature": _nullable(STRING),
                "public_key": STRING,
                "complete": BOOLEAN,
                "items": {
                    "type": "array",
                    "items": _obj(
                        {
                            "index": {"type": "integer", "minimum": 0},
                            "salt": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                            "item": {
                                "type": "string",
                                "description": "canonical JSON of {id, input, label}",
                            },
                            "proof": {
                                "type": "array",
                                "items": HEX64,
                                "description": "RFC 6962 inclusion proof; only in partial reveals",
                            },
                        },
                        required=["index", "salt", "item"],
                    ),
                },
            }
        ),
        "LeaderboardEntry": _obj(
            {
                "rank": {"type": "integer", "minimum": 1},
                "team": STRING,
                "factories": {"type": "array", "items": STRING},
                "score": NUMBER,
                "submission_id": STRING,
                "ci_low": _nullable(NUMBER),
                "ci_high": _nullable(NUMBER),
                "rank_band": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "best possible rank: 1 + entries whose interval beats this one's",
                },
                "method_card": {"type": ["object", "null"], "description": "the entry's method card, from the log"},
                "secondary": {
                    "type": ["object", "null"],
                    "description": "each secondary metric's "
                    "{score, ci_low, ci_high} on the public split (null where it could not score)",
                    "additionalProperties": {"type": ["object", "null"]},
                },
                "slices": {
                    "type": "object",
                    "description": "only where labels carry slices: each labelled slice's {score, ci_low, "
                    "ci_high, n_items} on the public split, for slices of at least 30 items; shown, "
                    "never ranked",
                    "additionalProperties": {"type": "object"},
                },
            },
            required=[
                "rank",
                "team",
                "factories",
                "score",
                "submission_id",
                "ci_low",
                "ci_high",
                "rank_band",
                "method_card",
                "secondary",
            ],
        ),
        "Leaderboard": _obj(
            {
                "challenge": STRING,
                "title": STRING,
                "metric": STRING,
                "secondary_metrics": {"type": "array", "items": STRING},
                "higher_is_better": BOOLEAN,
                "entries": {"type": "array", "items": _ref("LeaderboardEntry")},
            }
        ),
        "Attempt": _obj(
            {
                "job": STRING,
                "attempt": {"type": "integer", "minimum": 1},
                "status": {"type": "string", "enum": ["queued", "running", "done", "failed"]},
                "outcome": _nullable(STRING),
                "error": _nullable(STRING),
                "exit_code": _nullable(INTEGER),
                "duration_s": _nullable(NUMBER),
                "executor": {"type": "string", "enum": ["local", "slurm", "site"]},
                "external_id": {"type": ["string", "null"], "description": "the Slurm job id"},
                "site": {"type": ["string", "null"], "description": "the site whose agent ran it"},
                "started_at": _nullable(TIMESTAMP),
                "finished_at": _nullable(TIMESTAMP),
            }
        ),
        "NodeJob": _obj(
            {
                "job": STRING,
                "kind": {"type": "string", "enum": ["hidden", "sample"]},
                "image_id": STRING,
                "max_output_bytes": INTEGER,
                "runtime": _nullable(STRING),
                "image_digest": STRING,
                "challenge": STRING,
                "metric": STRING,
                "limits": _obj(
                    {
                        "time_limit_seconds": NUMBER,
                        "memory_mb": INTEGER,
                        "cpus": NUMBER,
                        "pids": INTEGER,
                        "gpus": INTEGER,
                    }
                ),
                "protocol": {"type": "string", "enum": ["batch", "interactive", "agent"]},
                "session": _nullable(
                    _obj(
                        {"startup_s": NUMBER, "request_s": NUMBER, "max_answer_bytes": INTEGER, "concurrency": INTEGER}
                    )
                ),
                "staged_bytes": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "inputs and assets, to size the job's memory folder",
                },
                "folder_bytes": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "the size to give the job's memory folder: staged files and output room",
                },
                "assets": {"type": "boolean", "description": "whether to fetch /assets"},
                "environment": _nullable(
                    {
                        "type": "object",
                        "description": (
                            "an agent job's environment (image_id, image_digest, tools, workdir, limits, agent limits; "
                            "no score command): fetch /environment-image, run each item's environment here and send "
                            "each item's final state back as final_states"
                        ),
                    }
                ),
            }
        ),
        "NodeResultAccepted": _obj({"job": STRING, "recorded": BOOLEAN}),
        "SiteHeartbeat": _obj({"site": STRING, "capabilities": {"type": "object"}}),
        "SiteClaim": _obj(
            {
                "job": STRING,
                "partition": STRING,
                "node_token": STRING,
                "lease_s": NUMBER,
                "time_seconds": INTEGER,
                "cpus": INTEGER,
                "memory_mb": INTEGER,
                "gpus": INTEGER,
                "gpu_vendor": _nullable(STRING),
                "architecture": STRING,
            }
        ),
        "SiteRenewed": _obj(
            {"running": {"type": "array", "items": STRING}, "stopped": {"type": "array", "items": STRING}}
        ),
        "SiteEnded": _obj({"job": STRING, "requeued": BOOLEAN}),
        "ChallengeQueue": _obj(
            {
                "jobs": {
                    "type": "array",
                    "items": _obj(
                        {
                            "job": STRING,
                            "submission": STRING,
                            "status": {"type": "string", "enum": ["queued", "running"]},
                            "executor": STRING,
                            "site": _nullable(STRING),
                            "created_at": TIMESTAMP,
                            "waiting_reason": _nullable(STRING),
                        }
                    ),
                }
            }
        ),
        "LogEntry": _obj(
            {
                "body": _obj(
                    {
                        "v": {"type": "integer", "const": 2, "description": "format 2: RFC 8785 bytes; absent before"},
                        "seq": {"type": "integer", "minimum": 0},
                        "kind": STRING,
                        "challenge": _nullable(STRING),
                        "at": TIMESTAMP,
                        "prev": {"type": "string", "description": "leaf hash of the entry before (64 zeros first)"},
                        "data": {"type": "object"},
                    },
                    required=["seq", "kind", "challenge", "at", "prev", "data"],
                ),
                "leaf_hash": {"type": "string", "description": "SHA-256(0x00 || canonical bytes of body), hex"},
                "signature": {"type": "string", "description": "Ed25519 over the canonical bytes of body, base64"},
            }
        ),
        "TeamHistory": _obj(
            {
                "challenge": STRING,
                "team": STRING,
                "released": {
                    "type": "array",
                    "items": _obj({"at": TIMESTAMP, "score": NUMBER, "submission_id": STRING}),
                },
            }
        ),
        "LogEntries": _obj({"size": INTEGER, "entries": {"type": "array", "items": _ref("LogEntry")}}),
        "TreeHead": _obj(
            {
                "head": _obj(
                    {
                        "v": {"type": "integer", "const": 2},
                        "type": STRING,
                        "size": INTEGER,
                        "root": STRING,
                        "at": TIMESTAMP,
                    }
                ),
                "signature": STRING,
                "public_key": STRING,
            }
        ),
        "LogExport": _obj(
            {
                "format": {"type": "string", "const": "arena.log-export/v2"},
                "challenge": STRING,
                "public_key": STRING,
                "log_key": {"type": "string", "description": "the log's C2SP verifier key"},
                "entries": {"type": "array", "items": _ref("LogEntry")},
                "tree_head": _ref("TreeHead"),
                "checkpoint": {"type": "string", "description": "the signed checkpoint note of these entries"},
                "cosigned": {"type": "array", "items": STRING, "description": "cosigned checkpoint notes"},
                "commitments": {"type": "array", "items": _ref("Commitment")},
                "leaderboard": _ref("Leaderboard"),
            }
        ),
        "InclusionProof": _obj(
            {
                "seq": INTEGER,
                "size": INTEGER,
                "leaf_hash": HEX64,
                "proof": {"type": "array", "items": HEX64},
                "checkpoint": STRING,
            }
        ),
        "ConsistencyProof": _obj(
            {
                "from": INTEGER,
                "to": INTEGER,
                "proof": {"type": "array", "items": HEX64},
                "old_checkpoint": STRING,
                "new_checkpoint": STRING,
            }
        ),
        "CosignaturesKept": _obj({"size": INTEGER, "witnesses": {"type": "array", "items": STRING}}),
        "CosignedCheckpoints": _obj({"checkpoints": {"type": "array", "items": STRING}}),
        "Submission": _obj(
            submission,
            required=[
                k
                for k in submission
                if k
                not in ("attempts", "receipt", "results", "log_reads", "receipt_entry", "secondary", "signed_results")
            ],
        ),
        "LogRead": _obj({"at": TIMESTAMP, "organisation": STRING, "reason": STRING}),
        "HiddenLog": _obj(
            {
                "id": STRING,
                "kind": {"type": "string", "enum": ["hidden"]},
                "status": {"type": "string", "enum": SUBMISSION_STATUSES},
                "failure_reason": _nullable({"type": "string", "enum": FAILURE_REASONS}),
                "failure_detail": _nullable(STRING),
                "log": _nullable(STRING),
                "scorer_log": {
                    **_nullable(STRING),
                    "description": "what the scoring container printed, if the challenge has one",
                },
                "read": _ref("LogRead"),
            }
        ),
        "Organiser": _obj({"id": INTEGER, "name": STRING}),
        "ChallengeOrganisers": _obj(
            {
                "challenge": STRING,
                "owner": _ref("Organiser"),
                "co_organisers": {
                    "type": "array",
                    "items": _obj({"id": INTEGER, "name": STRING, "added_at": TIMESTAMP}),
                },
            }
        ),
        "SubmissionList": _obj(
            {
                "submissions": {"type": "array", "items": _ref("Submission"), "maxItems": 500},
                "team": STRING,
                "quotas": {
                    "type": "array",
                    "description": "a team's runs left today, per challenge and kind",
                    "items": _obj(
                        {
                            "challenge": STRING,
                            "registration": STRING,
                            "kind": {"type": "string", "enum": ["hidden", "sample"]},
                            "used": INTEGER,
                            "left": INTEGER,
                            "quota": INTEGER,
                            "resets_at": TIMESTAMP,
                        }
                    ),
                },
            },
            required=["submissions"],
        ),
        "CanSubmit": _obj(
            {
                "challenge": STRING,
                "kind": {"type": "string", "enum": ["hidden", "sample"]},
                "ok": BOOLEAN,
                "reason": _nullable(STRING),
                "status": INTEGER,
                "retry_after": _nullable(STRING),
                "quota": _obj({"daily": INTEGER, "used": INTEGER, "left": INTEGER, "resets_at": TIMESTAMP}),
                "pending": INTEGER,
                "max_pending": INTEGER,
                "round": _nullable(STRING),
            },
            required=["challenge", "kind", "ok", "reason", "status", "retry_after", "quota", "pending", "max_pending"],
            description="the pre-flight: whether the team may submit now, and the reason if not",
        ),
        "TeamList": _obj(
            {
                "teams": {
                    "type": "array",
                    "items": _obj(
                        {
                            "id": INTEGER,
                            "team": STRING,
                            "created_at": TIMESTAMP,
                            "factories": {
                                "type": "array",
                                "items": _obj({"factory": STRING, "share": NUMBER, "percent": STRING}),
                            },
                            "registrations": {
                                "type": "array",
                                "items": _obj({"challenge": STRING, "status": STRING, "kpi_misses": INTEGER}),
                            },
                        }
                    ),
                }
            }
        ),
        "SubmissionLog": _obj(
            {
                "id": STRING,
                "kind": {"type": "string", "enum": ["hidden", "sample"]},
                "status": {"type": "string", "enum": SUBMISSION_STATUSES},
                "failure_reason": _nullable({"type": "string", "enum": FAILURE_REASONS}),
                "failure_detail": _nullable(STRING),
                "log": _nullable(STRING),
                "scorer_log": {
                    **_nullable(STRING),
                    "description": "organisers only: what the scoring container printed",
                },
            },
            required=["id", "kind", "status", "log"],
        ),
        "TeamCreated": _obj(
            {
                "team": STRING,
                "id": INTEGER,
                "token": {"type": "string", "description": "shown once"},
            }
        ),
        "Registration": _obj(
            {
                "challenge": STRING,
                "team_id": INTEGER,
                "team": STRING,
                "status": {"type": "string", "enum": ["approved", "pending", "refused", "eliminated"]},
                "created_at": TIMESTAMP,
                "decided_at": _nullable(TIMESTAMP),
            }
        ),
        "RegistrationList": _obj({"registrations": {"type": "array", "items": _ref("Registration")}}),
        "Upload": _obj(
            {
                "id": STRING,
                "size": {"type": "integer", "minimum": 1},
                "sha256": HEX64,
                "received": {"type": "integer", "minimum": 0},
                "complete": BOOLEAN,
                "image_digest": _nullable(STRING),
            }
        ),
        **_round_schemas(),
    }


# -- operations ------------------------------------------------------------------------------------
ERRORS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    413: "PayloadTooLarge",
    429: "TooManyRequests",
}


def _responses() -> dict[str, Any]:
    error = {"application/json": {"schema": _ref("Error")}}
    retry = {
        "Retry-After": {
            "description": "seconds to wait",
            "schema": {"type": "integer", "minimum": 1},
        }
    }
    offset = {
        "Upload-Offset": {
            "description": "the bytes the server has; send from there (absent when the upload is complete already)",
            "schema": {"type": "integer", "minimum": 0},
        }
    }
    return {
        "BadRequest": {"description": "invalid request (the message says what)", "content": error},
        "Unauthorized": {
            "description": "missing, unknown, revoked or expired token",
            "content": error,
        },
        "Forbidden": {
            "description": "a token of the wrong role, or not the owner",
            "content": error,
        },
        "NotFound": {"description": "no such resource (or not one you may see)", "content": error},
        "Conflict": {"description": "conflicts with the current state", "content": error},
        "UploadConflict": {
            "description": "not at the offset the server has, or the upload is incomplete, or complete already",
            "headers": offset,
            "content": error,
        },
        "PayloadTooLarge": {
            "description": "the request or upload is larger than allowed",
            "content": error,
        },
        "TooManyRequests": {
            "description": "too many requests from this team or organiser (rate_limited), or "
            "the daily quota, the pending submissions or the room for uploads not yet "
            "submitted spent (quota_exceeded)",
            "headers": retry,
            "content": error,
        },
    }


def _upload_conflicts(op: dict) -> dict:
    op["responses"]["409"] = {"$ref": "#/components/responses/UploadConflict"}
    return op


def _json(schema: Schema, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _op(
    op_id: str,
    tag: str,
    summary: str,
    ok: dict[int, dict],
    errors: tuple[int, ...] = (),
    *,
    roles: tuple[str, ...] = (),
    parameters: list | None = None,
    body: dict | None = None,
) -> dict:
    """One operation. `roles` empty: public (no token); else a bearer token of one of the roles."""
    responses: dict[str, Any] = {str(status): answer for status, answer in ok.items()}
    if roles:  # authenticated (401), rate-limited per team or organiser (429), and maybe the wrong role (403)
        errors = tuple(sorted({*errors, 401, 429} | ({403} if set(roles) != {"organiser", "team"} else set())))
    for status in errors:
        responses[str(status)] = {"$ref": f"#/components/responses/{ERRORS[status]}"}
    op: dict[str, Any] = {
        "operationId": op_id,
        "tags": [tag],
        "summary": summary,
        "responses": responses,
        "security": [{"bearerAuth": []}] if roles else [],
    }
    if roles:
        op["x-arena-roles"] = list(roles)
    if parameters:
        op["parameters"] = parameters
    if body:
        op["requestBody"] = body
    return op


def _path_param(name: str, schema: Schema | None = None, description: str = "") -> dict:
    param = {"name": name, "in": "path", "required": True, "schema": schema or STRING}
    if description:
        param["description"] = description
    return param


SLUG = {**_path_param("slug", description="the challenge's slug"), "example": "gpu-faults"}


def _site_op(
    op_id: str,
    summary: str,
    ok: dict,
    errors: tuple[int, ...] = (400, 401),
    body: dict | None = None,
    job: bool = False,
) -> dict:
    """An operation for `arena site-agent`: the bearer is a site credential."""
    params = [_path_param("job_id", description="job- and 16 hex digits")] if job else None
    op = _op(op_id, "sites", summary, ok, errors, parameters=params, body=body)
    op["security"] = [{"siteCredential": []}]
    op["x-arena-roles"] = ["site"]
    return op


def _node_op(op_id: str, summary: str, ok: dict, errors: tuple[int, ...] = (401,), body: dict | None = None) -> dict:
    """An operation for `arena node-run`: the bearer is a one-job node credential, not a token."""
    op = _op(
        op_id,
        "nodes",
        summary,
        ok,
        errors,
        parameters=[_path_param("job_id", description="job- and 16 hex digits")],
        body=body,
    )
    op["security"] = [{"nodeCredential": []}]
    op["x-arena-roles"] = ["node"]
    return op


ROUND_PARAM = {
    "name": "round",
    "in": "query",
    "required": False,
    "description": "the round's number; default the latest closed round",
    "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
}
SUBMISSION_ID = _path_param("submission_id", description="sub- and 16 hex digits")
UPLOAD_ID = _path_param("upload_id", description="up- and 20 hex digits")


def _json_body(schema: Schema, description: str = "") -> dict:
    body = {"required": True, "content": {"application/json": {"schema": schema}}}
    if description:
        body["description"] = description
    return body


def _multipart(parts: list[str], required: list[str], description: str) -> dict:
    return {
        "required": True,
        "description": description,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {name: BINARY for name in parts},
                    "required": required,
                    "additionalProperties": False,
                },
            }
        },
    }


def _paths() -> dict[str, Any]:
    submission = _ref("Submission")
    upload = _ref("Upload")
    reveal_body = {
        "type": "object",
        "description": 'reveal all items ({"all": true}) or the items named ({"ids": [...]}); '
        'optional "version" (default the newest)',
        "properties": {
            "all": {"description": "true (and no ids): reveal every item"},
            "ids": _nullable({"type": "array", "items": STRING, "minItems": 1}),
            "version": _nullable({"type": "integer", "minimum": 1}),
        },
        "anyOf": [
            {
                "required": ["ids"],
                "properties": {"ids": {"type": "array", "items": STRING, "minItems": 1}},
            },
            {"required": ["all"], "properties": {"all": {"const": True}, "ids": {"type": "null"}}},
        ],
    }
    return {
        "/api/openapi.json": {
            "get": _op(
                "openapi",
                "meta",
                "This document",
                {200: _json({"type": "object"}, "the OpenAPI document")},
            )
        },
        "/api/health": {"get": _op("health", "meta", "Liveness", {200: _json(_ref("Health"), "alive")})},
        "/api/log": {
            "get": _op(
                "logEntries",
                "log",
                "Public log entries in order",
                {200: _json(_ref("LogEntries"), "the entries")},
                (400,),
                parameters=[
                    {"name": "challenge", "in": "query", "required": False, "schema": STRING},
                    {
                        "name": "start",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0, "maximum": 2147483647},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0, "maximum": 1000},
                    },
                ],
            )
        },
        "/api/log/tree-head": {
            "get": _op(
                "logTreeHead",
                "log",
                "The signed head of the log's Merkle tree",
                {200: _json(_ref("TreeHead"), "the signed head")},
            )
        },
        "/api/log/proof/inclusion": {
            "get": _op(
                "logInclusionProof",
                "log",
                "RFC 9162 inclusion proof of an entry, with its checkpoint",
                {200: _json(_ref("InclusionProof"), "the proof")},
                (400,),
                parameters=[
                    {"name": "seq", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 0}},
                    {"name": "size", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}},
                ],
            )
        },
        "/api/log/proof/consistency": {
            "get": _op(
                "logConsistencyProof",
                "log",
                "RFC 9162 consistency proof between two tree sizes",
                {200: _json(_ref("ConsistencyProof"), "the proof")},
                (400,),
                parameters=[
                    {"name": "from", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 0}},
                    {"name": "to", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 0}},
                ],
            )
        },
        "/api/log/cosignatures": {
            "post": _op(
                "logCosign",
                "log",
                "A witness's cosignature on one of the log's checkpoints",
                {201: _json(_ref("CosignaturesKept"), "the witnesses whose cosignatures were kept")},
                (400, 403, 413),
                body={
                    "required": True,
                    "content": {"text/plain": {"schema": STRING}},
                    "description": "the log's checkpoint note with cosignature lines (c2sp.org/tlog-cosignature)",
                },
            )
        },
        "/api/log/cosigned": {
            "get": _op(
                "logCosigned",
                "log",
                "Each witness's largest cosigned checkpoint",
                {200: _json(_ref("CosignedCheckpoints"), "the cosigned checkpoint notes")},
            )
        },
        "/api/challenges/{slug}/log/export": {
            "get": _op(
                "logExport",
                "log",
                "The log and the published board, for `arena verify`",
                {200: _json(_ref("LogExport"), "the export")},
                (404,),
                parameters=[SLUG],
            )
        },
        "/api/signing-key": {
            "get": _op(
                "signingKey",
                "meta",
                "The platform's Ed25519 public key",
                {200: _json(_ref("SigningKey"), "the key")},
            )
        },
        "/api/me": {
            "get": _op(
                "me",
                "meta",
                "Who the token belongs to",
                {200: _json(_ref("Me"), "the token's owner")},
                roles=("organiser", "team", "administrator"),
            )
        },
        "/api/tokens": {
            "get": _op(
                "listTokens",
                "tokens",
                "The tokens you may revoke (yours; an organiser's: also its teams'), never the secrets",
                {200: _json(_ref("TokenList"), "the tokens")},
                roles=("organiser", "team", "administrator"),
            ),
            "post": _op(
                "createToken",
                "tokens",
                "A new token, shown once",
                {201: _json(_ref("NewToken"), "the token")},
                (400, 403, 404),
                roles=("organiser", "team", "administrator"),
                body=_json_body(
                    {
                        "type": "object",
                        "properties": {
                            "label": {"type": "string", "description": "kept to 100 characters"},
                            "days": _nullable(
                                {
                                    "type": "integer",
                                    "minimum": 1,
                                    "maximum": 3650,
                                    "description": "expiry; none: never",
                                }
                            ),
                            "team_id": _nullable(
                                {
                                    "type": "integer",
                                    "description": "a token for this team: the team, the organiser that "
                                    "created it, or the administrator",
                                }
                            ),
                        },
                    }
                ),
            ),
        },
        "/api/tokens/{token_id}": {
            "delete": _op(
                "revokeToken",
                "tokens",
                "Revoke a token you may make (yours; an organiser: its teams'; the administrator: any)",
                {200: _json(_ref("Token"), "the revoked token")},
                (404,),
                roles=("organiser", "team", "administrator"),
                parameters=[_path_param("token_id", {"type": "integer", "minimum": 0})],
            ),
        },
        "/api/audit": {
            "get": _op(
                "audit",
                "meta",
                "The latest state-changing actions, newest first",
                {200: _json(_ref("AuditTrail"), "at most 200 events")},
                roles=("organiser", "administrator"),
            )
        },
        "/api/challenges": {
            "get": _op(
                "listChallenges",
                "challenges",
                "Every challenge, newest first",
                {200: _json(_ref("ChallengeList"), "the challenges")},
            ),
            "post": _op(
                "createChallenge",
                "challenges",
                "Create a challenge from a bundle",
                {201: _json(_ref("ChallengeCreated"), "created")},
                (400, 409, 413),
                roles=("organiser",),
                body=_multipart(
                    [
                        "challenge.yaml",
                        "inputs.jsonl",
                        "labels.jsonl",
                        "sample/inputs.jsonl",
                        "sample/labels.jsonl",
                        "assets.tar",
                        "sample/assets.tar",
                    ],
                    ["challenge.yaml", "inputs.jsonl", "labels.jsonl"],
                    "one file part per bundle file, named by its path, and each assets/ folder as one "
                    "uncompressed tar (docs/challenge-bundle.md)",
                ),
                parameters=[
                    {
                        "name": "scorer_digest",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"},
                        "description": "with a `scorer:` in challenge.yaml: the digest of the scorer "
                        "image, uploaded first through /api/uploads",
                    }
                ],
            ),
        },
        "/api/challenges/{slug}/scorer": {
            "put": _op(
                "setScorer",
                "challenges",
                "Pin a new scorer image (the challenge's own organiser); logged",
                {200: _json(_obj({"slug": STRING, "scorer_image": STRING}), "pinned")},
                (400, 404),
                roles=("organiser",),
                parameters=[SLUG],
                body=_json_body(
                    {"type": "object", "required": ["image_digest"], "properties": {"image_digest": {"type": "string"}}}
                ),
            ),
        },
        "/api/challenges/{slug}": {
            "get": _op(
                "getChallenge",
                "challenges",
                "A challenge, with the commitment of its newest hidden-set version",
                {200: _json(_ref("Challenge"), "the challenge")},
                (404,),
                parameters=[SLUG],
            ),
        },
        "/api/site/heartbeat": {
            "post": _site_op(
                "siteHeartbeat",
                "The site's capabilities (partitions, architectures, GPUs, runtime)",
                {200: _json(_ref("SiteHeartbeat"), "recorded")},
                body=_json_body(_obj({"capabilities": {"type": "object"}})),
            ),
        },
        "/api/site/claim": {
            "post": _site_op(
                "siteClaim",
                "The next job that one of the site's partitions fits",
                {
                    200: _json(_ref("SiteClaim"), "a job, with its node credential"),
                    204: {"description": "no job waits that this site can run"},
                },
            ),
        },
        "/api/site/renew": {
            "post": _site_op(
                "siteRenew",
                "These jobs' Slurm jobs still live: extend their leases, in one call",
                {200: _json(_ref("SiteRenewed"), "renewed, and those the platform no longer runs")},
                (400, 401, 404),
                body=_json_body(
                    _obj(
                        {"jobs": {"type": "object", "maxProperties": 10000, "additionalProperties": _nullable(STRING)}}
                    )
                ),
            ),
        },
        "/api/site/jobs/{job_id}/ended": {
            "post": _site_op(
                "siteEnded",
                "The job's Slurm job ended without a result: re-queue it",
                {200: _json(_ref("SiteEnded"), "re-queued (or its result came first)")},
                (400, 401, 404),
                body=_json_body(_obj({"state": STRING})),
                job=True,
            ),
        },
        "/api/challenges/{slug}/queue": {
            "get": _op(
                "challengeQueue",
                "challenges",
                "Queued and running jobs; why a queued one waits (the challenge's organisers)",
                {200: _json(_ref("ChallengeQueue"), "the jobs")},
                (404,),
                roles=("organiser", "administrator"),
                parameters=[SLUG],
            ),
        },
        "/api/node/jobs/{job_id}": {
            "get": _node_op(
                "nodeJob", "The job's spec (its node credential only)", {200: _json(_ref("NodeJob"), "the spec")}
            ),
        },
        "/api/node/jobs/{job_id}/image": {
            "get": _node_op(
                "nodeImage",
                "The submission's image tarball",
                {200: {"description": "a `docker save` tarball", "content": {"application/x-tar": {"schema": BINARY}}}},
            ),
        },
        "/api/node/jobs/{job_id}/environment-image": {
            "get": _node_op(
                "nodeEnvironmentImage",
                "An agent job's environment image tarball",
                {200: {"description": "a `docker save` tarball", "content": {"application/x-tar": {"schema": BINARY}}}},
                (401, 404),
            ),
        },
        "/api/node/jobs/{job_id}/inputs": {
            "get": _node_op(
                "nodeInputs",
                "The job's inputs, decrypted as they stream",
                {200: {"description": "inputs.jsonl", "content": {"application/jsonl": {"schema": STRING}}}},
            ),
        },
        "/api/node/jobs/{job_id}/assets": {
            "get": _node_op(
                "nodeAssets",
                "The job's binary assets, decrypted as they stream",
                {
                    200: {
                        "description": "an uncompressed tar of assets/…",
                        "content": {"application/x-tar": {"schema": BINARY}},
                    }
                },
            ),
        },
        "/api/node/jobs/{job_id}/result": {
            "post": _node_op(
                "nodeResult",
                "The container's outcome and predictions, scored centrally",
                {200: _json(_ref("NodeResultAccepted"), "scored and recorded")},
                (400, 401, 413),
                body={
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "verdict": {"type": "string", "enum": ["exited", "timeout", "out_of_memory"]},
                                    "exit_code": STRING,
                                    "duration_s": STRING,
                                    "output_too_large": {"type": "string", "enum": ["true", "false"]},
                                    "session_reason": {
                                        "type": "string",
                                        "enum": ["not_ready", "timeout", "invalid_answer", "model_stopped"],
                                    },
                                    "session_detail": STRING,
                                    "predictions": BINARY,
                                    "log": BINARY,
                                    "trajectory": {**BINARY, "description": "an agent run's trajectory"},
                                    "final_states": {
                                        "type": "array",
                                        "items": BINARY,
                                        "description": (
                                            "an agent run's items' final states, gzipped tars named "
                                            "item-N.tar.gz, scored centrally"
                                        ),
                                    },
                                },
                                "required": ["verdict"],
                            }
                        }
                    },
                },
            ),
        },
        "/api/challenges/{slug}/rounds": {
            "get": _op(
                "listRounds",
                "rounds",
                "The rounds, their state and pools, and the rules",
                {200: _json(_ref("RoundList"), "the schedule")},
                (404,),
                parameters=[SLUG],
            ),
            "post": _op(
                "addRounds",
                "rounds",
                "Append rounds (and, for them only, a KPI and reward rules) to a running challenge",
                {201: _json(_ref("RoundsAdded"), "the schedule, the rounds added and the signed log entry")},
                (400, 404),
                roles=("organiser", "administrator"),
                parameters=[SLUG],
                body=_json_body(
                    {
                        "type": "object",
                        "required": ["rounds"],
                        "properties": {
                            "rounds": {"type": "array"},
                            "kpi": {"type": ["object", "null"]},
                            "rewards": {"type": "object"},
                        },
                    },
                    "as in challenge.yaml; kpi and rewards left out: those in force go on",
                ),
            ),
        },
        "/api/challenges/{slug}/can-submit": {
            "get": _op(
                "canSubmit",
                "submissions",
                "The pre-flight: may this team submit now, and if not, why",
                {200: _json(_ref("CanSubmit"), "the answer (ok false with the reason)")},
                (400, 404),
                roles=("team",),
                parameters=[
                    SLUG,
                    {
                        "name": "kind",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["hidden", "sample"]},
                    },
                ],
            ),
        },
        "/api/challenges/{slug}/rounds/close": {
            "post": _op(
                "closeRound",
                "rounds",
                "Close the current round (early only when asked); it closes once its runs have finished",
                {200: _json(_ref("Round"), "the round, closing or closed")},
                (400, 404, 409),
                roles=("organiser", "administrator"),
                parameters=[SLUG],
                body={
                    "required": False,
                    "content": {"application/json": {"schema": {"type": "object", "properties": {"early": BOOLEAN}}}},
                },
            ),
        },
        "/api/challenges/{slug}/rewards": {
            "get": _op(
                "getRewards",
                "rounds",
                "A closed round's signed payout report",
                {200: _json(_ref("SignedRoundReport"), "the report and its log entry")},
                (400, 404),
                parameters=[SLUG, ROUND_PARAM],
            ),
        },
        "/api/challenges/{slug}/rewards.csv": {
            "get": _op(
                "getRewardsCsv",
                "rounds",
                "A closed round's payout, a line per team and factory",
                {200: {"description": "CSV", "content": {"text/csv": {"schema": STRING}}}},
                (400, 404),
                parameters=[SLUG, ROUND_PARAM],
            ),
        },
        "/api/challenges/{slug}/teams/{team}/readmit": {
            "post": _op(
                "readmitTeam",
                "rounds",
                "Let an eliminated team take part again",
                {200: _json(_ref("Readmitted"), "re-admitted")},
                (400, 404, 409),
                roles=("organiser", "administrator"),
                parameters=[SLUG, _path_param("team", description="the team's name")],
            ),
        },
        "/api/challenges/{slug}/leaderboard": {
            "get": _op(
                "leaderboard",
                "challenges",
                "Each team's best scored submission, ranked",
                {200: _json(_ref("Leaderboard"), "the leaderboard")},
                (404,),
                parameters=[SLUG],
            ),
        },
        "/api/challenges/{slug}/reveal": {
            "post": _op(
                "reveal",
                "challenges",
                "Publish hidden items with their salts (the challenge's own organiser)",
                {201: _json(_ref("RevealResult"), "published")},
                (400, 404, 409),
                roles=("organiser", "administrator"),
                parameters=[SLUG],
                body=_json_body(reveal_body),
            ),
            "get": _op(
                "getReveal",
                "challenges",
                "The published reveal document",
                {200: _json(_ref("RevealDocument"), "the reveal document")},
                (400, 404),
                parameters=[
                    SLUG,
                    {
                        "name": "version",
                        "in": "query",
                        "required": False,
                        "description": "the hidden-set version; default the newest revealed",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                    },
                ],
            ),
        },
        "/api/challenges/{slug}/sample/{name}": {
            "get": _op(
                "getSample",
                "challenges",
                "A file of the public sample set",
                {
                    200: {
                        "description": "the file: JSON lines, or for assets.tar an uncompressed tar of assets/…",
                        "content": {"application/jsonl": {"schema": STRING}, "application/x-tar": {"schema": BINARY}},
                    }
                },
                (404,),
                parameters=[
                    SLUG,
                    _path_param("name", {"type": "string", "enum": ["inputs.jsonl", "labels.jsonl", "assets.tar"]}),
                ],
            ),
        },
        "/api/challenges/{slug}/submissions": {
            "post": _op(
                "submit",
                "submissions",
                "Submit an image: a `docker save` tarball, or the digest of an image the team uploaded before",
                {
                    200: _json(submission, "an earlier request with this Idempotency-Key made it"),
                    201: _json(submission, "queued"),
                },
                (400, 404, 409, 413, 429),
                roles=("team",),
                parameters=[
                    SLUG,
                    {
                        "name": "kind",
                        "in": "query",
                        "required": False,
                        "schema": {
                            "type": "string",
                            "enum": ["hidden", "sample"],
                            "default": "hidden",
                        },
                        "description": "hidden: scored on the hidden set; sample: a debug run",
                    },
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 100},
                        "description": "1-100 printable characters; a retry returns the first submission",
                    },
                ],
                body={
                    "required": True,
                    "content": {
                        "application/x-tar": {"schema": BINARY},
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["image_digest"],
                                "properties": {"image_digest": {"type": "string"}},
                            }
                        },
                    },
                },
            ),
        },
        "/api/challenges/{slug}/registration": {
            "post": _op(
                "register",
                "challenges",
                "Take part: approved at once where registration is open, pending the organiser's approval otherwise",
                {201: _json(_ref("Registration"), "the team's registration (new or earlier)")},
                (404,),
                roles=("team",),
                parameters=[SLUG],
            ),
        },
        "/api/challenges/{slug}/registrations": {
            "get": _op(
                "listRegistrations",
                "challenges",
                "The teams registered (the challenge's own organiser)",
                {200: _json(_ref("RegistrationList"), "the registrations")},
                (404,),
                roles=("organiser", "administrator"),
                parameters=[SLUG],
            ),
        },
        "/api/challenges/{slug}/registrations/{team_id}": {
            "post": _op(
                "decideRegistration",
                "challenges",
                "Approve or refuse a team's registration (the challenge's own organiser)",
                {200: _json(_ref("Registration"), "the decided registration")},
                (400, 404, 409),
                roles=("organiser", "administrator"),
                parameters=[SLUG, _path_param("team_id", {"type": "integer", "minimum": 0})],
                body=_json_body({"type": "object", "required": ["approve"], "properties": {"approve": BOOLEAN}}),
            ),
        },
        "/api/challenges/{slug}/environment": {
            "put": _op(
                "setEnvironment",
                "challenges",
                "An agent challenge's environment image (its own organiser): stored by digest and pinned",
                {200: _json(_obj({"slug": STRING, "image_digest": STRING}), "pinned")},
                (400, 403, 404, 409, 413),
                roles=("organiser",),
                parameters=[SLUG],
                body={
                    "required": True,
                    "content": {"application/octet-stream": {"schema": BINARY}},
                    "description": "the `docker save` tarball of the environment's image",
                },
            ),
        },
        "/api/challenges/{slug}/versions": {
            "post": _op(
                "addVersion",
                "challenges",
                "A new hidden-set version (the challenge's own organiser)",
                {201: _json(_ref("VersionCreated"), "created")},
                (400, 404, 409, 413),
                roles=("organiser", "administrator"),
                parameters=[SLUG],
                body=_multipart(
                    ["inputs.jsonl", "labels.jsonl", "assets.tar"],
                    ["inputs.jsonl", "labels.jsonl"],
                    "the new version's inputs and labels, and its assets/ as an uncompressed tar",
                ),
            ),
        },
        "/api/submissions": {
            "get": _op(
                "listSubmissions",
                "submissions",
                "Submissions, newest first (a team: its own)",
                {200: _json(_ref("SubmissionList"), "at most 500")},
                (404,),
                roles=("organiser", "team", "administrator"),
                parameters=[
                    {
                        "name": "challenge",
                        "in": "query",
                        "required": False,
                        "schema": STRING,
                        "description": "only this challenge's",
                    }
                ],
            ),
        },
        "/api/submissions/{submission_id}": {
            "get": _op(
                "getSubmission",
                "submissions",
                "A submission (organisers also see its attempts)",
                {200: _json(submission, "the submission")},
                (404,),
                roles=("organiser", "team", "administrator"),
                parameters=[SUBMISSION_ID],
            ),
        },
        "/api/submissions/{submission_id}/method-card": {
            "put": _op(
                "setMethodCard",
                "submissions",
                "Describe this entry (public, logged, on the board) until its round stops taking submissions",
                {200: _json(_ref("Submission"), "the submission")},
                (400, 404, 409),
                roles=("team",),
                parameters=[SUBMISSION_ID],
                body=_json_body(
                    _obj(
                        {
                            "name": STRING,
                            "description": STRING,
                            "code_url": _nullable(STRING),
                            "licence": _nullable(STRING),
                            "open_source": BOOLEAN,
                        },
                        required=["name"],
                    )
                ),
            )
        },
        "/api/submissions/{submission_id}/selection": {
            "post": _op(
                "selectSubmission",
                "submissions",
                "Choose whether this submission counts for the final (private) ranking (at most two)",
                {200: _json(_ref("Submission"), "the submission")},
                (400, 404, 409),
                roles=("team",),
                parameters=[SUBMISSION_ID],
                body=_json_body(_obj({"selected": BOOLEAN})),
            )
        },
        "/api/challenges/{slug}/leaderboard.csv": {
            "get": _op(
                "leaderboardCsv",
                "challenges",
                "The leaderboard as CSV",
                {200: {"description": "CSV with a header row", "content": {"text/csv": {"schema": STRING}}}},
                (404,),
                parameters=[SLUG],
            )
        },
        "/api/challenges/{slug}/teams/{team}/history": {
            "get": _op(
                "teamHistory",
                "challenges",
                "A team's released public scores over time",
                {200: _json(_ref("TeamHistory"), "the history")},
                (404,),
                parameters=[SLUG, _path_param("team", description="the team's name")],
            )
        },
        "/api/submissions/{submission_id}/log": {
            "get": _op(
                "getLog",
                "submissions",
                "The container output of the last attempt (teams: sample runs only)",
                {200: _json(_ref("SubmissionLog"), "the log")},
                (403, 404),
                roles=("organiser", "team", "administrator"),
                parameters=[SUBMISSION_ID],
            ),
        },
        "/api/submissions/{submission_id}/log-reads": {
            "post": _op(
                "readHiddenLog",
                "submissions",
                "Read a hidden run's log with a reason (the challenge's organisers, the administrator): "
                "audited, and shown to the team",
                {201: _json(_ref("HiddenLog"), "the log, and the read as recorded")},
                (400, 404),
                roles=("organiser", "administrator"),
                parameters=[SUBMISSION_ID],
                body=_json_body(_obj({"reason": {"type": "string", "minLength": 10, "maxLength": 500}})),
            ),
        },
        "/api/challenges/{slug}/organisers": {
            "get": _op(
                "listOrganisers",
                "challenges",
                "The challenge's owner and co-organisers",
                {200: _json(_ref("ChallengeOrganisers"), "who runs it")},
                (404,),
                roles=("organiser", "administrator"),
                parameters=[SLUG],
            ),
            "post": _op(
                "addOrganiser",
                "challenges",
                "Add a co-organiser (the owner; audited)",
                {201: _json(_ref("ChallengeOrganisers"), "who runs it now")},
                (400, 404, 409),
                roles=("organiser", "administrator"),
                parameters=[SLUG],
                body=_json_body(_obj({"organiser": {"type": "string", "description": "its name"}})),
            ),
        },
        "/api/challenges/{slug}/organisers/{organiser_id}": {
            "delete": _op(
                "removeOrganiser",
                "challenges",
                "Remove a co-organiser (the owner; audited)",
                {200: _json(_ref("ChallengeOrganisers"), "who runs it now")},
                (404,),
                roles=("organiser", "administrator"),
                parameters=[SLUG, _path_param("organiser_id", {"type": "integer", "minimum": 0})],
            ),
        },
        "/api/submissions/{submission_id}/trajectory": {
            "get": _op(
                "getTrajectory",
                "submissions",
                "An agent run's messages and tool calls (the challenge's organisers and the administrator, "
                "audited; teams: sample runs only)",
                {
                    200: {
                        "description": "the trajectory, one JSON object a line (docs/agent-protocol.md)",
                        "content": {"application/jsonl": {"schema": STRING}},
                    }
                },
                (403, 404, 409),
                roles=("organiser", "team", "administrator"),
                parameters=[SUBMISSION_ID],
            ),
        },
        "/api/submissions/{submission_id}/predictions": {
            "get": _op(
                "getPredictions",
                "submissions",
                "The predictions of a sample run",
                {
                    200: {
                        "description": "the predictions file, one JSON object a line",
                        "content": {"application/jsonl": {"schema": STRING}},
                    }
                },
                (403, 404),
                roles=("organiser", "team", "administrator"),
                parameters=[SUBMISSION_ID],
            ),
        },
        "/api/teams": {
            "get": _op(
                "listTeams",
                "teams",
                "Every team, its factories and shares, and its registrations in your challenges",
                {200: _json(_ref("TeamList"), "the teams")},
                (),
                roles=("organiser",),
            ),
            "post": _op(
                "createTeam",
                "teams",
                "Create a team; its token is shown once",
                {201: _json(_ref("TeamCreated"), "created")},
                (400, 409),
                roles=("organiser",),
                body=_json_body(
                    {
                        "type": "object",
                        "required": ["name"],
                        "properties": {
                            "name": {
                                "type": "string",
                                "description": "1-100 characters: letters, digits, _, spaces and . , ' & ( ) -",
                            },
                            "factories": {
                                "type": "array",
                                "items": STRING,
                                "description": "NAME or NAME:SHARE; default one factory named after the team",
                            },
                        },
                    }
                ),
            ),
        },
        "/api/uploads": {
            "post": _op(
                "startUpload",
                "uploads",
                "Declare a resumable image upload",
                {201: _json(upload, "started")},
                (400, 413),
                roles=("team", "organiser"),
                body=_json_body(
                    {
                        "type": "object",
                        "required": ["size", "sha256"],
                        "properties": {
                            "size": {
                                "type": "integer",
                                "minimum": 1,
                                "description": "bytes; at most the server's image limit",
                            },
                            "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
                        },
                    }
                ),
            ),
        },
        "/api/uploads/{upload_id}": {
            "get": _op(
                "getUpload",
                "uploads",
                "How many bytes the server has",
                {200: _json(upload, "the upload")},
                (404,),
                roles=("team", "organiser"),
                parameters=[UPLOAD_ID],
            ),
            "put": _upload_conflicts(
                _op(
                    "putUploadPart",
                    "uploads",
                    "The next part, at the offset the server has",
                    {200: _json(upload, "appended")},
                    (400, 404, 409, 413),
                    roles=("team", "organiser"),
                    parameters=[
                        UPLOAD_ID,
                        {
                            "name": "offset",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "integer", "minimum": 0},
                            "description": "the bytes the server has received",
                        },
                    ],
                    body={
                        "required": False,
                        "content": {"application/octet-stream": {"schema": BINARY}},
                    },
                )
            ),
        },
        "/api/uploads/{upload_id}/complete": {
            "post": _upload_conflicts(
                _op(
                    "completeUpload",
                    "uploads",
                    "Check the size, digest and tarball; store the image",
                    {200: _json(upload, "complete")},
                    (400, 404, 409),
                    roles=("team", "organiser"),
                    parameters=[UPLOAD_ID],
                )
            ),
        },
    }


def build_spec() -> dict:
    try:
        api_version = version("arena")
    except PackageNotFoundError:
        api_version = "0"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Arena API",
            "version": api_version,
            "description": "The JSON API of Arena, a secret-benchmark competition platform. "
            "Send 'Authorization: Bearer <token>'; errors are "
            '{"error": {"code", "message"}}. See docs/cli.md.',
        },
        "tags": [
            {"name": name}
            for name in ("meta", "tokens", "challenges", "rounds", "submissions", "teams", "uploads", "nodes", "sites")
        ],
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "responses": _responses(),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an organiser or team token (arena_...)",
                },
                "siteCredential": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a site agent's credential (arena_site_...), made by `arena admin create-site`",
                },
                "nodeCredential": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a GPU node's credential for one job (arena_node_...), in its batch script",
                },
            },
        },
    }
