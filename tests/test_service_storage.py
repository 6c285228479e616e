"""Service storage: migrations on SQLite and PostgreSQL, settings, tokens, safe uploads.

Also holds the helpers the other ``test_service_*`` files import (a fresh PostgreSQL database
per test module, an authenticated client world).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import secrets
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.exc import OperationalError

from dongne.cli import main as dongne_main
from dongne.errors import SpecificationError
from dongne.service import Settings, create_user
from dongne.service.auth import hash_token, role_at_least
from dongne.service.db import alembic_config, make_engine, make_sessions, migrate
from dongne.service.models import ApiToken, Base, User
from dongne.service.storage import UploadRejected, check_filename, receive_upload, unpack_zip

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database ``dongne_test_<random>`` on the local PostgreSQL, dropped afterwards.

    Skips when PostgreSQL is unreachable, unless the environment variable CI is set: in CI
    (where ``.ci/run`` starts PostgreSQL) an unreachable server fails the tests.
    """
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        conn = engine.connect()
    except OperationalError as exc:
        engine.dispose()
        reason = f"PostgreSQL at 127.0.0.1:5432 (user postgres) is unreachable: {exc.orig}"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI is set, so PostgreSQL must run)")
        pytest.skip(reason + "; start it with pg_ctlcluster, or set CI to make this fail")
    name = f"dongne_test_{secrets.token_hex(6)}"
    conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.close()
        engine.dispose()


def reset_postgres(url: str) -> None:
    """Empty the database at ``url`` (drop and re-create its public schema)."""
    engine = make_engine(Settings(data_dir=".", database_url=url))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def leftovers(settings: Settings) -> list[str]:
    """Files or folders in the service's data folder that are not complete datasets or runs."""
    found = []
    for folder in (settings.datasets_dir, settings.runs_dir, settings.tmp_dir):
        if folder.is_dir():
            found += [str(p) for p in folder.iterdir() if p.name.startswith((".", "upload-"))]
    return found


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def settings(request, tmp_path) -> Settings:
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        reset_postgres(url)
    return Settings(data_dir=tmp_path / "data", database_url=url)


def test_migrations_create_the_models_schema_and_are_idempotent(settings):
    engine = make_engine(settings)
    migrate(engine)
    migrate(engine)  # up to date: nothing to do
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0002"
    assert {"users", "api_tokens", "workspaces", "memberships", "datasets"} <= set(
        inspect(engine).get_table_names()
    )
    with engine.begin() as conn:  # the downgrade removes every table
        command.downgrade(alembic_config(conn), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_sqlite_is_the_default_in_the_data_folder(tmp_path):
    s = Settings(data_dir=tmp_path)
    assert s.url.get_backend_name() == "sqlite"
    engine = make_engine(s)
    migrate(engine)
    engine.dispose()
    assert (tmp_path / "dongne.sqlite3").is_file()


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DONGNE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DONGNE_DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("DONGNE_MAX_UPLOAD_MB", "1.5")
    s = Settings.from_env(max_jobs=3)
    assert s.data_dir == tmp_path
    assert s.url.drivername == "postgresql+psycopg" and s.url.database == "db"
    assert s.max_upload_bytes == int(1.5 * 1024**2) and s.max_jobs == 3
    with pytest.raises(SpecificationError, match="max_jobs"):
        Settings(data_dir=tmp_path, max_jobs=0)


def test_tokens_are_random_shown_once_and_stored_hashed(settings):
    first = create_user(settings, "admin", workspace="lab", workspace_name="Lab")
    second = create_user(settings, "kim")
    assert first.is_admin and not second.is_admin  # only the first user is administrator
    assert first.token.startswith("dn_") and len(first.token) >= 3 + 43  # 256 bits, base64
    assert first.token != second.token
    engine = make_engine(settings)
    with make_sessions(engine)() as session:
        stored = session.scalars(select(ApiToken.token_hash)).all()
        assert hash_token(first.token) in stored and first.token not in stored
        assert all(len(h) == 64 for h in stored)
        assert session.scalar(select(User).where(User.name == "kim")) is not None
    engine.dispose()
    with pytest.raises(SpecificationError, match="exists already"):
        create_user(settings, "kim")
    assert "shown only now" in first.summary() and "'lab'" in first.summary()


def test_roles_are_ordered():
    assert role_at_least("owner", "editor") and role_at_least("editor", "editor")
    assert not role_at_least("viewer", "editor") and not role_at_least("editor", "owner")


def test_create_user_on_the_command_line(tmp_path, capsys):
    args = ["--data-dir", str(tmp_path), "--create-user", "admin", "--workspace", "seoul-lab"]
    assert dongne_main(["serve", *args]) == 0
    out = capsys.readouterr().out
    assert "Created administrator 'admin'" in out and "dn_" in out
    assert (tmp_path / "dongne.sqlite3").is_file()
    # the same name again: a plain one-line error, status 2
    assert dongne_main(["serve", *args]) == 2
    assert "exists already" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd.csv", "/etc/passwd.csv", "C:\\data.csv", "a/b.csv", "..", "x\x00.csv"],
)
def test_file_names_with_paths_are_refused(name):
    with pytest.raises(UploadRejected, match="not a plain file name") as info:
        check_filename(name, "table")
    assert info.value.status_code == 400


def test_unsupported_suffix_is_415_and_names_the_supported_ones():
    with pytest.raises(UploadRejected, match=r"\.docx.*Supported: \.csv") as info:
        check_filename("report.docx", "table")
    assert info.value.status_code == 415
    assert check_filename("gu.zip", "areas") == "gu.zip"


async def _chunks(n: int, size: int):
    for _ in range(n):
        yield b"x" * size


def test_upload_stream_stops_at_the_limit_and_removes_the_part(tmp_path):
    with pytest.raises(UploadRejected, match="larger than the limit of 0.0 MiB") as info:
        asyncio.run(receive_upload(_chunks(10, 1000), tmp_path, limit=5000))
    assert info.value.status_code == 413
    assert list(tmp_path.iterdir()) == []
    path, size, digest = asyncio.run(receive_upload(_chunks(5, 1000), tmp_path, limit=5000))
    assert size == 5000 and path.read_bytes() == b"x" * 5000 and len(digest) == 64


def _zip(tmp_path: Path, members: dict[str, bytes], link: str | None = None) -> Path:
    path = tmp_path / "upload.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


@pytest.mark.parametrize(
    ("members", "link", "message"),
    [
        ({"../../etc/passwd": b"x"}, None, r"'\.\.'"),
        ({"/etc/passwd": b"x"}, None, "absolute"),
        ({"..\\..\\evil.shp": b"x"}, None, "absolute or Windows"),
        ({"a.shp": b"x"}, "a.dbf", "symbolic link"),
    ],
)
def test_zip_with_path_tricks_unpacks_nothing(tmp_path, members, link, message):
    dest = tmp_path / "out"
    with pytest.raises(UploadRejected, match=message) as info:
        unpack_zip(_zip(tmp_path, members, link), dest, max_unpacked=10**6)
    assert info.value.status_code == 400
    assert not dest.exists()


def test_zip_bomb_is_refused_before_unpacking(tmp_path):
    bomb = _zip(tmp_path, {"a.shp": bytes(3 * 1024**2)})
    assert bomb.stat().st_size < 20_000  # 3 MiB of zeros compress to a few KiB
    dest = tmp_path / "out"
    with pytest.raises(UploadRejected, match=r"unpack to 3\.0 MiB, more than the limit") as info:
        unpack_zip(bomb, dest, max_unpacked=1024**2)
    assert info.value.status_code == 413 and not dest.exists()


def test_not_a_zip(tmp_path):
    fake = tmp_path / "gu.zip"
    fake.write_bytes(io.BytesIO(b"PK not really").getvalue())
    with pytest.raises(UploadRejected, match="is not a zip file"):
        unpack_zip(fake, tmp_path / "out", 10**6)
