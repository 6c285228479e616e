"""Property-based tests of the web service against its own OpenAPI description (schemathesis).

Every operation of ``/openapi.json`` is called with requests generated from the schema —
valid ones and deliberately invalid ones (wrong types, missing fields, out-of-range numbers,
odd strings in paths) — by an administrator who owns workspace ``city`` holding the Seoul gu
boundaries (dataset 1) and indicators (dataset 2), on SQLite. No answer may be a server error
(5xx): bad input must be refused with a 4xx that names the problem.
"""

from __future__ import annotations

import tempfile

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from dongne.datasets import data_path  # noqa: E402
from dongne.service import Settings, create_app, create_user  # noqa: E402


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """The app (not yet started) with an administrator's token and two datasets."""
    data = tmp_path_factory.mktemp("schemathesis") / "data"
    # One queued run at a time and no spare worker: generated runs must not load the machine.
    config = Settings(data_dir=data, max_jobs=1, warm_worker=False, max_upload_bytes=2**21)
    token = create_user(config, "admin", workspace="city").token
    app = create_app(config)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        for kind, name in (
            ("areas", "seoul_gu_2013.geojson"),
            ("table", "seoul_gu_indicators.csv"),
        ):
            r = client.post(
                "/workspaces/city/datasets",
                params={"kind": kind, "filename": name},
                content=data_path(name).read_bytes(),
            )
            assert r.status_code == 201, r.text
    return app, token


@pytest.fixture(scope="module")
def api_schema(service):
    return schemathesis.openapi.from_asgi("/openapi.json", service[0])


# Every operation of the OpenAPI description, with valid requests and, where it takes
# parameters or a body, invalid ones (building the app touches no file or database).
OPERATIONS = [
    pytest.param(method.upper(), path, mode, id=f"{method.upper()} {path} {mode.value}")
    for path, item in create_app(Settings(data_dir=tempfile.gettempdir()))
    .openapi()["paths"]
    .items()
    for method, spec in item.items()
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or spec.get("parameters") or spec.get("requestBody")
]


@pytest.mark.parametrize(("method", "path", "mode"), OPERATIONS)
def test_no_operation_answers_with_a_server_error(api_schema, service, method, path, mode):
    operation = api_schema[path][method]
    headers = {"Authorization": f"Bearer {service[1]}"}

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=15,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    check()
