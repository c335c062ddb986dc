"""Operations on the public log."""

from arena.api.contract._model import Answer, Body, Operation
from arena.api.schemas.log import (
    ConsistencyProof,
    CosignaturesKept,
    CosignedCheckpoints,
    InclusionProof,
    LogEntries,
    LogExport,
    TreeHead,
)
from arena.api.schemas.params import ChallengeStartLimitQuery, FromToQuery, SeqSizeQuery, SlugPath

OPERATIONS = [
    Operation(
        "get",
        "/api/log",
        "logEntries",
        tag="log",
        summary="Public log entries in order",
        ok={200: Answer("the entries", LogEntries)},
        errors=(400,),
        query=ChallengeStartLimitQuery,
    ),
    Operation(
        "get",
        "/api/log/tree-head",
        "logTreeHead",
        tag="log",
        summary="The signed head of the log's Merkle tree",
        ok={200: Answer("the signed head", TreeHead)},
    ),
    Operation(
        "get",
        "/api/log/proof/inclusion",
        "logInclusionProof",
        tag="log",
        summary="RFC 9162 inclusion proof of an entry, with its checkpoint",
        ok={200: Answer("the proof", InclusionProof)},
        errors=(400,),
        query=SeqSizeQuery,
    ),
    Operation(
        "get",
        "/api/log/proof/consistency",
        "logConsistencyProof",
        tag="log",
        summary="RFC 9162 consistency proof between two tree sizes",
        ok={200: Answer("the proof", ConsistencyProof)},
        errors=(400,),
        query=FromToQuery,
    ),
    Operation(
        "post",
        "/api/log/cosignatures",
        "logCosign",
        tag="log",
        summary="A witness's cosignature on one of the log's checkpoints",
        ok={201: Answer("the witnesses whose cosignatures were kept", CosignaturesKept)},
        errors=(400, 403, 413),
        body=Body(
            media={"text/plain": {"type": "string"}},
            description="the log's checkpoint note with cosignature lines (c2sp.org/tlog-cosignature)",
        ),
    ),
    Operation(
        "get",
        "/api/log/cosigned",
        "logCosigned",
        tag="log",
        summary="Each witness's largest cosigned checkpoint",
        ok={200: Answer("the cosigned checkpoint notes", CosignedCheckpoints)},
    ),
    Operation(
        "get",
        "/api/challenges/{slug}/log/export",
        "logExport",
        tag="log",
        summary="The log and the published board, for `arena verify`",
        ok={200: Answer("the export", LogExport)},
        errors=(404,),
        path_params=SlugPath,
    ),
]
