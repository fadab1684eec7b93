"""Alembic environment: runs on the connection newsmon hands over, or on
NEWSMON_DATABASE_URL / alembic.ini's URL when run as plain `alembic`."""
import os

from alembic import context
from sqlalchemy import create_engine

from storage.models import Base, include_object

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                          include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()
        return
    from storage.db import normalize_url

    url = os.environ.get("NEWSMON_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True,
                          include_object=include_object)
        with context.begin_transaction():
            context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
