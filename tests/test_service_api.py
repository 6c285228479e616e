"""Service API in-process (TestClient) on SQLite and PostgreSQL: uploads, bad uploads, match
reports, and every role × action of the access rules (404 outside a workspace, 403 below the
role). Analyses themselves run in ``test_service_server.py``; here the job queue only records.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from test_service_storage import (
    BROKEN_ZIPS,
    GEOJSON,
    leftovers,
    postgres_database,
    reset_postgres,
    zip_bytes,
)

from dongne.datasets import data_path
from dongne.io import write_layer
from dongne.service import Settings, create_app, create_user
from dongne.service.models import Run

GU = data_path("seoul_gu_2013.geojson")
GU_TABLE = data_path("seoul_gu_indicators.csv")


# Reading files does not depend on the database: these tests run on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("world", ["sqlite"], indirect=True)


class RecordingJobs:
    """Stands in for the job manager: records what would run, cancels what is asked."""

    def __init__(self) -> None:
        self.submitted: list[tuple[int, dict]] = []
        self.cancelled: list[int] = []

    def submit(self, run_id: int, spec: dict) -> None:
        self.submitted.append((run_id, spec))

    def cancel(self, run_id: int) -> bool:
        self.cancelled.append(run_id)
        return True

    def shutdown(self) -> None:
        pass


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@dataclass
class World:
    """Workspace 'city' (owner admin, editor ed, viewer vi), 'partner' (owner pa), and nobody."""

    client: TestClient
    settings: Settings
    tokens: dict[str, str]
    jobs: RecordingJobs
    ids: dict[str, int] = field(default_factory=dict)

    def h(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def upload(self, user, ws, data: bytes | Path, kind, filename, **params):
        body = data.read_bytes() if isinstance(data, Path) else data
        return self.client.post(
            f"/workspaces/{ws}/datasets",
            params={"kind": kind, "filename": filename, **params},
            content=body,
            headers=self.h(user),
        )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory) -> Iterator[World]:
    """One world per database for the module; tests that change it use their own objects."""
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_url")
        reset_postgres(url)
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("service") / "data",
        database_url=url,
        max_upload_bytes=2 * 1024**2,
        max_unpacked_bytes=2 * 1024**2,
        warm_worker=False,  # no analysis runs here: the job queue only records
        open_workspaces=True,  # 'pa' creates 'partner' (the default is off on PostgreSQL)
    )
    admin = create_user(settings, "admin", workspace="city", workspace_name="Seoul City Hall")
    with TestClient(create_app(settings)) as client:
        jobs = RecordingJobs()
        client.app.state.jobs = jobs
        w = World(client, settings, {"admin": admin.token}, jobs)
        for name in ("ed", "vi", "pa", "nobody"):
            r = client.post("/users", json={"name": name}, headers=w.h("admin"))
            assert r.status_code == 201, r.text
            w.tokens[name] = r.json()["token"]
        for name, role in (("ed", "editor"), ("vi", "viewer")):
            r = client.put(
                f"/workspaces/city/members/{name}", json={"role": role}, headers=w.h("admin")
            )
            assert r.status_code == 202 and r.json()["status"] == "invited"
            r = client.post("/me/invitations/city/accept", headers=w.h(name))
            assert r.status_code == 200 and r.json()["role"] == role
        assert (
            client.post(
                "/workspaces", json={"slug": "partner", "name": "Partner"}, headers=w.h("pa")
            ).status_code
            == 201
        )
        w.ids["areas"] = w.upload("admin", "city", GU, "areas", "gu.geojson").json()["id"]
        w.ids["table"] = w.upload("ed", "city", GU_TABLE, "table", "gu.csv").json()["id"]
        w.ids["partner_table"] = w.upload("pa", "partner", GU_TABLE, "table", "p.csv").json()["id"]
        w.ids["done_run"] = _done_run(w)
        yield w


def _done_run(w: World) -> int:
    """A finished run of 'city' with an 'areas' result layer written by dongne's writer."""
    out = w.settings.runs_dir / "finished"  # as the job manager leaves a finished run
    gu = gpd.read_file(GU)
    for ext in ("gpkg", "geojson", "csv"):
        (write_layer if ext != "csv" else _csv)(gu, out / f"areas.{ext}")
    with w.client.app.state.sessions() as session:
        run = Run(
            workspace_id=1,
            analysis="detect",
            parameters={},
            status="done",
            progress=1.0,
            message="done",
            summary="made by the test",
            layers=["areas"],
            provenance={"files": ["areas.csv"]},
            output_dir=str(out.relative_to(w.settings.data_dir)),
        )
        session.add(run)
        session.commit()
        return run.id


def _csv(gdf, path: Path) -> None:
    pd.DataFrame(gdf.drop(columns="geometry")).to_csv(path, index=False)


# ------------------------------------------------------------------ uploads and read summaries


def test_upload_areas_returns_what_the_reader_found(world):
    r = world.client.get(f"/datasets/{world.ids['areas']}", headers=world.h("vi"))
    assert r.status_code == 200
    d = r.json()
    assert d["kind"] == "areas" and d["workspace"] == "city" and not d["shared"]
    s = d["summary"]
    assert s["rows"] == 25 and s["crs"] == "EPSG:4326"
    assert s["geometry_types"] == {"MultiPolygon": 25} or sum(s["geometry_types"].values()) == 25
    assert {"gu_code", "gu_name"} <= {c["name"] for c in s["columns"]}
    west, south, east, north = s["bounds_wgs84"]
    assert 126.7 < west < east < 127.3 and 37.4 < south < north < 37.8  # Seoul
    assert s["read"]["source"] == "gu.geojson"  # never the server's path
    assert str(world.settings.data_dir) not in json.dumps(d)


@SQLITE_ONLY
def test_upload_formats(world, tmp_path):
    gu = gpd.read_file(GU)
    table = pd.read_csv(GU_TABLE, dtype={"gu_code": str})
    shp = tmp_path / "shp"
    shp.mkdir()
    gu.to_file(shp / "gu.shp", encoding="cp949")  # Korean attributes in CP949, no .cpg
    (shp / "gu.cpg").unlink(missing_ok=True)
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        for part in shp.iterdir():
            zf.write(part, part.name)
    xlsx, parquet, gpq = io.BytesIO(), io.BytesIO(), io.BytesIO()
    table.to_excel(xlsx, index=False)
    table.to_parquet(parquet)
    gu.to_parquet(gpq)
    cases = [
        ("areas", "gu_shp.zip", zbuf.getvalue(), {}, 25),
        ("areas", "gu.parquet", gpq.getvalue(), {}, 25),
        ("table", "gu.xlsx", xlsx.getvalue(), {}, 25),
        ("table", "gu.parquet", parquet.getvalue(), {}, 25),
        ("table", "basic.csv", data_path("raw/seoul_basic.csv").read_bytes(), {}, 25),
        (
            "points",
            "shelters.csv",
            data_path("seoul_heat_shelters_2023.csv").read_bytes(),
            {"x": "lon", "y": "lat"},
            4133,
        ),
        (  # Seoul's cold-shelter files publish EPSG:5186 in centimetres: xy_scale reads them
            "points",
            "shelters_cm.csv",
            _centimetre_shelters(),
            {"x": "x_cm", "y": "y_cm", "crs": "EPSG:5186", "xy_scale": 0.01},
            4133,
        ),
    ]
    for kind, name, body, params, rows in cases:
        r = world.upload("ed", "city", body, kind, name, **params)
        assert r.status_code == 201, (name, r.text)
        assert r.json()["summary"]["rows"] == rows, name
    by_name = {
        d["filename"]: d
        for d in world.client.get("/workspaces/city/datasets", headers=world.h("vi")).json()
    }
    shp_read = by_name["gu_shp.zip"]["summary"]
    assert shp_read["read"]["encoding"] == "cp949" and "종로구" in json.dumps(
        world.client.get(
            f"/datasets/{by_name['gu_shp.zip']['id']}/download",
            params={"format": "geojson"},
            headers=world.h("vi"),
        ).json(),
        ensure_ascii=False,
    )
    assert by_name["basic.csv"]["summary"]["read"]["encoding"] == "cp949"
    assert by_name["shelters.csv"]["summary"]["crs"] == "EPSG:4326"
    assert leftovers(world.settings) == []


@SQLITE_ONLY
def test_geopackage_with_layers(world, seoul_shared):
    gpkg = seoul_shared / "seoul_boundaries_2013_epsg5174.gpkg"
    r = world.upload("ed", "city", gpkg, "areas", "boundaries.gpkg")
    assert r.status_code == 413  # 2.4 MiB over this test's 2 MiB limit
    with TestClient(create_app(replace(world.settings, max_upload_bytes=10**7))) as client:
        h = world.h("ed")
        p = {"kind": "areas", "filename": "b.gpkg"}
        r = client.post("/workspaces/city/datasets", params=p, content=gpkg.read_bytes(), headers=h)
        assert r.status_code == 400 and "has 2 layers" in r.json()["detail"]
        assert "layer='dong'" in r.json()["detail"] or "'dong'" in r.json()["detail"]
        r = client.post(
            "/workspaces/city/datasets",
            params={**p, "layer": "gu"},
            content=gpkg.read_bytes(),
            headers=h,
        )
        assert r.status_code == 201 and r.json()["summary"]["crs"] == "EPSG:5174"
        assert r.json()["summary"]["rows"] == 25
    assert leftovers(world.settings) == []


@SQLITE_ONLY
def test_match_report_as_json(world):
    big = world.upload(
        "ed", "city", data_path("seoul_dong_indicators_census2010.csv"), "table", "census.csv"
    )
    r = world.client.post(
        "/workspaces/city/match",
        json={"areas": world.ids["areas"], "table": world.ids["table"], "key": "gu_code"},
        headers=world.h("vi"),
    )
    assert r.status_code == 200
    m = r.json()
    assert m["n_areas"] == 25 and m["matched_areas"] == 25 and m["complete"] is True
    assert m["areas_source"] == "gu.geojson" and m["table_source"] == "gu.csv"
    assert "Match report" in m["summary"] and "매칭 보고서" in m["summary"]
    assert "매칭 보고서" in m["summary_ko"] and "Match report" not in m["summary_ko"]
    assert "Match report" in m["summary_en"] and "매칭 보고서" not in m["summary_en"]
    # The 2010 dong census on the 2013 dong boundaries: 7 dongs without data, 8 rows unplaced.
    with TestClient(create_app(replace(world.settings, max_upload_bytes=10**7))) as client:
        h = world.h("ed")
        up = client.post(
            "/workspaces/city/datasets",
            params={"kind": "areas", "filename": "dong.geojson"},
            content=data_path("seoul_dong_2013.geojson").read_bytes(),
            headers=h,
        )
        assert up.status_code == 201
        r = client.post(
            "/workspaces/city/match",
            json={"areas": up.json()["id"], "table": big.json()["id"], "key": "dong_code"},
            headers=h,
        )
    m = r.json()
    assert (m["n_areas"], m["matched_areas"], len(m["unmatched_areas"])) == (423, 416, 7)
    assert (m["n_table_rows"], len(m["unmatched_rows"])) == (424, 8)
    assert {"code": "1101065", "name": "혜화동"}.items() <= m["unmatched_rows"][0].items()


# ------------------------------------------------------------------ bad uploads


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("kind", "filename", "body", "params", "status", "message"),
    [
        ("table", "report.docx", b"PK\x03\x04", {}, 415, "unsupported format '.docx'"),
        ("table", "../../etc/passwd.csv", b"a,b\n1,2\n", {}, 400, "not a plain file name"),
        ("table", "/etc/passwd.csv", b"a,b\n1,2\n", {}, 400, "not a plain file name"),
        ("areas", "gu.geojson", b"\x89PNG\r\n\x1a\n not geojson", {}, 400, "cannot be read as"),
        ("areas", "gu.zip", b"not a zip at all", {}, 400, "is not a zip file"),
        ("areas", "gu.zip", _zip_bytes({"../../etc/passwd": b"x"}), {}, 400, "'..'"),
        ("areas", "gu.zip", _zip_bytes({"/etc/passwd": b"x"}), {}, 400, "absolute"),
        ("areas", "gu.zip", _zip_bytes({"a.shp": bytes(3 * 1024**2)}), {}, 413, "zip bomb"),
        ("areas", "gu.zip", _zip_bytes({"readme.txt": b"x"}), {}, 400, "exactly one shapefile"),
        ("table", "basic.csv", None, {"encoding": "utf-8"}, 400, "cannot be read as 'utf-8'"),
        ("table", "empty.csv", b"", {}, 400, "upload is empty"),
        ("table", "big.csv", b"a\n" + b"1\n" * (1024**2 + 10), {}, 413, "larger than the limit"),
        ("points", "gu.csv", GU_TABLE.read_bytes(), {}, 400, "coordinate"),
    ],
)
def test_bad_uploads_are_4xx_with_clear_messages_and_leave_nothing(
    world, kind, filename, body, params, status, message
):
    if body is None:
        body = data_path("raw/seoul_basic.csv").read_bytes()  # CP949 declared as UTF-8
    before = sorted(p.name for p in world.settings.datasets_dir.iterdir())
    r = world.upload("ed", "city", body, kind, filename, **params)
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]
    assert str(world.settings.data_dir) not in r.json()["detail"]
    assert sorted(p.name for p in world.settings.datasets_dir.iterdir()) == before
    assert leftovers(world.settings) == []


@SQLITE_ONLY
@pytest.mark.parametrize("case", BROKEN_ZIPS)
def test_broken_zips_are_400_naming_the_member_and_leave_nothing(world, case):
    """Each answered 500 before issue 22 (BadZipFile, FileExistsError, OSError 36,
    NotImplementedError) or, for a size declared too large, was read truncated."""
    data, message = BROKEN_ZIPS[case]
    before = sorted(p.name for p in world.settings.datasets_dir.iterdir())
    r = world.upload("ed", "city", data, "areas", "upload.zip")
    assert r.status_code == 400, r.text
    assert message in r.json()["detail"] and "Fix: " in r.json()["detail"]
    assert str(world.settings.data_dir) not in r.json()["detail"]
    assert sorted(p.name for p in world.settings.datasets_dir.iterdir()) == before
    assert leftovers(world.settings) == [] and list(world.settings.tmp_dir.iterdir()) == []


@SQLITE_ONLY
def test_long_hangul_names_are_measured_in_bytes(world):
    """A 104-character Hangul file name (304 bytes) answered 500 (OSError 36) before issue 22;
    85 Hangul syllables (255 bytes) in a member's name are stored and read."""
    r = world.upload("ed", "city", GEOJSON, "areas", "가" * 100 + ".zip")
    assert r.status_code == 400, r.text
    assert "is 304 bytes in UTF-8 (104 characters)" in r.json()["detail"]
    assert leftovers(world.settings) == [] and list(world.settings.tmp_dir.iterdir()) == []
    member = "구" * 83 + ".json"  # 254 bytes
    r = world.upload("ed", "city", zip_bytes([(member, GEOJSON)]), "areas", "동" * 80 + ".zip")
    assert r.status_code == 201, r.text
    assert r.json()["summary"]["rows"] == 1
    download = world.client.get(f"/datasets/{r.json()['id']}/download", headers=world.h("ed"))
    assert download.content == zip_bytes([(member, GEOJSON)])
    assert world.client.delete(f"/datasets/{r.json()['id']}", headers=world.h("ed")).is_success


def test_oversize_stream_without_length_is_stopped(world):
    def chunks():
        for _ in range(40):
            yield b"x" * 100_000  # 4 MB against the 2 MiB limit, no Content-Length

    r = world.client.post(
        "/workspaces/city/datasets",
        params={"kind": "table", "filename": "big.csv"},
        content=chunks(),
        headers=world.h("ed"),
    )
    assert r.status_code == 413 and "2.0 MiB" in r.json()["detail"]
    assert leftovers(world.settings) == []


# ------------------------------------------------------------------ access rules


def _actions(w: World, victim: int) -> dict:
    areas, table = w.ids["areas"], w.ids["table"]
    detect = {"analysis": "detect", "areas": areas, "id_column": "gu_code", "variable": "area_km2"}
    return {
        "list datasets": ("get", "/workspaces/city/datasets", {}),
        "read dataset": ("get", f"/datasets/{areas}", {}),
        "download dataset": ("get", f"/datasets/{table}/download", {}),
        "match": (
            "post",
            "/workspaces/city/match",
            {"json": {"areas": areas, "table": table, "key": "gu_code"}},
        ),
        "list runs": ("get", "/workspaces/city/runs", {}),
        "read run": ("get", "/runs/{run}", {}),
        "run result": ("get", "/runs/{run}/result?format=csv", {}),
        "members": ("get", "/workspaces/city/members", {}),
        "upload": (
            "post",
            "/workspaces/city/datasets?kind=table&filename=t.csv",
            {"content": GU_TABLE.read_bytes()},
        ),
        "start run": ("post", "/workspaces/city/runs", {"json": detect}),
        "cancel run": ("post", "/runs/{queued}/cancel", {}),
        "delete dataset": ("delete", f"/datasets/{victim}", {}),
        "share": ("post", f"/datasets/{victim}/shares", {"json": {"workspace": "partner"}}),
        "set member": ("put", "/workspaces/city/members/ed", {"json": {"role": "editor"}}),
        "audit log": ("get", "/workspaces/city/audit", {}),
    }


_READ = (
    "list datasets",
    "read dataset",
    "download dataset",
    "match",
    "list runs",
    "read run",
    "run result",
    "members",
)
_EDIT = ("upload", "start run", "cancel run", "delete dataset")
_OWN = ("share", "set member", "audit log")
_OK = {"upload": 201, "start run": 202, "cancel run": 202, "delete dataset": 204, "share": 202}


def _expected(user: str, action: str) -> int:
    if user in ("pa", "nobody"):
        return 404  # not a member: the workspace and its contents do not exist for them
    needed = "viewer" if action in _READ else "editor" if action in _EDIT else "owner"
    rank = {"admin": 0, "ed": 1, "vi": 2}[user]
    if rank > ("owner", "editor", "viewer").index(needed):
        return 403
    return _OK.get(action, 200)


@pytest.mark.parametrize("user", ["admin", "ed", "vi", "pa", "nobody"])
def test_every_role_and_action(world, user):
    done = world.ids["done_run"]
    victims = [
        world.upload("admin", "city", b"code,n\n01,1\n", "table", "tiny.csv").json()["id"]
        for _ in range(2)
    ]
    queued = world.client.post(
        "/workspaces/city/runs",
        json={
            "analysis": "scan",
            "areas": world.ids["areas"],
            "id_column": "gu_code",
            "cases": "area_km2",
        },
        headers=world.h("admin"),
    ).json()["id"]
    for action, (method, url, kwargs) in _actions(world, victims.pop()).items():
        if action == "share":  # the dataset was deleted just before (when allowed)
            method, url, kwargs = _actions(world, victims.pop())[action]
        url = url.format(run=done, queued=queued)
        r = getattr(world.client, method)(url, headers=world.h(user), **kwargs)
        assert r.status_code == _expected(user, action), (user, action, r.text)
        if r.status_code in (403, 404):
            detail = r.json()["detail"]
            assert ("not found" in detail) if r.status_code == 404 else ("needs" in detail)


def test_missing_or_wrong_token_is_401(world):
    r = world.client.get("/workspaces")
    assert r.status_code == 401 and "Authorization: Bearer" in r.json()["detail"]
    assert r.headers["www-authenticate"] == "Bearer"
    r = world.client.get("/workspaces", headers={"Authorization": "Bearer dn_guess"})
    assert r.status_code == 401
    assert world.client.get("/health").json()["status"] == "ok"


def test_not_found_does_not_leak_existence(world):
    """An outsider sees the same 404 for an existing and a non-existing id."""
    h = world.h("pa")
    real = world.client.get(f"/datasets/{world.ids['areas']}", headers=h)
    fake = world.client.get("/datasets/99999", headers=h)
    assert real.status_code == fake.status_code == 404
    assert real.json()["detail"].replace(str(world.ids["areas"]), "N") == fake.json()[
        "detail"
    ].replace("99999", "N")
    ws_real = world.client.get("/workspaces/city", headers=h)
    ws_fake = world.client.get("/workspaces/no-such", headers=h)
    assert ws_real.status_code == ws_fake.status_code == 404


def test_sharing_is_read_only_and_revocable(world):
    areas = world.ids["areas"]
    r = world.client.post(
        f"/datasets/{areas}/shares", json={"workspace": "partner"}, headers=world.h("admin")
    )
    assert r.status_code == 202
    h = world.h("pa")
    r = world.client.post(f"/workspaces/partner/offers/{areas}/accept", headers=h)
    assert r.status_code == 201 and r.json()["created_by"] == "admin"
    listed = world.client.get("/workspaces/partner/datasets", headers=h).json()
    shared = next(d for d in listed if d["id"] == areas)
    assert shared["shared"] is True and shared["workspace"] == "city"
    assert shared["shared_with"] == []  # other share targets are not revealed
    assert world.client.get(f"/datasets/{areas}/download", headers=h).status_code == 200
    # usable in the partner's own analyses, joined with the partner's own table
    run = world.client.post(
        "/workspaces/partner/runs",
        json={
            "analysis": "detect",
            "areas": areas,
            "table": world.ids["partner_table"],
            "id_column": "gu_code",
            "variable": "households_2015",
            "permutations": 99,
        },
        headers=h,
    )
    assert run.status_code == 202 and run.json()["status"] == "queued"
    spec = world.jobs.submitted[-1][1]
    assert spec["inputs"]["areas"]["dataset_id"] == areas and spec["parameters"]["seed"] == 0
    # but read-only
    assert world.client.delete(f"/datasets/{areas}", headers=h).status_code == 403
    r = world.client.post(f"/datasets/{areas}/shares", json={"workspace": "partner"}, headers=h)
    assert r.status_code == 403 and "read-only" in r.json()["detail"]
    # city's private table is still invisible to the partner, and unusable in its runs
    assert world.client.get(f"/datasets/{world.ids['table']}", headers=h).status_code == 404
    r = world.client.post(
        "/workspaces/partner/runs",
        json={
            "analysis": "detect",
            "areas": areas,
            "table": world.ids["table"],
            "id_column": "gu_code",
            "variable": "households_2015",
        },
        headers=h,
    )
    assert r.status_code == 404
    # the city cannot use the partner's table through its own workspace either
    r = world.client.post(
        "/workspaces/city/match",
        headers=world.h("admin"),
        json={"areas": areas, "table": world.ids["partner_table"], "key": "gu_code"},
    )
    assert r.status_code == 404
    assert (
        world.client.delete(
            f"/datasets/{areas}/shares/partner", headers=world.h("admin")
        ).status_code
        == 204
    )
    assert world.client.get(f"/datasets/{areas}", headers=h).status_code == 404


def test_audit_log_records_who_did_what(world):
    areas = world.ids["areas"]
    world.client.post(
        f"/datasets/{areas}/shares", json={"workspace": "partner"}, headers=world.h("admin")
    )
    world.client.post(f"/workspaces/partner/offers/{areas}/accept", headers=world.h("pa"))
    world.client.get(f"/datasets/{areas}/download", headers=world.h("pa"))
    world.client.post(
        "/workspaces/city/runs",
        json={"analysis": "detect", "areas": areas, "id_column": "gu_code", "variable": "area_km2"},
        headers=world.h("ed"),
    )
    log = world.client.get("/workspaces/city/audit?limit=1000", headers=world.h("admin")).json()
    seen = {(e["user"], e["action"], e["target_type"]) for e in log}
    assert {
        ("admin", "upload", "dataset"),
        ("ed", "upload", "dataset"),
        ("admin", "share_offer", "dataset"),
        ("pa", "share_accepted", "dataset"),
        ("pa", "download", "dataset"),  # the data owner sees who downloaded the shared data
        ("ed", "run", "run"),
        ("admin", "member_invite", "user"),
        ("ed", "member_join", "user"),
    } <= seen
    assert log[0]["id"] > log[-1]["id"]  # newest first
    upload = next(e for e in log if e["action"] == "upload" and e["target_id"] == areas)
    assert upload["user"] == "admin" and upload["detail"]["filename"] == "gu.geojson"
    assert len(upload["detail"]["sha256"]) == 64
    partner_log = world.client.get("/workspaces/partner/audit", headers=world.h("pa")).json()
    assert any(e["action"] == "share_received" for e in partner_log)


def test_last_owner_cannot_leave(world):
    r = world.client.delete("/workspaces/city/members/admin", headers=world.h("admin"))
    assert r.status_code == 409 and "no owner left" in r.json()["detail"]
    r = world.client.put(
        "/workspaces/city/members/admin", json={"role": "viewer"}, headers=world.h("admin")
    )
    assert r.status_code == 409
    assert (
        world.client.put(
            "/workspaces/city/members/ed", json={"role": "owner"}, headers=world.h("admin")
        ).status_code
        == 200
    )
    assert (
        world.client.delete("/workspaces/city/members/admin", headers=world.h("admin")).status_code
        == 204
    )
    assert world.client.get("/workspaces/city", headers=world.h("admin")).status_code == 404


def test_tokens_can_be_added_and_revoked(world):
    r = world.client.post("/me/tokens", json={"label": "laptop"}, headers=world.h("vi"))
    assert r.status_code == 201
    new = r.json()
    assert new["token"].startswith("dn_")
    h = {"Authorization": f"Bearer {new['token']}"}
    assert world.client.get("/me", headers=h).json()["user"]["name"] == "vi"
    listed = world.client.get("/me/tokens", headers=h).json()
    assert {t["label"] for t in listed} == {"first token", "laptop"}
    assert all("token" not in t for t in listed)
    assert world.client.delete(f"/me/tokens/{new['id']}", headers=world.h("vi")).status_code == 204
    assert world.client.get("/me", headers=h).status_code == 401
    assert world.client.post("/users", json={"name": "x"}, headers=world.h("vi")).status_code == 403


def test_run_requests_are_validated(world):
    h = world.h("ed")
    bad = [
        {
            "analysis": "detect",
            "areas": world.ids["areas"],
            "id_column": "gu_code",
            "variable": "v",
            "permutations": 0,
        },
        {"analysis": "teleport", "areas": world.ids["areas"]},
        {
            "analysis": "scan",
            "areas": world.ids["areas"],
            "table": world.ids["table"],
            "cases": "c",
        },
    ]
    for body in bad:
        assert world.client.post("/workspaces/city/runs", json=body, headers=h).status_code == 422
    r = world.client.post(
        "/workspaces/city/runs",
        json={
            "analysis": "detect",
            "areas": world.ids["table"],
            "id_column": "gu_code",
            "variable": "v",
        },
        headers=h,
    )
    assert r.status_code == 400 and "is table; this input needs areas" in r.json()["detail"]
    r = world.client.get(f"/runs/{world.ids['done_run']}/result?layer=sites", headers=h)
    assert r.status_code == 404 and "layers: areas" in r.json()["detail"]


def test_openapi_describes_errors_and_bodies(world):
    spec = world.client.get("/openapi.json").json()
    upload = spec["paths"]["/workspaces/{workspace}/datasets"]["post"]
    assert "application/octet-stream" in upload["requestBody"]["content"]
    assert {"400", "401", "403", "404", "413", "415"} <= set(upload["responses"])
    assert upload["responses"]["413"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ErrorOut"
    )
    runs = spec["paths"]["/workspaces/{workspace}/runs"]["post"]
    schema = runs["requestBody"]["content"]["application/json"]["schema"]
    assert schema["discriminator"]["propertyName"] == "analysis"
    result = spec["paths"]["/runs/{run_id}/result"]["get"]["responses"]["200"]["content"]
    assert {"application/geo+json", "text/csv", "application/geopackage+sqlite3"} <= set(result)


def _centimetre_shelters() -> bytes:
    """The bundled shelters with their EPSG:5186 coordinates in centimetres (x 100)."""
    import pandas as pd

    table = pd.read_csv(data_path("seoul_heat_shelters_2023.csv"))
    table = table.dropna(subset=["x_epsg5186", "y_epsg5186"])
    return (
        table.assign(x_cm=table["x_epsg5186"] * 100, y_cm=table["y_epsg5186"] * 100)
        .drop(columns=["lon", "lat", "x_epsg5186", "y_epsg5186"])
        .to_csv(index=False)
        .encode()
    )


def test_workspace_creation_can_be_reserved_to_administrators(world):
    """--open-workspaces false: only administrators create workspaces; the default is off in
    production (a non-SQLite database) and on for the SQLite trial set-up."""
    assert Settings(data_dir=".").open_workspaces is True
    assert Settings(data_dir=".", database_url="postgresql://u@h/d").open_workspaces is False
    pg = Settings(data_dir=".", database_url="postgresql://u@h/d", open_workspaces=True)
    assert pg.production and pg.open_workspaces
    with TestClient(create_app(replace(world.settings, open_workspaces=False))) as client:
        r = client.post("/workspaces", json={"slug": "squat", "name": "S"}, headers=world.h("pa"))
        assert r.status_code == 403 and "--open-workspaces true" in r.json()["detail"]
        r = client.post("/workspaces", json={"slug": "gu-office-1", "name": "G"},
                        headers=world.h("admin"))  # fmt: skip
        assert r.status_code == 201 and r.json()["role"] == "owner"
    # a taken slug is refused without repeating it
    r = world.client.post("/workspaces", json={"slug": "city", "name": "C"}, headers=world.h("pa"))
    assert r.status_code == 409 and "city" not in r.json()["detail"]


def test_serve_open_workspaces_flag_reaches_the_settings(monkeypatch, tmp_path):
    import dongne.service.bootstrap as bootstrap
    from dongne.cli import main

    seen = []
    monkeypatch.setattr(bootstrap, "serve", lambda settings, **kw: seen.append(settings))
    monkeypatch.delenv("DONGNE_OPEN_WORKSPACES", raising=False)
    assert main(["serve", "--data-dir", str(tmp_path), "--open-workspaces", "false"]) == 0
    assert main(["serve", "--data-dir", str(tmp_path)]) == 0
    assert [s.open_workspaces for s in seen] == [False, True]
    assert main(["serve", "--data-dir", str(tmp_path), "--open-workspaces", "maybe"]) == 2


def test_members_join_only_by_accepting_an_invitation(world):
    """Owners invite; the user accepts or declines. Unknown names get the same answer."""
    admin = world.h("admin")
    r = world.client.post("/workspaces", json={"slug": "invite-lab", "name": "I"}, headers=admin)
    assert r.status_code == 201
    r = world.client.post("/users", json={"name": "newbie"}, headers=admin)
    newbie = {"Authorization": f"Bearer {r.json()['token']}"}
    real = world.client.put("/workspaces/invite-lab/members/newbie", json={"role": "viewer"},
                            headers=admin)  # fmt: skip
    ghost = world.client.put("/workspaces/invite-lab/members/ghost", json={"role": "viewer"},
                             headers=admin)  # fmt: skip
    assert real.status_code == ghost.status_code == 202  # no user enumeration
    assert real.json() == {"user": "newbie", "role": "viewer", "status": "invited"}
    assert ghost.json() == {"user": "ghost", "role": "viewer", "status": "invited"}
    # invited is not a member: the workspace stays invisible until accepted
    assert world.client.get("/workspaces/invite-lab", headers=newbie).status_code == 404
    (invitation,) = world.client.get("/me/invitations", headers=newbie).json()
    assert (invitation["workspace"], invitation["role"], invitation["invited_by"]) == (
        "invite-lab", "viewer", "admin")  # fmt: skip
    members = world.client.get("/workspaces/invite-lab/members", headers=admin).json()
    assert "newbie" not in [m["user"] for m in members]
    # declining leaves nothing; an invitation cannot be accepted twice or for another workspace
    assert world.client.delete("/me/invitations/invite-lab", headers=newbie).status_code == 204
    r = world.client.post("/me/invitations/invite-lab/accept", headers=newbie)
    assert r.status_code == 404 and "not found" in r.json()["detail"]
    assert world.client.get("/me/invitations", headers=newbie).json() == []
    lab = "/workspaces/invite-lab/members/newbie"
    world.client.put(lab, json={"role": "editor"}, headers=admin)
    r = world.client.post("/me/invitations/partner/accept", headers=newbie)
    assert r.status_code == 404
    r = world.client.post("/me/invitations/invite-lab/accept", headers=newbie)
    assert r.status_code == 200 and (r.json()["slug"], r.json()["role"]) == ("invite-lab", "editor")
    assert world.client.get("/workspaces/invite-lab", headers=newbie).json()["role"] == "editor"
    assert world.client.delete(lab, headers=admin).status_code == 204


def test_owners_list_and_withdraw_the_invitations_they_sent(world):
    """Owners see every name they invited, existing or not, declined or not (issue 22: they
    could not list them at all); accepting moves a name to the members, withdrawing ends it."""
    admin = world.h("admin")
    assert world.client.post("/workspaces", json={"slug": "sent-lab", "name": "S"},
                             headers=admin).status_code == 201  # fmt: skip
    r = world.client.post("/users", json={"name": "invitee"}, headers=admin)
    invitee = {"Authorization": f"Bearer {r.json()['token']}"}
    for name in ("invitee", "phantom", "refuser"):
        r = world.client.put(f"/workspaces/sent-lab/members/{name}", json={"role": "viewer"},
                             headers=admin)  # fmt: skip
        assert r.status_code == 202
    r = world.client.post("/users", json={"name": "refuser"}, headers=admin)  # made later
    sent = world.client.get("/workspaces/sent-lab/invitations", headers=admin).json()
    assert [(i["user"], i["role"], i["invited_by"]) for i in sent] == [
        ("invitee", "viewer", "admin"), ("phantom", "viewer", "admin"),
        ("refuser", "viewer", "admin")]  # fmt: skip
    # the audit log says nothing more about the real name than about the phantom
    events = world.client.get("/workspaces/sent-lab/audit", headers=admin).json()
    invites = [e for e in events if e["action"] == "member_invite"]
    assert {(e["target_id"], tuple(sorted(e["detail"]))) for e in invites} == {
        (None, ("name", "role"))}  # fmt: skip
    # a user created after the invitation did not receive it
    refuser = {"Authorization": f"Bearer {r.json()['token']}"}
    assert world.client.get("/me/invitations", headers=refuser).json() == []
    # declining changes nothing in the owners' list
    assert world.client.delete("/me/invitations/sent-lab", headers=invitee).status_code == 204
    again = world.client.get("/workspaces/sent-lab/invitations", headers=admin).json()
    assert [(i["user"], i["role"]) for i in again] == [(i["user"], i["role"]) for i in sent]
    # withdrawn: the user can no longer accept; a second withdrawal is 404
    world.client.put("/workspaces/sent-lab/members/invitee", json={"role": "editor"},
                     headers=admin)  # fmt: skip
    assert world.client.delete("/workspaces/sent-lab/invitations/invitee",
                               headers=admin).status_code == 204  # fmt: skip
    r = world.client.post("/me/invitations/sent-lab/accept", headers=invitee)
    assert r.status_code == 404
    r = world.client.delete("/workspaces/sent-lab/invitations/invitee", headers=admin)
    assert r.status_code == 404
    # accepted: off the list, among the members
    world.client.put("/workspaces/sent-lab/members/invitee", json={"role": "editor"},
                     headers=admin)  # fmt: skip
    assert world.client.post("/me/invitations/sent-lab/accept", headers=invitee).is_success
    left = world.client.get("/workspaces/sent-lab/invitations", headers=admin).json()
    assert [i["user"] for i in left] == ["phantom", "refuser"]
    members = world.client.get("/workspaces/sent-lab/members", headers=admin).json()
    assert {"user": "invitee", "role": "editor", "status": "member"} in members
    # only owners see or change the list; non-members get 404
    r = world.client.get("/workspaces/sent-lab/invitations", headers=invitee)
    assert r.status_code == 403
    r = world.client.get("/workspaces/sent-lab/invitations", headers=world.h("pa"))
    assert r.status_code == 404
    r = world.client.delete("/workspaces/sent-lab/invitations/phantom", headers=invitee)
    assert r.status_code == 403


def test_dataset_shares_are_offers_the_receiving_owner_accepts(world):
    """No dataset is pushed into a workspace: it is offered, and a missing workspace gets
    the same answer as an existing one; one created later under that slug receives nothing."""
    # 'partner' (owner pa) offers to 'vi-lab' (owner vi)
    sender, receiver = world.h("pa"), world.h("vi")
    r = world.client.post("/workspaces", json={"slug": "vi-lab", "name": "V"}, headers=receiver)
    assert r.status_code == 201
    ds = world.upload("pa", "partner", b"code,n\n01,1\n", "table", "offer.csv").json()["id"]
    real = world.client.post(f"/datasets/{ds}/shares", json={"workspace": "vi-lab"},
                             headers=sender)  # fmt: skip
    ghost = world.client.post(f"/datasets/{ds}/shares", json={"workspace": "inst-future"},
                              headers=sender)  # fmt: skip
    assert real.status_code == ghost.status_code == 202  # no workspace enumeration
    assert {k: v for k, v in real.json().items() if k != "workspace"} == {
        k: v for k, v in ghost.json().items() if k != "workspace"}  # fmt: skip
    assert real.json()["status"] == "offered"
    # offered is not shared
    assert world.client.get(f"/datasets/{ds}", headers=receiver).status_code == 404
    assert world.client.get(f"/datasets/{ds}/shares", headers=sender).json() == []
    offers = world.client.get("/workspaces/vi-lab/offers", headers=receiver).json()
    offer = next(o for o in offers if o["dataset_id"] == ds)
    assert (offer["name"], offer["from_workspace"], offer["offered_by"]) == (
        "offer.csv", "partner", "pa")  # fmt: skip
    # only owners of the receiving workspace decide
    r = world.client.post(f"/workspaces/vi-lab/offers/{ds}/accept", headers=sender)
    assert r.status_code == 404
    r = world.client.delete(f"/workspaces/vi-lab/offers/{ds}", headers=receiver)
    assert r.status_code == 204
    assert world.client.get(f"/datasets/{ds}", headers=receiver).status_code == 404
    r = world.client.post(f"/workspaces/vi-lab/offers/{ds}/accept", headers=receiver)
    assert r.status_code == 404 and "not found" in r.json()["detail"]
    world.client.post(f"/datasets/{ds}/shares", json={"workspace": "vi-lab"}, headers=sender)
    r = world.client.post(f"/workspaces/vi-lab/offers/{ds}/accept", headers=receiver)
    assert r.status_code == 201 and r.json()["workspace"] == "vi-lab"
    assert world.client.get(f"/datasets/{ds}", headers=receiver).json()["shared"] is True
    # the slug offered to before it existed: its new owner finds no offer and no dataset
    r = world.client.post("/workspaces", json={"slug": "inst-future", "name": "F"},
                          headers=world.h("nobody"))  # fmt: skip
    assert r.status_code == 201
    nobody = world.h("nobody")
    assert world.client.get("/workspaces/inst-future/offers", headers=nobody).json() == []
    assert world.client.get("/workspaces/inst-future/datasets", headers=nobody).json() == []
