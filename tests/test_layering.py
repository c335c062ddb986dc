"""The layering the architecture fixes: lower packages never import arena; one module imports
docker; no package reaches into another's private modules; no import cycles; the node program and
the team CLI stay clear of the services and the database."""

import ast
import functools
from collections.abc import Iterable, Iterator
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

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
    users = [
        p.relative_to(ROOT).as_posix()
        for p in python_files("arena", "evaluators", "sandbox", "hidden_sets")
        if "docker" in imported_modules(p)
    ]
    assert users == ["sandbox/_docker.py"]


def test_public_names_are_exported():
    for module in (evaluators, hidden_sets, sandbox):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


# -- the import graph of the product packages -----------------------------------------------------
PACKAGES = ("arena", "evaluators", "hidden_sets", "sandbox")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in python_files(*PACKAGES)}


def _absolute(node: ast.ImportFrom, module: str) -> str:
    if node.level == 0:
        return node.module or ""
    package = module.split(".")[:-1] if MODULES[module].name != "__init__.py" else module.split(".")
    package = package[: len(package) - node.level + 1]
    return ".".join(package + ([node.module] if node.module else []))


def imported_names(statements: Iterable[ast.AST], module: str) -> Iterator[str]:
    """Dotted names of what these statements import (`from p import m` names p.m when m is a
    module)."""
    for node in statements:
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module)
            for alias in node.names:
                yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base


def module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements run when the module is imported: its body, and module-level if/try blocks, but
    not `if TYPE_CHECKING:` (nor function or class bodies)."""
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from module_level(node.orelse)
        elif isinstance(node, (ast.If, ast.Try)):
            handlers = [handler.body for handler in getattr(node, "handlers", [])]
            for block in (node.body, node.orelse, getattr(node, "finalbody", []), *handlers):
                yield from module_level(block)
        else:
            yield node


@functools.cache
def import_graph(*, deferred: bool) -> dict[str, set[str]]:
    """Module -> the product modules it imports: at module level, or (deferred) anywhere, inside
    functions too."""
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        statements = ast.walk(tree) if deferred else module_level(tree.body)
        graph[module] = {name for name in imported_names(statements, module) if name in MODULES}
        graph[module].discard(module)
    return graph


def test_the_import_graph_sees_imports_of_every_kind():
    """The checks below are only as good as the graph, so it is checked on known imports."""
    graph = import_graph(deferred=False)
    assert "arena.services.publiclog" in graph["arena.services.leaderboard"]  # from pkg import mod
    assert "hidden_sets" in graph["arena.services.publiclog"]  # from package import name
    assert "arena.services.accounts" not in graph["arena.cli.admin_cmds"]  # inside a function
    assert "arena.services.accounts" in import_graph(deferred=True)["arena.cli.admin_cmds"]


def test_no_module_imports_another_packages_private_module():
    found = []
    for module, path in MODULES.items():
        own = module.split(".")[0]
        for name in imported_names(ast.walk(ast.parse(path.read_text())), module):
            parts = name.split(".")
            private = any(part.startswith("_") for part in parts[1:])
            if parts[0] in PACKAGES and parts[0] != own and private:
                found.append(f"{module} imports {name}")
    assert not found, "import it from the package (its __init__) instead:\n" + "\n".join(found)


def test_the_domain_package_imports_neither_services_nor_the_database():
    """arena/domain decides without the database or a service, so that the team CLI and `arena
    verify` can use it offline: its imports anywhere (inside functions too) are checked."""
    forbidden = ("arena.services", "arena.models", "arena.db", "arena.runtime", "arena.cli", "flask", "sqlalchemy")
    domain = [m for m in MODULES if m.startswith("arena.domain.")]
    assert "arena.domain.ranking" in domain
    found = [
        f"{module} imports {name}"
        for module in domain
        for name in imported_names(ast.walk(ast.parse(MODULES[module].read_text())), module)
        if any(name == bad or name.startswith(f"{bad}.") for bad in forbidden)
    ]
    assert not found, "\n".join(found)


def test_no_import_cycle_at_module_level():
    try:
        list(TopologicalSorter(import_graph(deferred=False)).static_order())
    except CycleError as error:
        pytest.fail(f"import cycle at module level: {' -> '.join(error.args[1])}")


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph[module])
    return seen


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected components of more than one module."""
    reach = {module: reachable(graph, module) for module in graph}
    on_cycle = [m for m in graph if any(m in reach[imported] for imported in graph[m])]
    return {frozenset(other for other in reach[m] if m in reach[other]) for m in on_cycle}


# Cycles closed only by imports inside functions. They work, but each is a knot to untie: no new
# one may appear, and one that is untied leaves this list.
KNOWN_DEFERRED_CYCLES: list[set[str]] = []  # none left (issue 15 untied the last four)


def test_no_new_import_cycle_through_imports_inside_functions():
    found = cycles(import_graph(deferred=True))
    new = [sorted(c) for c in found if not any(c <= known for known in KNOWN_DEFERRED_CYCLES)]
    assert not new, f"new import cycles (through imports inside functions): {new}"


def test_every_known_deferred_cycle_is_still_there():
    found = cycles(import_graph(deferred=True))
    gone = [sorted(known) for known in KNOWN_DEFERRED_CYCLES if not any(c & known for c in found)]
    assert not gone, f"untied, so take them off KNOWN_DEFERRED_CYCLES: {gone}"


def with_packages(module: str) -> list[str]:
    """Importing a.b.c runs a/__init__.py and a/b/__init__.py first."""
    parts = module.split(".")
    return [name for n in range(1, len(parts) + 1) if (name := ".".join(parts[:n])) in MODULES]


def module_level_closure(module: str) -> dict[str, str | None]:
    """Every product module that importing `module` runs, with the module that imported it (None
    for `module` and its packages)."""
    graph = import_graph(deferred=False)
    via: dict[str, str | None] = dict.fromkeys(with_packages(module))
    todo = [(m, start) for start in via for name in graph[start] for m in with_packages(name)]
    while todo:
        current, parent = todo.pop()
        if current not in via:
            via[current] = parent
            todo.extend((m, current) for name in graph[current] for m in with_packages(name))
    return via


def _chain(via: dict[str, str | None], module: str) -> str:
    chain = [module]
    while via[chain[-1]] is not None:
        chain.append(via[chain[-1]])
    return " <- ".join(chain)


def server_side(module: str | None) -> bool:
    return module in ("arena.db", "arena.models") or (module or "").startswith("arena.services")


@pytest.mark.parametrize(
    "entry",
    [
        "arena.client",  # the thin API client
        "arena.cli.node_cmds",  # the GPU-node program (node-run)
        "arena.cli.client_cmds",  # the team CLI
        "arena.cli.verify",  # arena verify
    ],
)
def test_node_program_and_team_cli_import_neither_services_nor_the_database(entry):
    via = module_level_closure(entry)
    ways_in = [_chain(via, m) for m in sorted(via) if server_side(m) and not server_side(via[m])]
    assert not ways_in, f"{entry} imports, at module level:\n" + "\n".join(ways_in)


def test_tests_mirror_the_package_layout():
    """tests/arena/services/ tests arena/services/, and so on; tests/end_to_end/ runs the whole
    platform and tests/attacks/ the hostile catalogue."""
    own = {"end_to_end", "attacks"}
    folders = [
        path.relative_to(ROOT / "tests")
        for path in (ROOT / "tests").rglob("*")
        if path.is_dir() and "__pycache__" not in path.parts and not path.name.startswith(".")
    ]
    strays = [f"tests/{f}" for f in folders if f.parts[0] not in own and not (ROOT / f / "__init__.py").exists()]
    assert not strays, f"test folders that mirror no package: {strays}"
    assert {Path("arena/services"), Path("arena/evaluation"), Path("arena/domain")} <= set(folders)
