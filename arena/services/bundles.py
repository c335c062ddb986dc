"""Reading and validating a challenge bundle (a folder). Pure: touches nothing but the folder."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import evaluators
from arena.errors import BadRequest
from arena.services.names import normalise, unsafe_character
from arena.services.rules import parse_rules
from arena.services.scorers import challenge_metric, parse_scorer, primary_name
from arena.services.slices import MAX_SLICES, slice_problem
from arena.streams import UnpackError, unpack_assets
from hidden_sets import asset_name_problem, references
from sandbox import (
    ASSET_LIMITS,
    MAX_ASSET_FILE_BYTES,
    MAX_ASSET_FILES,
    MAX_ASSETS_BYTES,
    check_agent_input,
    check_item_input,
)

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
MAX_ID_LENGTH = 200
BUNDLE_FILES = ("challenge.yaml", "inputs.jsonl", "labels.jsonl")
SAMPLE_FILES = ("sample/inputs.jsonl", "sample/labels.jsonl")
# Binary assets travel as one uncompressed tar each (of assets/…), unpacked into the bundle folder.
ASSET_PARTS = {"assets.tar": "", "sample/assets.tar": "sample"}

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
    protocol: str = "batch"
    scorer: dict | None = None  # a scoring container (protocol v3), as declared: image by name or digest
    hardware: dict | None = None  # platforms and GPU vendors (None: linux/amd64, NVIDIA)
    environment: dict | None = None  # agent challenges: the declared environment (environments.py)
    assets: dict[str, int] = field(default_factory=dict, repr=False)  # name -> size
    sample_assets: dict[str, int] = field(default_factory=dict, repr=False)
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
        raise _fail(
            "challenge.yaml must be a mapping of keys to values, such as `slug: my-challenge` "
            "on its first line (docs/quickstart-organiser.md has a whole one)"
        )
    unknown = sorted(set(map(str, doc)) - TOP_LEVEL)
    if unknown:
        raise _fail(
            f"challenge.yaml has unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(TOP_LEVEL))}"
        )
    return doc


def _text(doc: dict, key: str, *, required: bool, limit: int) -> str:
    value = doc.get(key) or ""
    if required and not value:
        raise _fail(f"challenge.yaml needs '{key}'")
    if not isinstance(value, str) or len(value) > limit:
        raise _fail(
            f"challenge.yaml '{key}' must be text of at most {limit} characters, such as "
            f"{key}: {TEXT_EXAMPLES.get(key, 'some words')}"
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _fail(f"challenge.yaml '{key}' is not valid Unicode text") from None
    return value.strip()


def _refuse_unsafe(text: str, key: str, *, allow: str = "") -> None:
    char = unsafe_character(text, allow=allow)
    if char is not None:
        raise _fail(f"challenge.yaml '{key}' holds a control or bidirectional character (U+{ord(char):04X}); remove it")


def _limit(name: str, value: Any) -> float:
    kind, low, high, default = LIMITS.get(name) or INTERACTIVE_LIMITS[name]
    shown = (f"{low:,.0f}", f"{high:,.0f}") if kind is int else (f"{low:g}", f"{high:g}")
    if isinstance(value, bool) or not isinstance(value, int | float) or (kind is int and not float(value).is_integer()):
        raise _fail(f"limits.{name} must be a {'whole ' if kind is int else ''}number, such as {{{name}: {default:g}}}")
    if not low <= value <= high:
        raise _fail(f"limits.{name} must be between {shown[0]} and {shown[1]}")
    return kind(value)


TEXT_EXAMPLES = {"slug": "gpu-faults", "title": "GPU fault detection from telemetry", "metric": "accuracy"}


def _limits(doc: dict, protocol: str) -> dict[str, float]:
    given = doc.get("limits") or {}
    if not isinstance(given, dict):
        raise _fail(
            "challenge.yaml 'limits' must be a mapping such as "
            "{time_limit_seconds: 300, memory_mb: 1024, cpus: 1, pids: 128, gpus: 0}"
        )
    known = {**LIMITS, **INTERACTIVE_LIMITS} if protocol in ("interactive", "agent") else LIMITS
    unknown = sorted(set(map(str, given)) - set(known))
    if unknown:
        only = sorted(set(unknown) & set(INTERACTIVE_LIMITS))
        if only:
            raise _fail(f"limit(s) {', '.join(only)} belong to 'protocol: interactive' challenges only")
        raise _fail(f"unknown limit(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return {name: _limit(name, given.get(name, spec[3])) for name, spec in known.items()}


PLATFORMS = ("linux/amd64", "linux/arm64")
GPU_VENDORS = ("nvidia", "amd")


def _listed(doc: dict, key: str, known: tuple[str, ...], default: list[str]) -> list[str]:
    value = doc.get(key, default)
    if not isinstance(value, list) or not value or any(v not in known for v in value) or len(set(value)) != len(value):
        raise _fail(f"{key} must be a list of distinct values among {', '.join(known)}")
    return list(value)


def _hardware(doc: dict) -> dict | None:
    """`platforms` the images may be built for (default linux/amd64) and the `gpu_vendors` its GPU
    jobs may run on (default nvidia); None when neither is given."""
    if "platforms" not in doc and "gpu_vendors" not in doc:
        return None
    return {
        "platforms": _listed(doc, "platforms", PLATFORMS, ["linux/amd64"]),
        "gpu_vendors": _listed(doc, "gpu_vendors", GPU_VENDORS, ["nvidia"]),
    }


def _text_metrics(names: list[str]) -> None:
    """An interactive model's answers are text: every metric must be able to score text."""
    for name in names:
        if evaluators.get_metric(name).validate_prediction("an answer") is not None:
            raise _fail(
                f"an interactive challenge's answers are text, which metric {name} cannot score; "
                "use a text metric such as exact_match, token_f1 or accuracy"
            )


def _protocol(doc: dict) -> str:
    protocol = doc.get("protocol", "batch")
    if protocol not in PROTOCOLS:
        raise _fail(
            "protocol must be 'batch' (the container reads /input and writes /output), "
            "'interactive' (it serves a chat API on /run/arena/model.sock) or 'agent' "
            "(interactive, with tools acting in an environment per item)"
        )
    return protocol


def _whole(doc: dict, key: str, default: int, high: int) -> int:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise _fail(f"{key} must be a whole number from 1 to {high}, such as {key}: {default}")
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
                raise _fail(
                    f"{name} line {number}: not valid JSON (NaN, Infinity and numbers beyond a float are refused)"
                ) from None
            if not isinstance(obj, dict):
                raise _fail(f"{name} line {number}: must be a JSON object")
            yield number, obj


def _item_id(obj: dict, number: int, name: str, value_key: str) -> str:
    if value_key == "label" and set(obj) == {"id", "label", "slice"}:
        problem = slice_problem(obj["slice"])
        if problem:
            raise _fail(f"{name} line {number}: {problem}")
    elif set(obj) != {"id", value_key}:
        extra = " (and, for labels, optionally 'slice')" if value_key == "label" else ""
        raise _fail(f"{name} line {number}: each line holds exactly the keys 'id' and '{value_key}'{extra}")
    item_id = obj["id"]
    if not isinstance(item_id, str) or not item_id or len(item_id) > MAX_ID_LENGTH:
        raise _fail(f"{name} line {number}: 'id' must be a non-empty string of at most {MAX_ID_LENGTH} characters")
    return item_id


def read_inputs(
    path: Path,
    name: str,
    *,
    assets: dict[str, int] | None = None,
    check_input: Callable[[Any], str | None] | None = None,
) -> dict[str, int]:
    """Map each id to its line number; refuses duplicates, references to assets that are not in
    `assets`, assets no item references, and (with `check_input`) inputs of the wrong shape."""
    seen: dict[str, int] = {}
    used: set[str] = set()
    for number, obj in iter_jsonl(path, name):
        item_id = _item_id(obj, number, name, "input")
        if item_id in seen:
            raise _fail(f"{name} line {number}: duplicate id (first at line {seen[item_id]})")
        seen[item_id] = number
        problem = check_input(obj["input"]) if check_input else None
        if problem:
            raise _fail(f"{name} line {number}: {problem}")
        used |= _references(obj["input"], assets or {}, f"{name} line {number}")
    if not seen:
        raise _fail(f"{name} holds no items")
    unused = sorted(set(assets or {}) - used)
    if unused:
        raise _fail(
            f"{len(unused)} asset(s) next to {name} are referenced by no item (first: {unused[0]}); "
            "remove them or reference them"
        )
    return seen


def _references(value: Any, assets: dict[str, int], where: str) -> set[str]:
    found = references(value)
    for ref in sorted(found):
        if ref not in assets:
            raise _fail(
                f"{where}: references {ref[:80]!r}, which is not a file of the assets/ folder "
                "(strings starting with 'assets/' name asset files)"
            )
    return found


def scan_assets(folder: Path, where: str) -> dict[str, int]:
    """The asset files under folder/assets (name -> size): regular files with valid names, within
    the limits. Empty when there is no assets/ folder."""
    root = folder / "assets"
    if not root.exists() and not root.is_symlink():
        return {}
    if root.is_symlink() or not root.is_dir():
        raise _fail(f"{where}assets must be a folder")
    found: dict[str, int] = {}
    total = 0
    for parent, dirs, files in os.walk(root):
        for entry in [*dirs, *files]:
            path = Path(parent) / entry
            name = path.relative_to(folder).as_posix()
            info = path.lstat()
            if stat.S_ISDIR(info.st_mode):
                continue
            if not stat.S_ISREG(info.st_mode):
                raise _fail(f"{where}{name} is not a regular file (links and devices are refused)")
            problem = asset_name_problem(name)
            if problem:
                raise _fail(f"{where}{name[:80]}: an asset name {problem}")
            found[name], total = info.st_size, total + info.st_size
            _asset_limits(where, name, len(found), info.st_size, total)
    return found


def _asset_limits(where: str, name: str, count: int, size: int, total: int) -> None:
    if count > MAX_ASSET_FILES:
        raise _fail(f"{where}assets holds more than {MAX_ASSET_FILES:,} files")
    if size > MAX_ASSET_FILE_BYTES:
        raise _fail(f"{where}{name} is larger than {MAX_ASSET_FILE_BYTES // 1024**3} GiB")
    if total > MAX_ASSETS_BYTES:
        raise _fail(f"{where}assets total more than {MAX_ASSETS_BYTES // 1024**3} GiB")


def check_labels(path: Path, name: str, inputs: dict[str, int], metric: evaluators.Metric) -> None:
    seen: set[str] = set()
    classes: set[bool] = set()
    slices: set[str] = set()
    for number, obj in iter_jsonl(path, name):
        item_id = _item_id(obj, number, name, "label")
        slices.add(obj.get("slice", ""))
        if len(slices) > MAX_SLICES + 1:
            raise _fail(f"{name} line {number}: more than {MAX_SLICES} distinct slices")
        if item_id in seen:
            raise _fail(f"{name} line {number}: duplicate id")
        if item_id not in inputs:
            raise _fail(f"{name} line {number}: id is not in the inputs file")
        problem = metric.validate_label(obj["label"])
        if problem:
            raise _fail(f"{name} line {number}: {problem.replace('prediction', 'label')} for metric {metric.name}")
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
    title = _text(doc, "title", required=True, limit=200)
    _refuse_unsafe(title, "title")
    title = normalise(title)
    description = _text(doc, "description", required=False, limit=20_000)
    _refuse_unsafe(description, "description", allow="\n\t")
    protocol = _protocol(doc)
    limits, quota, pending = _limits(doc, protocol), _quota(doc), _whole(doc, "max_pending", 3, 100)
    scorer = parse_scorer(doc.get("scorer"), limits=limits, check_limit=_limit)
    metric = _primary_metric(doc, scorer)
    registration = doc.get("registration", "open")
    if registration not in ("open", "approval"):
        raise _fail(
            "registration must be 'open' (any team may take part) or 'approval' (the organiser approves each team)"
        )
    count_failures = doc.get("count_failures", True)
    if not isinstance(count_failures, bool):
        raise _fail("count_failures must be true (a model's failures use up quota) or false")
    fraction = doc.get("public_fraction", 0.3)
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction < 1:
        raise _fail(
            "public_fraction must be a number between 0 and 1 (the share of items on the public board), "
            "such as public_fraction: 0.3"
        )
    rules = parse_rules(doc, metric.name)
    hardware = _hardware(doc)
    secondary = _secondary_metrics(doc, metric.name)
    if scorer is not None and secondary:
        raise _fail(
            "a challenge with a scorer declares its secondary scores in scorer.secondary, not secondary_metrics"
        )
    if protocol == "interactive" and scorer is None:
        _text_metrics([metric.name, *secondary])
    if protocol == "agent" and scorer is not None:
        raise _fail(
            "an agent challenge is scored by its environment's score command (environment.score); "
            "a scoring container cannot score one yet"
        )
    environment = _environment(doc, protocol, metric.name, secondary)
    shape = _shape(protocol)
    assets = scan_assets(root, "")
    inputs = read_inputs(root / "inputs.jsonl", "inputs.jsonl", assets=assets, check_input=shape)
    check_labels(root / "labels.jsonl", "labels.jsonl", inputs, metric)
    for name in secondary:
        check_labels(root / "labels.jsonl", "labels.jsonl", inputs, evaluators.get_metric(name))
    n_sample, sample_assets = 0, scan_assets(root / "sample", "sample/")
    if (root / "sample/assets").exists() and not has_sample:
        raise _fail("sample/assets needs sample/inputs.jsonl and sample/labels.jsonl beside it")
    if has_sample:
        sample = read_inputs(
            root / "sample/inputs.jsonl", "sample/inputs.jsonl", assets=sample_assets, check_input=shape
        )
        check_labels(root / "sample/labels.jsonl", "sample/labels.jsonl", sample, metric)
        n_sample = len(sample)
    return Bundle(
        root=root,
        slug=slug,
        title=title,
        description=description,
        metric=metric.name,
        limits=limits,
        daily_quota=quota,
        n_items=len(inputs),
        has_sample=has_sample,
        n_sample_items=n_sample,
        max_pending=pending,
        registration=registration,
        count_failures=count_failures,
        public_fraction=float(fraction),
        rules=rules,
        secondary_metrics=secondary,
        protocol=protocol,
        assets=assets,
        hardware=hardware,
        sample_assets=sample_assets,
        ids=list(inputs),
        scorer=scorer,
        environment=environment,
    )


def _primary_metric(doc: dict, scorer: dict | None) -> evaluators.Metric:
    """The built-in metric named by `metric`, or, with a scorer, the scorer's primary score."""
    if scorer is not None:
        return challenge_metric(metric=primary_name(doc), scorer=scorer)
    try:
        return evaluators.get_metric(_text(doc, "metric", required=True, limit=64))
    except evaluators.MetricError as exc:
        raise _fail(str(exc)) from None


MAX_SECONDARY = 5


def _shape(protocol: str) -> Callable[[Any], str | None] | None:
    return {"interactive": check_item_input, "agent": check_agent_input}.get(protocol)


def _environment(doc: dict, protocol: str, metric: str, secondary: list[str]) -> dict | None:
    """An agent challenge's environment (checked by environments.parse_environment); others have none."""
    from arena.services.environments import parse_environment

    if protocol != "agent":
        if "environment" in doc:
            raise _fail("'environment' belongs to 'protocol: agent' challenges only")
        return None
    if metric != AGENT_METRIC or secondary:
        raise _fail(
            f"an agent challenge is scored on its environment's final state: metric must be "
            f"{AGENT_METRIC}, with no secondary metrics"
        )
    return parse_environment(doc.get("environment"))


def _secondary_metrics(doc: dict, primary: str) -> list[str]:
    """Other metrics shown beside the primary one (which alone ranks, releases and pays)."""
    given = doc.get("secondary_metrics") or []
    if not isinstance(given, list) or len(given) > MAX_SECONDARY or not all(isinstance(m, str) for m in given):
        raise _fail(
            f"secondary_metrics must list at most {MAX_SECONDARY} metric names, such as secondary_metrics: [macro_f1]"
        )
    if len(set(given)) != len(given) or primary in given:
        raise _fail("secondary_metrics must not repeat a metric, nor name the primary one")
    for name in given:
        try:
            evaluators.get_metric(name)
        except evaluators.MetricError as exc:
            raise _fail(f"secondary_metrics: {exc}") from None
    return list(given)


def load_version_files(root: Path, metric: evaluators.Metric, protocol: str = "batch") -> tuple[int, dict[str, int]]:
    """Validate a new hidden-set version (inputs.jsonl, labels.jsonl, and assets/ if its items
    reference any); returns its size and its assets."""
    for name in ("inputs.jsonl", "labels.jsonl"):
        if not (root / name).is_file():
            raise _fail(f"{name} is missing; a new version holds inputs.jsonl and labels.jsonl")
    assets = scan_assets(root, "")
    inputs = read_inputs(root / "inputs.jsonl", "inputs.jsonl", assets=assets, check_input=_shape(protocol))
    check_labels(root / "labels.jsonl", "labels.jsonl", inputs, metric)
    return len(inputs), assets


def save_part(folder: Path, name: str, stream) -> None:
    """Write one uploaded part of a bundle into `folder`; an assets tar is unpacked (carefully:
    regular files with valid asset names only, within the limits)."""
    if name not in ASSET_PARTS:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            while chunk := stream.read(1 << 20):
                out.write(chunk)
        return
    if (folder / ASSET_PARTS[name] / "assets").exists():
        raise _fail(f"{name} was sent twice")
    unpack_part(folder, name, stream)


def unpack_part(folder: Path, name: str, stream) -> None:
    """Unpack an assets tar part (`assets.tar`, `sample/assets.tar`) into its place in the bundle
    folder: regular files with valid asset names only, within the limits."""
    try:
        unpack_assets(stream, folder / ASSET_PARTS[name], limits=ASSET_LIMITS)
    except UnpackError as exc:
        raise _fail(f"{name}: {exc}") from None
