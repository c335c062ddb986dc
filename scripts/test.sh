#!/usr/bin/env bash
# Set up what the tests need (Docker engine, virtual environment, base and example images,
# PostgreSQL, a one-node Slurm cluster, Chromium and axe-core), type-check with mypy (settings in
# pyproject.toml), then run the whole test suite on SQLite, and the service
# and API tests once more on PostgreSQL. Extra arguments go to both pytest runs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# Slurm with its accounting database (slurmdbd on MariaDB), for `arena rewards grant`.
export ARENA_SLURM_ACCOUNTING=${ARENA_SLURM_ACCOUNTING-1}
ARENA_SETUP_SERVICES=${ARENA_SETUP_SERVICES-postgres slurm browser podman} bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
echo "[arena tests] lint and format: ruff check, ruff format --check"
"$ROOT/.venv/bin/python" -m ruff check .
"$ROOT/.venv/bin/python" -m ruff format --check .
echo "[arena tests] type checking: mypy (strict on evaluators/, hidden_sets/, sandbox/; basic on arena/)"
"$ROOT/.venv/bin/python" -m mypy
# Coverage of the code the tests run in their own process (arena serve, workers and node-run
# started as processes by the end-to-end tests are not measured).
"$ROOT/.venv/bin/python" -m pytest --cov=arena --cov=evaluators --cov=sandbox --cov=hidden_sets \
  --cov-report= "$@"
echo "[arena tests] coverage (lines and branches run by the tests in their own process)"
"$ROOT/.venv/bin/python" -m coverage report --sort=cover --skip-covered | tail -n 25
echo "[arena tests] the service and API tests again, on PostgreSQL"
ARENA_TEST_DATABASE=postgres exec "$ROOT/.venv/bin/python" -m pytest -q -m "not docker and not slurm and not browser" tests/arena "$@"
