"""Alembic migrations of the service database (applied by :func:`dongne.service.db.migrate`)."""
