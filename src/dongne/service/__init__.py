"""The dongne web service: institutions share datasets and run analyses through an HTTP API.

``dongne serve`` (or ``python -m dongne.service``) starts it; ``docs/service.md`` explains
set-up, PostgreSQL, institutions, sharing, every endpoint and the security model.

Public API
----------
create_app, Settings, create_user, NewUser, serve.
"""

from dongne.service.app import create_app
from dongne.service.bootstrap import NewUser, create_user, serve
from dongne.service.settings import Settings

__all__ = ["NewUser", "Settings", "create_app", "create_user", "serve"]
