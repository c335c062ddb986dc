"""Sizes a newcomer can read: no product module over 500 lines and no function over 60 (issue 15).

Product modules are the four packages' Python files. Alembic's first revision (one generated table
list) is not in them."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("arena", "evaluators", "hidden_sets", "sandbox")
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def product_modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_the_scan_sees_the_product():
    names = {path.relative_to(ROOT).as_posix() for path in product_modules()}
    assert {"arena/config.py", "sandbox/__init__.py", "evaluators/__init__.py"} <= names


def test_no_product_module_is_over_500_lines():
    long = [
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path in product_modules()
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert not long, "split these along their seams:\n" + "\n".join(long)


def long_functions(path: Path, root: Path = ROOT) -> list[str]:
    functions = (
        node
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    )
    return [
        f"{path.relative_to(root)}:{node.lineno} {node.name}: {lines} lines"
        for node in functions
        if (lines := (node.end_lineno or node.lineno) - node.lineno + 1) > MAX_FUNCTION_LINES
    ]


def test_no_function_is_over_60_lines():
    long = [entry for path in product_modules() for entry in long_functions(path)]
    assert not long, "split these into named steps:\n" + "\n".join(long)


def test_the_function_scan_counts_a_function_from_def_to_its_last_line(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n" + "    x = 1\n" * 60 + "\n\ndef g():\n    pass\n")
    assert long_functions(sample, tmp_path) == ["sample.py:1 f: 61 lines"]
