"""Reading and validating a challenge bundle (a folder): its files, items, labels and assets;
challenge.yaml's settings are checked by arena.domain.bundles. Touches nothing but the folder."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import evaluators
from arena.domain import bundles as checks
from arena.domain.rules import parse_rules
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

MAX_ID_LENGTH = 200
BUNDLE_FILES = ("challenge.yaml", "inputs.jsonl", "labels.jsonl")
SAMPLE_FILES = ("sample/inputs.jsonl", "sample/labels.jsonl")
# Binary assets travel as one uncompressed tar each (of assets/…), unpacked into the bundle folder.
ASSET_PARTS = {"assets.tar": "", "sample/assets.tar": "sample"}


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


def _read_config(root: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load((root / "challenge.yaml").read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise checks.fail(f"challenge.yaml is not valid YAML{where}") from None
    except UnicodeDecodeError:
        raise checks.fail("challenge.yaml is not UTF-8 text") from None
    except RecursionError:
        raise checks.fail("challenge.yaml is nested too deeply") from None
    return checks.check_keys(doc)


def iter_jsonl(path: Path, name: str) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object); names the file and line of the first bad one."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                raise checks.fail(f"{name} line {number}: empty line; remove it")
            try:
                obj = evaluators.loads_strict(raw)
            except (ValueError, UnicodeDecodeError):
                raise checks.fail(
                    f"{name} line {number}: not valid JSON (NaN, Infinity and numbers beyond a float are refused)"
                ) from None
            if not isinstance(obj, dict):
                raise checks.fail(f"{name} line {number}: must be a JSON object")
            yield number, obj


def _item_id(obj: dict, number: int, name: str, value_key: str) -> str:
    if value_key == "label" and set(obj) == {"id", "label", "slice"}:
        problem = slice_problem(obj["slice"])
        if problem:
            raise checks.fail(f"{name} line {number}: {problem}")
    elif set(obj) != {"id", value_key}:
        extra = " (and, for labels, optionally 'slice')" if value_key == "label" else ""
        raise checks.fail(f"{name} line {number}: each line holds exactly the keys 'id' and '{value_key}'{extra}")
    item_id = obj["id"]
    if not isinstance(item_id, str) or not item_id or len(item_id) > MAX_ID_LENGTH:
        raise checks.fail(
            f"{name} line {number}: 'id' must be a non-empty string of at most {MAX_ID_LENGTH} characters"
        )
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
            raise checks.fail(f"{name} line {number}: duplicate id (first at line {seen[item_id]})")
        seen[item_id] = number
        problem = check_input(obj["input"]) if check_input else None
        if problem:
            raise checks.fail(f"{name} line {number}: {problem}")
        used |= _references(obj["input"], assets or {}, f"{name} line {number}")
    if not seen:
        raise checks.fail(f"{name} holds no items")
    unused = sorted(set(assets or {}) - used)
    if unused:
        raise checks.fail(
            f"{len(unused)} asset(s) next to {name} are referenced by no item (first: {unused[0]}); "
            "remove them or reference them"
        )
    return seen


def _references(value: Any, assets: dict[str, int], where: str) -> set[str]:
    found = references(value)
    for ref in sorted(found):
        if ref not in assets:
            raise checks.fail(
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
        raise checks.fail(f"{where}assets must be a folder")
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
                raise checks.fail(f"{where}{name} is not a regular file (links and devices are refused)")
            problem = asset_name_problem(name)
            if problem:
                raise checks.fail(f"{where}{name[:80]}: an asset name {problem}")
            found[name], total = info.st_size, total + info.st_size
            _asset_limits(where, name, len(found), info.st_size, total)
    return found


def _asset_limits(where: str, name: str, count: int, size: int, total: int) -> None:
    if count > MAX_ASSET_FILES:
        raise checks.fail(f"{where}assets holds more than {MAX_ASSET_FILES:,} files")
    if size > MAX_ASSET_FILE_BYTES:
        raise checks.fail(f"{where}{name} is larger than {MAX_ASSET_FILE_BYTES // 1024**3} GiB")
    if total > MAX_ASSETS_BYTES:
        raise checks.fail(f"{where}assets total more than {MAX_ASSETS_BYTES // 1024**3} GiB")


def check_labels(path: Path, name: str, inputs: dict[str, int], metric: evaluators.Metric) -> None:
    seen: set[str] = set()
    classes: set[bool] = set()
    slices: set[str] = set()
    for number, obj in iter_jsonl(path, name):
        item_id = _item_id(obj, number, name, "label")
        slices.add(obj.get("slice", ""))
        if len(slices) > MAX_SLICES + 1:
            raise checks.fail(f"{name} line {number}: more than {MAX_SLICES} distinct slices")
        if item_id in seen:
            raise checks.fail(f"{name} line {number}: duplicate id")
        if item_id not in inputs:
            raise checks.fail(f"{name} line {number}: id is not in the inputs file")
        problem = metric.validate_label(obj["label"])
        if problem:
            raise checks.fail(
                f"{name} line {number}: {problem.replace('prediction', 'label')} for metric {metric.name}"
            )
        seen.add(item_id)
        classes.add(obj["label"] in (1, True))
    if metric.name == "auroc" and len(classes) < 2:
        raise checks.fail(f"{name}: auroc needs both 0 and 1 among the labels")
    missing = [n for i, n in inputs.items() if i not in seen]
    if missing:
        raise checks.fail(f"{name}: {len(missing)} item(s) have no label (first at inputs line {min(missing)})")


def _require_files(root: Path) -> bool:
    for name in BUNDLE_FILES:
        if not (root / name).is_file():
            raise checks.fail(f"{name} is missing; a bundle holds {', '.join(BUNDLE_FILES)}")
    present = [(root / name).is_file() for name in SAMPLE_FILES]
    if any(present) and not all(present):
        raise checks.fail("sample/ must hold both inputs.jsonl and labels.jsonl, or be left out")
    return all(present)


def load_bundle(root: Path) -> Bundle:
    """Validate every file of the bundle; raises BadRequest naming the first problem."""
    has_sample = _require_files(root)
    doc = _read_config(root)
    identity = checks.identity(doc)
    protocol = checks.protocol(doc)
    limits, quota, pending = checks.limits(doc, protocol), checks.quota(doc), checks.whole(doc, "max_pending", 3, 100)
    scorer = parse_scorer(doc.get("scorer"), limits=limits, check_limit=checks.limit)
    metric = _primary_metric(doc, scorer)
    participation = checks.participation(doc)
    rules = parse_rules(doc, metric.name)
    hardware = checks.hardware(doc)
    secondary = checks.secondary_metrics(doc, metric.name)
    checks.check_scoring(protocol=protocol, has_scorer=scorer is not None, metrics=[metric.name, *secondary])
    environment = _environment(doc, protocol, metric.name, secondary)
    data = _read_items(
        root, has_sample=has_sample, shape=_shape(protocol), metrics=[metric, *map(evaluators.get_metric, secondary)]
    )
    return Bundle(
        root=root,
        slug=identity["slug"],
        title=identity["title"],
        description=identity["description"],
        metric=metric.name,
        limits=limits,
        daily_quota=quota,
        has_sample=has_sample,
        max_pending=pending,
        **participation,
        rules=rules,
        secondary_metrics=secondary,
        protocol=protocol,
        hardware=hardware,
        scorer=scorer,
        environment=environment,
        **data,
    )


def _read_items(
    root: Path, *, has_sample: bool, shape: Callable[[Any], str | None] | None, metrics: list[evaluators.Metric]
) -> dict[str, Any]:
    """The hidden set's and the sample's items, labels (for every metric; the sample's for the
    primary one) and assets, checked: the Bundle's fields that describe them."""
    assets = scan_assets(root, "")
    inputs = read_inputs(root / "inputs.jsonl", "inputs.jsonl", assets=assets, check_input=shape)
    for metric in metrics:
        check_labels(root / "labels.jsonl", "labels.jsonl", inputs, metric)
    n_sample, sample_assets = 0, scan_assets(root / "sample", "sample/")
    if (root / "sample/assets").exists() and not has_sample:
        raise checks.fail("sample/assets needs sample/inputs.jsonl and sample/labels.jsonl beside it")
    if has_sample:
        sample = read_inputs(
            root / "sample/inputs.jsonl", "sample/inputs.jsonl", assets=sample_assets, check_input=shape
        )
        check_labels(root / "sample/labels.jsonl", "sample/labels.jsonl", sample, metrics[0])
        n_sample = len(sample)
    return {
        "n_items": len(inputs),
        "n_sample_items": n_sample,
        "assets": assets,
        "sample_assets": sample_assets,
        "ids": list(inputs),
    }


def _primary_metric(doc: dict, scorer: dict | None) -> evaluators.Metric:
    """The built-in metric named by `metric`, or, with a scorer, the scorer's primary score."""
    if scorer is not None:
        return challenge_metric(metric=primary_name(doc), scorer=scorer)
    try:
        return evaluators.get_metric(checks.text(doc, "metric", required=True, limit=64))
    except evaluators.MetricError as exc:
        raise checks.fail(str(exc)) from None


def _shape(protocol: str) -> Callable[[Any], str | None] | None:
    return {"interactive": check_item_input, "agent": check_agent_input}.get(protocol)


def _environment(doc: dict, protocol: str, metric: str, secondary: list[str]) -> dict | None:
    """An agent challenge's environment (checked by environments.parse_environment); others have none."""
    from arena.services.environments import parse_environment

    if protocol != "agent":
        if "environment" in doc:
            raise checks.fail("'environment' belongs to 'protocol: agent' challenges only")
        return None
    if metric != checks.AGENT_METRIC or secondary:
        raise checks.fail(
            f"an agent challenge is scored on its environment's final state: metric must be "
            f"{checks.AGENT_METRIC}, with no secondary metrics"
        )
    return parse_environment(doc.get("environment"))


def load_version_files(root: Path, metric: evaluators.Metric, protocol: str = "batch") -> tuple[int, dict[str, int]]:
    """Validate a new hidden-set version (inputs.jsonl, labels.jsonl, and assets/ if its items
    reference any); returns its size and its assets."""
    for name in ("inputs.jsonl", "labels.jsonl"):
        if not (root / name).is_file():
            raise checks.fail(f"{name} is missing; a new version holds inputs.jsonl and labels.jsonl")
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
        raise checks.fail(f"{name} was sent twice")
    unpack_part(folder, name, stream)


def unpack_part(folder: Path, name: str, stream) -> None:
    """Unpack an assets tar part (`assets.tar`, `sample/assets.tar`) into its place in the bundle
    folder: regular files with valid asset names only, within the limits."""
    try:
        unpack_assets(stream, folder / ASSET_PARTS[name], limits=ASSET_LIMITS)
    except UnpackError as exc:
        raise checks.fail(f"{name}: {exc}") from None
