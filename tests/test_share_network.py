"""Federated training between real processes on loopback (``--serve`` / ``--join``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dongne.cli import main as dongne_main
from dongne.errors import DataError
from dongne.io.tables import read_table
from dongne.share import FederationError, Institution, federate
from dongne.share.network import join, serve

pytest.importorskip("mlflow")

FEATURES = ["a", "b"]
SECRET = "test-secret"
COMMAND = [sys.executable, "-m", "dongne.cli", "share"]


def main(argv: list[str]) -> int:
    """``dongne share ARGV``."""
    return dongne_main(["share", *argv])


def _tables():
    rng = np.random.default_rng(7)
    out = {}
    for k, n in enumerate([40, 60, 80]):
        X = rng.normal(k, 1.0, (n, 2))
        out[f"gu{k}"] = pd.DataFrame(X, columns=FEATURES).assign(
            y=X @ [1.0, -0.5] + 2.0 + rng.normal(0, 0.2, n)
        )
    return out


def _card(path: Path) -> Path:
    path.write_text(
        json.dumps(
            {
                "intended_use": "test",
                "data_sources": ["synthetic"],
                "training_regions": ["gu0", "gu1", "gu2"],
                "training_period": "2020",
                "metrics": {},
            }
        ),
        "utf-8",
    )
    return path


def _start_server(tmp_path: Path, extra: list[str]) -> tuple[subprocess.Popen, int]:
    env = {**os.environ, "DONGNE_FEDERATION_SECRET": SECRET}
    server = subprocess.Popen(
        [*COMMAND, "--registry", str(tmp_path / "reg"), "federate", "--serve",
         "--institutions", "3", "--port", "0", "--target", "y", "--features", "a,b",
         "--rounds", "8", "--epsilon", "8", "--clip-norm", "0.5", "--timeout", "60",
         "--register", "fed", "--card", str(_card(tmp_path / "card.json")), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    line = server.stdout.readline()
    assert line.startswith("listening on 127.0.0.1:"), server.stderr.read()
    return server, int(line.rsplit(":", 1)[1])


def _start_client(port: int, name: str, table: Path, seed: int) -> subprocess.Popen:
    env = {**os.environ, "DONGNE_FEDERATION_SECRET": SECRET}
    return subprocess.Popen(
        [*COMMAND, "federate", "--join", f"127.0.0.1:{port}", "--name", name,
         "--table", str(table), "--seed", str(seed)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def test_processes_on_loopback_give_the_in_process_model_exactly(tmp_path):
    tables = _tables()
    paths = {}
    for name, table in tables.items():
        paths[name] = tmp_path / f"{name}.csv"
        table.to_csv(paths[name], index=False)
    server, port = _start_server(tmp_path, ["--out", str(tmp_path / "institutions.csv")])
    clients = [_start_client(port, n, paths[n], seed=k) for k, n in enumerate(tables)]
    outs = [c.communicate(timeout=120) for c in clients]
    s_out, s_err = server.communicate(timeout=120)
    assert server.returncode == 0, s_err
    assert all(c.returncode == 0 for c in clients), [o[1] for o in outs]
    assert "Registered fed/1" in s_out
    assert "ok after 8 rounds" in outs[0][0]
    # the same institutions, seeds and settings in one process give identical numbers
    local = federate(
        [Institution(n, read_table(paths[n]), seed=k) for k, n in enumerate(tables)],
        "y", FEATURES, rounds=8, epsilon=8.0, clip_norm=0.5,
    )  # fmt: skip
    from dongne.share import ModelRegistry

    remote = ModelRegistry(tmp_path / "reg").load("fed/1")
    np.testing.assert_array_equal(remote.params_, local.model.params_)
    card = ModelRegistry(tmp_path / "reg").get("fed/1").card
    assert card.privacy["epsilon_spent"]["gu0"] == pytest.approx(8.0)
    published = pd.read_csv(tmp_path / "institutions.csv")
    assert published["institution"].tolist() == ["gu0", "gu1", "gu2"]


def test_failing_institution_below_minimum_leaves_nothing_registered(tmp_path, capsys, monkeypatch):
    # same CLI code path, with the coordinator and institutions as threads (fast)
    tables = _tables()
    tables["gu2"] = tables["gu2"].drop(columns="b")
    ports: list[int] = []
    ready = threading.Event()
    codes: dict[str, object] = {}
    import dongne.share.network as network

    original = network.serve

    def serve_reporting_port(*args, **kwargs):
        def listening(host, port):
            ports.append(port)
            ready.set()

        return original(*args, **{**kwargs, "on_listening": listening})

    def coordinator():
        argv = ["--registry", str(tmp_path / "reg"), "federate", "--serve", "--institutions",
                "3", "--port", "0", "--target", "y", "--features", "a,b", "--rounds", "4",
                "--min-institutions", "3", "--timeout", "30", "--secret", SECRET,
                "--register", "fed", "--card", str(_card(tmp_path / "card.json"))]  # fmt: skip
        codes["server"] = main(argv)

    def institution(name):
        try:
            codes[name] = join(name, tables[name], port=ports[0], secret=SECRET, seed=0)
        except Exception as err:
            codes[name] = err

    monkeypatch.setattr(network, "serve", serve_reporting_port)
    server = threading.Thread(target=coordinator)
    server.start()
    assert ready.wait(30)
    members = [threading.Thread(target=institution, args=(n,)) for n in tables]
    for t in [*members]:
        t.start()
    for t in [*members, server]:
        t.join(60)
    err = capsys.readouterr().err
    assert codes["server"] == 2
    assert "dropped out in round 0" in err and "'gu2'" in err
    assert "columns ['b'] are missing" in err
    assert "Nothing was produced or registered" in err
    assert isinstance(codes["gu2"], DataError)
    assert codes["gu0"]["status"] == "failed"
    assert not (tmp_path / "reg" / "artifacts").exists()


def test_wrong_secret_is_refused():
    errors: list[BaseException] = []
    ports: list[int] = []
    ready = threading.Event()

    def coordinator():
        try:
            serve(1, "y", FEATURES, port=0, secret="right", timeout=3.0,
                  on_listening=lambda h, p: (ports.append(p), ready.set()))  # fmt: skip
        except BaseException as err:
            errors.append(err)

    thread = threading.Thread(target=coordinator)
    thread.start()
    assert ready.wait(10)
    with pytest.raises(ConnectionError, match="authentication failed|closed"):
        join("gu0", _tables()["gu0"], port=ports[0], secret="wrong", timeout=5.0)
    thread.join(20)
    assert isinstance(errors[0], FederationError)
    assert "Only 0 of 1 institutions connected" in str(errors[0])
