"""The layering the architecture fixes: lower packages never import arena; one module imports docker."""

import ast
from pathlib import Path

import evaluators
import hidden_sets
import sandbox

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def python_files(*folders: str):
    for folder in folders:
        yield from (ROOT / folder).rglob("*.py")


def test_lower_layers_never_import_arena_or_each_other():
    lower = {"evaluators", "sandbox", "hidden_sets"}
    for path in python_files(*lower):
        own = path.relative_to(ROOT).parts[0]
        bad = imported_modules(path) & ({"arena", "flask", "sqlalchemy"} | (lower - {own}))
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_exactly_one_module_imports_docker():
    users = [p.relative_to(ROOT).as_posix() for p in python_files("arena", "evaluators", "sandbox", "hidden_sets")
             if "docker" in imported_modules(p)]
    assert users == ["sandbox/_docker.py"]


def test_public_names_are_exported():
    for module in (evaluators, hidden_sets, sandbox):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"
