"""Persistence: SQLAlchemy tables, Alembic migrations, repositories taking a connection."""
