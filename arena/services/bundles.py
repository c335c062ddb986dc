"""Reading and validating a challenge bundle (a folder). Pure: touches nothing but the folder."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import evaluators
from arena.errors import BadRequest
from arena.services.rules import parse_rules

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
MAX_ID_LENGTH = 200
BUNDLE_FILES = ("challenge.yaml", "inputs.jsonl", "labels.jsonl")
SAMPLE_FILES = ("sample/inputs.jsonl", "sample/labels.jsonl")

# name: (type, minimum, maximum, default)
LIMITS: dict[str, tuple[type, float, float, float]] = {
    "time_limit_seconds": (int, 1, 86_400, 300),
    "memory_mb": (int, 64, 1_048_576, 1024),
    "cpus": (float, 0.1, 256, 1.0),
    "pids": (int, 16, 65_536, 128),
    "gpus": (int, 0, 16, 0),
}
TOP_LEVEL = {"slug", "title", "description", "metric", "limits", "daily_quota", "max_pending",
             "registration", "count_failures", "public_fraction", "rounds", "kpi", "rewards", "secondary_metrics"}


@dataclass
class Bundle:
    root: Path
    slug: str
    title: str
    description: str
    metric: str
    limits: dict[str, float]
    daily_quota: int
    n_items: int
    has_sample: bool
    n_sample_items: int = 0
    max_pending: int = 3
    registration: str = "open"
    count_failures: bool = True
    public_fraction: float = 0.3
    rules: dict | None = None
    secondary_metrics: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list, repr=False)


def _fail(message: str) -> BadRequest:
    return BadRequest(f"challenge bundle: {message}")


def _read_config(root: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load((root / "challenge.yaml").read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise _fail(f"challenge.yaml is not valid YAML{where}") from None
    except UnicodeDecodeError:
        raise _fail("challenge.yaml is not UTF-8 text") from None
    except RecursionError:
        raise _fail("challenge.yaml is nested too deeply") from None
    if not isinstance(doc, dict):
        raise _fail("challenge.yaml must be a mapping of keys to values")
    unknown = sorted(set(map(str, doc)) - TOP_LEVEL)
    if unknown:
        raise _fail(f"challenge.yaml has unknown key(s) {', '.join(unknown)}; "
                    f"known keys: {', '.join(sorted(TOP_LEVEL))}")
    return doc


def _text(doc: dict, key: str, *, required: bool, limit: int) -> str:
    value = doc.get(key) or ""
    if required and not value:
        raise _fail(f"challenge.yaml needs '{key}'")
    if not isinstance(value, str) or len(value) > limit:
        raise _fail(f"challenge.yaml '{key}' must be text of at most {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _fail(f"challenge.yaml '{key}' is not valid Unicode text") from None
    return value.strip()


def _limit(name: str, value: Any) -> float:
    kind, low, high, _default = LIMITS[name]
    shown = (f"{low:,.0f}", f"{high:,.0f}") if kind is int else (f"{low:g}", f"{high:g}")
    if isinstance(value, bool) or not isinstance(value, int | float) or (
        kind is int and not float(value).is_integer()
    ):
        raise _fail(f"limits.{name} must be a {'whole ' if kind is int else ''}number")
    if not low <= value <= high:
        raise _fail(f"limits.{name} must be between {shown[0]} and {shown[1]}")
    return kind(value)


def _limits(doc: dict) -> dict[str, float]:
    given = doc.get("limits") or {}
    if not isinstance(given, dict):
        raise _fail("challenge.yaml 'limits' must be a mapping")
    unknown = sorted(set(map(str, given)) - set(LIMITS))
    if unknown:
        raise _fail(f"unknown limit(s) {', '.join(unknown)}; known: {', '.join(LIMITS)}")
    return {name: _limit(name, given.get(name, spec[3])) for name, spec in LIMITS.items()}


def _whole(doc: dict, key: str, default: int, high: int) -> int:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise _fail(f"{key} must be a whole number from 1 to {high}")
    return value


def _quota(doc: dict) -> int:
    return _whole(doc, "daily_quota", 5, 1000)


def iter_jsonl(path: Path, name: str) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object); names the file and line of the first bad one."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                raise _fail(f"{name} line {number}: empty line; remove it")
            try:
                obj = evaluators.loads_strict(raw)
            except (ValueError, UnicodeDecodeError):
                raise _fail(f"{name} line {number}: not valid JSON (NaN, Infinity and numbers "
                            "beyond a float are refused)") from None
            if not isinstance(obj, dict):
                raise _fail(f"{name} line {number}: must be a JSON object")
            yield number, obj


def _item_id(obj: dict, number: int, name: str, value_key: str) -> str:
    if set(obj) != {"id", value_key}:
        raise _fail(f"{name} line {number}: each line holds exactly the keys 'id' and '{value_key}'")
    item_id = obj["id"]
    if not isinstance(item_id, str) or not item_id or len(item_id) > MAX_ID_LENGTH:
        raise _fail(f"{name} line {number}: 'id' must be a non-empty string of at most "
                    f"{MAX_ID_LENGTH} characters")
    return item_id


def read_inputs(path: Path, name: str) -> dict[str, int]:
    """Map each id to its line number; refuses duplicates."""
    seen: dict[str, int] = {}
    for number, obj in iter_jsonl(path, name):
        item_id = _item_id(obj, number, name, "input")
        if item_id in seen:
            raise _fail(f"{name} line {number}: duplicate id (first at line {seen[item_id]})")
        seen[item_id] = number
    if not seen:
        raise _fail(f"{name} holds no items")
    return seen


def check_labels(path: Path, name: str, inputs: dict[str, int], metric: evaluators.Metric) -> None:
    seen: set[str] = set()
    classes: set[bool] = set()
    for number, obj in iter_jsonl(path, name):
        item_id = _item_id(obj, number, name, "label")
        if item_id in seen:
            raise _fail(f"{name} line {number}: duplicate id")
        if item_id not in inputs:
            raise _fail(f"{name} line {number}: id is not in the inputs file")
        problem = metric.validate_label(obj["label"])
        if problem:
            raise _fail(f"{name} line {number}: {problem.replace('prediction', 'label')} "
                        f"for metric {metric.name}")
        seen.add(item_id)
        classes.add(obj["label"] in (1, True))
    if metric.name == "auroc" and len(classes) < 2:
        raise _fail(f"{name}: auroc needs both 0 and 1 among the labels")
    missing = [n for i, n in inputs.items() if i not in seen]
    if missing:
        raise _fail(f"{name}: {len(missing)} item(s) have no label (first at inputs line {min(missing)})")


def _require_files(root: Path) -> bool:
    for name in BUNDLE_FILES:
        if not (root / name).is_file():
            raise _fail(f"{name} is missing; a bundle holds {', '.join(BUNDLE_FILES)}")
    present = [(root / name).is_file() for name in SAMPLE_FILES]
    if any(present) and not all(present):
        raise _fail("sample/ must hold both inputs.jsonl and labels.jsonl, or be left out")
    return all(present)


def load_bundle(root: Path) -> Bundle:
    """Validate every file of the bundle; raises BadRequest naming the first problem."""
    has_sample = _require_files(root)
    doc = _read_config(root)
    slug = _text(doc, "slug", required=True, limit=64)
    if not SLUG_RE.match(slug):
        raise _fail("slug must be 3-64 characters of lowercase letters, digits and hyphens")
    try:
        metric = evaluators.get_metric(_text(doc, "metric", required=True, limit=64))
    except evaluators.MetricError as exc:
        raise _fail(str(exc)) from None
    title = _text(doc, "title", required=True, limit=200)
    description = _text(doc, "description", required=False, limit=20_000)
    limits, quota, pending = _limits(doc), _quota(doc), _whole(doc, "max_pending", 3, 100)
    registration = doc.get("registration", "open")
    if registration not in ("open", "approval"):
        raise _fail("registration must be 'open' (any team may take part) or 'approval' "
                    "(the organiser approves each team)")
    count_failures = doc.get("count_failures", True)
    if not isinstance(count_failures, bool):
        raise _fail("count_failures must be true (a model's failures use up quota) or false")
    fraction = doc.get("public_fraction", 0.3)
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction < 1:
        raise _fail("public_fraction must be a number between 0 and 1 (the share of items on the public board)")
    rules = parse_rules(doc, metric.name)
    secondary = _secondary_metrics(doc, metric.name)
    inputs = read_inputs(root / "inputs.jsonl", "inputs.jsonl")
    check_labels(root / "labels.jsonl", "labels.jsonl", inputs, metric)
    for name in secondary:
        check_labels(root / "labels.jsonl", "labels.jsonl", inputs, evaluators.get_metric(name))
    n_sample = 0
    if has_sample:
        sample = read_inputs(root / "sample/inputs.jsonl", "sample/inputs.jsonl")
        check_labels(root / "sample/labels.jsonl", "sample/labels.jsonl", sample, metric)
        n_sample = len(sample)
    return Bundle(
        root=root, slug=slug, title=title, description=description, metric=metric.name,
        limits=limits, daily_quota=quota, n_items=len(inputs),
        has_sample=has_sample, n_sample_items=n_sample, max_pending=pending,
        registration=registration, count_failures=count_failures, public_fraction=float(fraction),
        rules=rules, secondary_metrics=secondary, ids=list(inputs),
    )


MAX_SECONDARY = 5


def _secondary_metrics(doc: dict, primary: str) -> list[str]:
    """Other metrics shown beside the primary one (which alone ranks, releases and pays)."""
    given = doc.get("secondary_metrics") or []
    if not isinstance(given, list) or len(given) > MAX_SECONDARY or not all(isinstance(m, str) for m in given):
        raise _fail(f"secondary_metrics must list at most {MAX_SECONDARY} metric names")
    if len(set(given)) != len(given) or primary in given:
        raise _fail("secondary_metrics must not repeat a metric, nor name the primary one")
    for name in given:
        try:
            evaluators.get_metric(name)
        except evaluators.MetricError as exc:
            raise _fail(f"secondary_metrics: {exc}") from None
    return list(given)


def load_version_files(root: Path, metric_name: str) -> int:
    """Validate a new hidden-set version (inputs.jsonl and labels.jsonl); returns its size."""
    for name in ("inputs.jsonl", "labels.jsonl"):
        if not (root / name).is_file():
            raise _fail(f"{name} is missing; a new version holds inputs.jsonl and labels.jsonl")
    inputs = read_inputs(root / "inputs.jsonl", "inputs.jsonl")
    check_labels(root / "labels.jsonl", "labels.jsonl", inputs, evaluators.get_metric(metric_name))
    return len(inputs)
