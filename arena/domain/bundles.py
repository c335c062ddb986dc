"""challenge.yaml, checked: a bundle's settings as a document (a mapping read from YAML), each
refused with a message that names the key and shows an example. Pure: the files of a bundle are
read, and the scorer and environment checked, by arena/services/bundles.py."""

from __future__ import annotations

import re
from typing import Any

import evaluators
from arena.domain.names import normalise, unsafe_character
from arena.errors import BadRequest

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
# name: (type, minimum, maximum, default)
LIMITS: dict[str, tuple[type, float, float, float]] = {
    "time_limit_seconds": (int, 1, 86_400, 300),
    "memory_mb": (int, 64, 1_048_576, 1024),
    "cpus": (float, 0.1, 256, 1.0),
    "pids": (int, 16, 65_536, 128),
    "gpus": (int, 0, 16, 0),
}
# Limits of the interactive protocol (v2) only; a batch challenge may not set them.
INTERACTIVE_LIMITS: dict[str, tuple[type, float, float, float]] = {
    "startup_time_limit_seconds": (int, 1, 3600, 60),
    "request_time_limit_seconds": (int, 1, 3600, 60),
    "max_answer_bytes": (int, 1024, 16 * 1024**2, 64 * 1024),
    "concurrency": (int, 1, 64, 1),
}
PROTOCOLS = ("batch", "interactive", "agent")
AGENT_METRIC = "environment_score"  # an agent item's prediction is the score of its environment's final state
TOP_LEVEL = {
    "slug",
    "title",
    "description",
    "metric",
    "limits",
    "daily_quota",
    "max_pending",
    "registration",
    "count_failures",
    "public_fraction",
    "rounds",
    "kpi",
    "rewards",
    "secondary_metrics",
    "protocol",
    "scorer",
    "platforms",
    "gpu_vendors",
    "environment",
}
MAX_SECONDARY = 5


def fail(message: str) -> BadRequest:
    return BadRequest(f"challenge bundle: {message}")


def check_keys(doc: Any) -> dict[str, Any]:
    """The document is a mapping of known keys."""
    if not isinstance(doc, dict):
        raise fail(
            "challenge.yaml must be a mapping of keys to values, such as `slug: my-challenge` "
            "on its first line (docs/quickstart-organiser.md has a whole one)"
        )
    unknown = sorted(set(map(str, doc)) - TOP_LEVEL)
    if unknown:
        raise fail(
            f"challenge.yaml has unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(TOP_LEVEL))}"
        )
    return doc


def text(doc: dict[str, Any], key: str, *, required: bool, limit: int) -> str:
    value = doc.get(key) or ""
    if required and not value:
        raise fail(f"challenge.yaml needs '{key}'")
    if not isinstance(value, str) or len(value) > limit:
        raise fail(
            f"challenge.yaml '{key}' must be text of at most {limit} characters, such as "
            f"{key}: {TEXT_EXAMPLES.get(key, 'some words')}"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise fail(f"challenge.yaml '{key}' is not valid Unicode text") from None
    return value.strip()


def refuse_unsafe(text: str, key: str, *, allow: str = "") -> None:
    char = unsafe_character(text, allow=allow)
    if char is not None:
        raise fail(f"challenge.yaml '{key}' holds a control or bidirectional character (U+{ord(char):04X}); remove it")


def limit(name: str, value: Any) -> float:
    kind, low, high, default = LIMITS.get(name) or INTERACTIVE_LIMITS[name]
    shown = (f"{low:,.0f}", f"{high:,.0f}") if kind is int else (f"{low:g}", f"{high:g}")
    if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and not float(value).is_integer()):
        raise fail(f"limits.{name} must be a {'whole ' if kind is int else ''}number, such as {{{name}: {default:g}}}")
    if not low <= value <= high:
        raise fail(f"limits.{name} must be between {shown[0]} and {shown[1]}")
    return float(value) if kind is float else int(value)


TEXT_EXAMPLES = {"slug": "gpu-faults", "title": "GPU fault detection from telemetry", "metric": "accuracy"}


def limits(doc: dict[str, Any], protocol: str) -> dict[str, float]:
    given = doc.get("limits") or {}
    if not isinstance(given, dict):
        raise fail(
            "challenge.yaml 'limits' must be a mapping such as "
            "{time_limit_seconds: 300, memory_mb: 1024, cpus: 1, pids: 128, gpus: 0}"
        )
    known = {**LIMITS, **INTERACTIVE_LIMITS} if protocol in ("interactive", "agent") else LIMITS
    unknown = sorted(set(map(str, given)) - set(known))
    if unknown:
        only = sorted(set(unknown) & set(INTERACTIVE_LIMITS))
        if only:
            raise fail(f"limit(s) {', '.join(only)} belong to 'protocol: interactive' challenges only")
        raise fail(f"unknown limit(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return {name: limit(name, given.get(name, spec[3])) for name, spec in known.items()}


PLATFORMS = ("linux/amd64", "linux/arm64")
GPU_VENDORS = ("nvidia", "amd")


def _listed(doc: dict[str, Any], key: str, known: tuple[str, ...], default: list[str]) -> list[str]:
    value = doc.get(key, default)
    if not isinstance(value, list) or not value or any(v not in known for v in value) or len(set(value)) != len(value):
        raise fail(f"{key} must be a list of distinct values among {', '.join(known)}")
    return list(value)


def hardware(doc: dict[str, Any]) -> dict[str, list[str]] | None:
    """`platforms` the images may be built for (default linux/amd64) and the `gpu_vendors` its GPU
    jobs may run on (default nvidia); None when neither is given."""
    if "platforms" not in doc and "gpu_vendors" not in doc:
        return None
    return {
        "platforms": _listed(doc, "platforms", PLATFORMS, ["linux/amd64"]),
        "gpu_vendors": _listed(doc, "gpu_vendors", GPU_VENDORS, ["nvidia"]),
    }


def text_metrics(names: list[str]) -> None:
    """An interactive model's answers are text: every metric must be able to score text."""
    for name in names:
        if evaluators.get_metric(name).validate_prediction("an answer") is not None:
            raise fail(
                f"an interactive challenge's answers are text, which metric {name} cannot score; "
                "use a text metric such as exact_match, token_f1 or accuracy"
            )


def protocol(doc: dict[str, Any]) -> str:
    protocol = doc.get("protocol", "batch")
    if protocol not in PROTOCOLS:
        raise fail(
            "protocol must be 'batch' (the container reads /input and writes /output), "
            "'interactive' (it serves a chat API on /run/arena/model.sock) or 'agent' "
            "(interactive, with tools acting in an environment per item)"
        )
    return str(protocol)


def whole(doc: dict[str, Any], key: str, default: int, high: int) -> int:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise fail(f"{key} must be a whole number from 1 to {high}, such as {key}: {default}")
    return value


def quota(doc: dict[str, Any]) -> int:
    return whole(doc, "daily_quota", 5, 1000)


def identity(doc: dict[str, Any]) -> dict[str, str]:
    """slug, title (normalised) and description."""
    slug = text(doc, "slug", required=True, limit=64)
    if not SLUG_RE.match(slug):
        raise fail("slug must be 3-64 characters of lowercase letters, digits and hyphens")
    title = text(doc, "title", required=True, limit=200)
    refuse_unsafe(title, "title")
    description = text(doc, "description", required=False, limit=20_000)
    refuse_unsafe(description, "description", allow="\n\t")
    return {"slug": slug, "title": normalise(title), "description": description}


def participation(doc: dict[str, Any]) -> dict[str, Any]:
    """registration, count_failures and public_fraction."""
    registration = doc.get("registration", "open")
    if registration not in ("open", "approval"):
        raise fail(
            "registration must be 'open' (any team may take part) or 'approval' (the organiser approves each team)"
        )
    count_failures = doc.get("count_failures", True)
    if not isinstance(count_failures, bool):
        raise fail("count_failures must be true (a model's failures use up quota) or false")
    fraction = doc.get("public_fraction", 0.3)
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction < 1:
        raise fail(
            "public_fraction must be a number between 0 and 1 (the share of items on the public board), "
            "such as public_fraction: 0.3"
        )
    return {"registration": registration, "count_failures": count_failures, "public_fraction": float(fraction)}


def secondary_metrics(doc: dict[str, Any], primary: str) -> list[str]:
    """Other metrics shown beside the primary one (which alone ranks, releases and pays)."""
    given = doc.get("secondary_metrics") or []
    if not isinstance(given, list) or len(given) > MAX_SECONDARY or not all(isinstance(m, str) for m in given):
        raise fail(
            f"secondary_metrics must list at most {MAX_SECONDARY} metric names, such as secondary_metrics: [macro_f1]"
        )
    if len(set(given)) != len(given) or primary in given:
        raise fail("secondary_metrics must not repeat a metric, nor name the primary one")
    for name in given:
        try:
            evaluators.get_metric(name)
        except evaluators.MetricError as exc:
            raise fail(f"secondary_metrics: {exc}") from None
    return list(given)


def check_scoring(*, protocol: str, has_scorer: bool, metrics: list[str]) -> None:
    """What a protocol may be scored with: a scorer declares its own secondary scores; an
    interactive challenge's metrics must score text; an agent's environment scores it."""
    primary, *secondary = metrics
    if has_scorer and secondary:
        raise fail("a challenge with a scorer declares its secondary scores in scorer.secondary, not secondary_metrics")
    if protocol == "interactive" and not has_scorer:
        text_metrics(metrics)
    if protocol == "agent" and has_scorer:
        raise fail(
            "an agent challenge is scored by its environment's score command (environment.score); "
            "a scoring container cannot score one yet"
        )
