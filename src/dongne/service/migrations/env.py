"""Alembic environment: migrate the connection handed over by :func:`dongne.service.db.migrate`.

Alembic runs this file with ``alembic.context`` set up. Imported any other way (pytest's
doctest collection imports every module) it does nothing.
"""

from alembic import context

from dongne.service.models import Base

_config = getattr(context, "config", None)
if _config is not None:
    _connection = _config.attributes["connection"]
    context.configure(
        connection=_connection,
        target_metadata=Base.metadata,
        render_as_batch=_connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
