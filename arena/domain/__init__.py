"""Arena's pure domain code: what decides without touching the database, the file store or a
service. Bundle documents and reward rules are checked here, rewards allocated and decided,
results ranked, boards and reports written as CSV, method cards checked; the services call these
functions, and so do the team CLI and `arena verify`, which must reach the same answers offline.

Modules here import only the standard library, pure third-party libraries, `evaluators`,
`hidden_sets` and the leaf modules `arena.errors` and `arena.timeutil`; never
`arena.services`, `arena.models`, `arena.db`, flask or SQLAlchemy (tests/test_layering.py)."""
