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
import struct
import warnings
import zipfile
import zlib
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
        version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == "0004_sent"
    tables = {"users", "api_tokens", "workspaces", "memberships", "datasets"}
    assert tables | {"invitations", "dataset_offers", "sent_invitations"} <= set(
        inspect(engine).get_table_names()
    )
    assert "heartbeat_at" in {c["name"] for c in inspect(engine).get_columns("runs")}
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


# Broken zips, built here with zipfile and byte patches of the headers (APPNOTE 4.3.7 local
# file header, 4.3.12 central directory header). Each answered 500 before issue 22.
GEOJSON = (
    b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
    b'{"code": "11010"}, "geometry": {"type": "Polygon", "coordinates": '
    b"[[[126.9, 37.5], [127.0, 37.5], [127.0, 37.6], [126.9, 37.5]]]}}]}"
)
# field: (offset in the local header, offset in the central header, struct format)
_HEADER_FIELDS = {
    "method": (8, 10, "<H"),
    "crc": (14, 16, "<I"),
    "file_size": (22, 24, "<I"),
}


def zip_bytes(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of ``members`` (name, data) in order; names may repeat."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name"
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def patch_zip(data: bytes, member: int = 0, **fields: int) -> bytes:
    """``data`` with header ``fields`` (method, crc, file_size) of ``member`` set in both its
    local and its central directory header, as a lying or damaged archiver would write them."""
    buf = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        local = zf.infolist()[member].header_offset
        central = zf.start_dir
    for _ in range(member):
        n, m, k = struct.unpack_from("<HHH", buf, central + 28)
        central += 46 + n + m + k
    assert buf[local : local + 4] == b"PK\x03\x04" and buf[central : central + 4] == b"PK\x01\x02"
    for name, value in fields.items():
        at_local, at_central, fmt = _HEADER_FIELDS[name]
        struct.pack_into(fmt, buf, local + at_local, value)
        struct.pack_into(fmt, buf, central + at_central, value)
    return bytes(buf)


def _crc(data: bytes) -> int:
    return zlib.crc32(data)


HANGUL_104 = "가" * 96 + ".geojson"  # 104 characters, 296 bytes
# case: (zip bytes, words the 400 must hold); every message also names the member and a fix
BROKEN_ZIPS = {
    "bad CRC": (
        patch_zip(zip_bytes([("gu.geojson", GEOJSON)]), crc=_crc(GEOJSON) ^ 1),
        "its CRC-32 check failed",
    ),
    "size smaller than declared": (
        patch_zip(zip_bytes([("gu.geojson", GEOJSON)]), file_size=len(GEOJSON) - 10),
        "declared uncompressed size is false",
    ),
    "size larger than declared": (
        patch_zip(zip_bytes([("gu.geojson", GEOJSON)]), file_size=len(GEOJSON) + 10),
        f"declares {len(GEOJSON) + 10} bytes uncompressed but holds {len(GEOJSON)}",
    ),
    "stored size larger than declared": (
        patch_zip(
            zip_bytes([("gu.geojson", GEOJSON)], zipfile.ZIP_STORED), file_size=len(GEOJSON) + 1
        ),
        "but holds",
    ),
    "file and folder clash": (
        zip_bytes([("a", b"x"), ("a/gu.geojson", GEOJSON)]),
        "member 'a' is a file, but member 'a/gu.geojson' needs a folder of that name",
    ),
    "folder and file clash": (
        zip_bytes([("a/gu.geojson", GEOJSON), ("./a", b"x")]),
        "member './a' is a file, but member 'a/gu.geojson' needs a folder",
    ),
    "name twice": (
        zip_bytes([("gu.geojson", GEOJSON), ("gu.geojson", b"{}")]),
        "member 'gu.geojson' is in the zip twice",
    ),
    "ASCII name of 256 bytes": (
        zip_bytes([("d" * 252 + ".shp", b"x")]),
        "a file or folder name of 256 bytes in UTF-8 (256 characters)",
    ),
    "Hangul name of 104 characters": (
        zip_bytes([(HANGUL_104, GEOJSON)]),
        "a file or folder name of 296 bytes in UTF-8 (104 characters)",
    ),
    "Hangul folder of 86 characters": (
        zip_bytes([("동" * 86 + "/gu.geojson", GEOJSON)]),
        "a file or folder name of 258 bytes in UTF-8 (86 characters)",
    ),
    "path over 4095 bytes": (
        zip_bytes([("/".join(["d" * 250] * 17) + "/gu.geojson", GEOJSON)]),
        "more than the 4095 bytes a path may have",
    ),
    "compression method 97": (
        patch_zip(zip_bytes([("gu.geojson", GEOJSON)]), method=97),
        "compression method 97 (WavPack), which the service cannot unpack",
    ),
    "compression method 9": (
        patch_zip(zip_bytes([("gu.geojson", GEOJSON)]), method=9),
        "compression method 9 (Deflate64)",
    ),
    "damaged deflate stream": (
        zip_bytes([("gu.geojson", GEOJSON)]).replace(zlib.compress(GEOJSON)[2:12], bytes(10)),
        "member 'gu.geojson' of upload.zip is damaged",
    ),
    "local header overwritten": (
        b"XXXX" + zip_bytes([("gu.geojson", GEOJSON)])[4:],
        "member 'gu.geojson' of upload.zip is damaged (Bad magic number for file header)",
    ),
    "name flagged UTF-8 that is not": (
        zip_bytes([("g\u00fc.geojson", GEOJSON)]).replace("\u00fc".encode(), b"\xff\xfe"),
        "upload.zip is damaged (",
    ),
}


@pytest.mark.parametrize("case", BROKEN_ZIPS)
def test_broken_zips_are_400_naming_the_member_and_leave_nothing(tmp_path, case):
    data, message = BROKEN_ZIPS[case]
    path = tmp_path / "upload.zip"
    path.write_bytes(data)
    dest = tmp_path / "out"
    with pytest.raises(UploadRejected) as info:
        unpack_zip(path, dest, max_unpacked=10**6)
    assert info.value.status_code == 400
    assert message in str(info.value)
    assert "Fix: " in str(info.value)
    assert not dest.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["upload.zip"]


def test_a_sound_zip_unpacks_byte_identical(tmp_path):
    """The checks above refuse nothing sound: 85 Hangul syllables (255 bytes), ``./``, the
    four methods Python reads, and a nested folder."""
    name = "가" * 80 + ".json"  # 85 characters, 245 bytes
    members = [(name, GEOJSON), ("./b/c.txt", b"hello"), ("b/d.txt", b"")]
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        path = tmp_path / f"m{method}.zip"
        path.write_bytes(zip_bytes(members, method))
        files = unpack_zip(path, tmp_path / f"out{method}", max_unpacked=10**6)
        got = {str(f.relative_to(tmp_path / f"out{method}")): f.read_bytes() for f in files}
        assert got == {name: GEOJSON, "b/c.txt": b"hello", "b/d.txt": b""}


def test_long_hangul_upload_name_is_measured_in_bytes():
    name = "가" * 100 + ".zip"  # 104 characters, 304 bytes: OSError 36 before issue 22
    with pytest.raises(UploadRejected, match=r"is 304 bytes in UTF-8 \(104 characters\)") as info:
        check_filename(name, "areas")
    assert info.value.status_code == 400 and "filename=" in str(info.value)
    ok = "가" * 83 + ".zip"  # 253 bytes
    assert check_filename(ok, "areas") == ok
