"""Alembic environment: migrations run on the connection that truceline hands over."""

from alembic import context

from truceline.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - `alembic` CLI use
    from sqlalchemy import create_engine

    from truceline.settings import database_url

    connection = create_engine(database_url(None)).connect()

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
