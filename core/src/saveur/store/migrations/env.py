"""Alembic environment for developers (``alembic -c ... revision``).

saveur itself never runs this file: :mod:`saveur.store._db` drives alembic's
``EnvironmentContext`` directly on an open connection.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from saveur.store._schema import metadata

config = context.config
url = config.get_main_option("sqlalchemy.url") or "sqlite:///saveur-dev.db"

if context.is_offline_mode():
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
