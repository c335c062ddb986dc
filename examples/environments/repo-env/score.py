"""Score the final state of a repo-repair item: run every test function of the hidden test files
staged in /arena/hidden (plain Python, no pytest) against the repository in the working directory,
each file in a fresh interpreter with a time limit, and print the share that passed (0 to 1) as
the last line. What the tests expected is never printed: only counts."""

import subprocess
import sys
from pathlib import Path

HIDDEN = Path("/arena/hidden")
RUNNER = """
import importlib.util, sys
sys.dont_write_bytecode = True
sys.path.insert(0, ".")
spec = importlib.util.spec_from_file_location("hidden_test", sys.argv[1])
module = importlib.util.module_from_spec(spec)
try:
    spec.loader.exec_module(module)
except BaseException:
    print("0 0"); raise SystemExit
names = [n for n in dir(module) if n.startswith("test_") and callable(getattr(module, n))]
passed = 0
for name in names:
    try:
        getattr(module, name)()
        passed += 1
    except BaseException:
        pass
print(passed, len(names))
"""


def run(path: Path) -> tuple[int, int]:
    try:
        done = subprocess.run([sys.executable, "-c", RUNNER, str(path)], capture_output=True, text=True, timeout=20)
        passed, total = (int(x) for x in done.stdout.split()[-2:])
    except (subprocess.TimeoutExpired, ValueError):
        return 0, 1
    return passed, max(total, 1)


def main() -> None:
    files = sorted(HIDDEN.glob("test_*.py"))
    results = [run(path) for path in files]
    passed, total = sum(p for p, _ in results), sum(t for _, t in results)
    print(f"{passed} of {total} hidden tests passed")
    print(f"{passed / total if total else 0.0:.4f}")


if __name__ == "__main__":
    main()
