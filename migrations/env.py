from alembic import context
from sqlalchemy import create_engine, text

from arena.models import Base

config = context.config
target_metadata = Base.metadata


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # Several processes starting at once (API, workers) migrate one after another; the
            # later ones then find nothing left to do. The lock ends with the transaction.
            connection.execute(text("select pg_advisory_xact_lock(727372616)"))
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
