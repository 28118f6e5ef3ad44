"""Alembic migrations of the store's database, applied automatically when a store opens."""
