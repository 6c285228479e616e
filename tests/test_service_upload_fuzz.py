"""Fuzz test of zip uploads (issue 22): random broken zips never answer 5xx and leave nothing.

Hypothesis builds zips with zipfile from random members (ASCII and long Hangul names, folders,
``./`` prefixes, names twice, a file where another member needs a folder, the four methods
Python reads), then breaks them: header fields set to random values in both the local and the
central header (compression method incl. 9 Deflate64 and 97 WavPack, CRC-32, uncompressed
size), random bytes overwritten, the file cut short. Every upload through the API must answer
201 (the zip was sound: its download is byte-identical) or 400/413 with a message ending in a
fix, and the data folder must hold exactly the datasets stored before. Derandomized: the same
examples run every time.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_service_storage import GEOJSON, leftovers, patch_zip, zip_bytes

from dongne.service import Settings, create_app, create_user


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> Iterator[tuple[TestClient, Settings, dict[str, str]]]:
    settings_ = Settings(
        data_dir=tmp_path_factory.mktemp("fuzz") / "data",
        max_upload_bytes=1024**2,
        max_unpacked_bytes=1024**2,
        warm_worker=False,
    )
    admin = create_user(settings_, "admin", workspace="city", workspace_name="City")
    with TestClient(create_app(settings_)) as test_client:
        yield test_client, settings_, {"Authorization": f"Bearer {admin.token}"}


_PARTS = st.one_of(
    st.sampled_from(["a", "b", "gu", ".", "__MACOSX", "동"]),
    st.text(alphabet="가동구읍면리", min_size=80, max_size=110),  # 240-330 bytes
    st.text(alphabet="abc_-. ", min_size=1, max_size=12),
)
_NAMES = st.builds(
    lambda folders, stem, suffix: "/".join([*folders, stem]) + suffix,
    st.lists(_PARTS, max_size=2),
    _PARTS,
    st.sampled_from(["", ".geojson", ".json", ".shp", ".txt", "/"]),
)
_MEMBERS = st.lists(
    st.tuples(_NAMES, st.one_of(st.just(GEOJSON), st.binary(max_size=300))),
    min_size=1,
    max_size=4,
)
_METHODS = st.sampled_from(
    [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
)
_HEADER_PATCHES = st.fixed_dictionaries(
    {},
    optional={
        "method": st.sampled_from([0, 1, 6, 8, 9, 12, 14, 93, 95, 97, 98, 99, 255]),
        "crc": st.integers(0, 2**32 - 1),
        "file_size": st.one_of(st.integers(0, 400), st.integers(0, 2**32 - 1)),
    },
)
# (where, bytes, within the members' part rather than anywhere incl. the central directory)
_BYTE_PATCHES = st.lists(
    st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=4), st.booleans()), max_size=3
)


def _broken(members, method, extra, member, headers, byte_patches, cut) -> bytes:
    first = members[0][0]
    if extra == "clash":  # the first member as a file, and a file in a folder of its name
        members = [*members, (first.rstrip("/") + "/gu.geojson", GEOJSON)]
    elif extra == "twice":
        members = [*members, members[0]]
    data = zip_bytes(members, method)
    if headers:
        data = patch_zip(data, member % len(members), **headers)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members_end = zf.start_dir
    buf = bytearray(data)
    for where, patch, in_members in byte_patches:
        at = int(where * ((members_end if in_members else len(buf)) - 1))
        buf[at : at + len(patch)] = patch
    return bytes(buf[: max(1, int(cut * len(buf)))])


def _reason(detail: str) -> str:
    """The kind of refusal, for Hypothesis' statistics (``--hypothesis-show-statistics``)."""
    for words in (
        "CRC-32",
        "declares",
        "compression method",
        "twice",
        "needs a folder",
        "bytes in UTF-8",
        "a path of",
        "damaged",
        "not a zip",
        "exactly one",
        "could not be read",
        "has ",
        "unpack",
        "stored",
    ):
        if words in detail:
            return words
    return detail[:60]


@settings(
    max_examples=600,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    members=_MEMBERS,
    method=_METHODS,
    extra=st.sampled_from(["", "clash", "twice"]),
    member=st.integers(0, 3),
    headers=_HEADER_PATCHES,
    byte_patches=_BYTE_PATCHES,
    cut=st.sampled_from([1.0, 1.0, 1.0, 1.0, 1.0, 0.99, 0.5]),  # cut short: mostly not a zip
)
def test_random_broken_zips_are_4xx_and_leave_nothing(
    client, members, method, extra, member, headers, byte_patches, cut
):
    test_client, settings_, auth = client
    body = _broken(members, method, extra, member, headers, byte_patches, cut)
    before = sorted(p.name for p in settings_.datasets_dir.iterdir())
    r = test_client.post(
        "/workspaces/city/datasets",
        params={"kind": "areas", "filename": "upload.zip"},
        content=body,
        headers=auth,
    )
    event(f"{r.status_code} {_reason(r.json().get('detail', 'stored'))}")
    if r.status_code == 201:  # a sound zip holding one readable layer: stored as sent
        download = test_client.get(f"/datasets/{r.json()['id']}/download", headers=auth)
        assert download.content == body
        assert test_client.delete(f"/datasets/{r.json()['id']}", headers=auth).is_success
    else:
        assert r.status_code in (400, 413), r.text
        assert "Fix: " in r.json()["detail"], r.text
    assert sorted(p.name for p in settings_.datasets_dir.iterdir()) == before
    assert leftovers(settings_) == [] and list(settings_.tmp_dir.iterdir()) == []
