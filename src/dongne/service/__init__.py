"""The dongne web service: institutions share datasets and run analyses through an HTTP API.

``dongne serve`` (or ``python -m dongne.service``) starts it; ``docs/service.md`` explains
set-up, PostgreSQL, institutions, sharing, every endpoint and the security model.

It needs the ``service`` extra (``pip install 'dongne[service]'``: FastAPI, uvicorn,
SQLAlchemy, Alembic, psycopg). Importing any part of this package without them raises
:class:`dongne.errors.MissingDependencyError` naming the extra, before the first module that
would fail (psycopg is checked when a PostgreSQL URL is used).

Public API
----------
create_app, Settings, create_user, NewUser, serve.
"""

from dongne._optional import import_optional

for _module in ("fastapi", "uvicorn", "sqlalchemy", "alembic"):
    import_optional(_module, "service", "The web service (dongne serve)")

# The checks above run first, so that a core install gets one line naming the extra.
from dongne.service.app import create_app  # noqa: E402
from dongne.service.bootstrap import NewUser, create_user, serve  # noqa: E402
from dongne.service.settings import Settings  # noqa: E402

__all__ = ["NewUser", "Settings", "create_app", "create_user", "serve"]
