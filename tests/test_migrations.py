"""Alembic is the only way the schema is made: the migrations must match the models, and go
down and up again cleanly, on SQLite (the embedded default) and PostgreSQL (production)."""

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from arena.db import alembic_config, make_engine, upgrade
from arena.models import Base


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/m.db"
    return request.getfixturevalue("postgres_database")


def test_migrations_match_the_models(url):
    engine = make_engine(url)
    upgrade(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()


def test_downgrade_to_base_and_up_again(url):
    engine = make_engine(url)
    upgrade(engine)
    command.downgrade(alembic_config(engine), "base")
    upgrade(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    engine.dispose()
