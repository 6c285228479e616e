"""Flower deployment: a Flower server (``--serve --engine flower``) and one Flower client per
institution (``--join --engine flower``) as separate processes on loopback, over TLS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_share_network import FEATURES, _card, _tables

from dongne.io.tables import read_table
from dongne.share import Institution, ModelRegistry, federate

pytestmark = pytest.mark.slow  # pytest -m "not slow" skips Flower, Dask clusters and the demo

pytest.importorskip("flwr", reason="the flower extra (pip install 'dongne[flower]')")

COMMAND = [sys.executable, "-m", "dongne.cli", "share"]


def _certificates(folder: Path) -> dict[str, Path]:
    """A throw-away CA and a server certificate for 127.0.0.1, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)

    def cert(subject, issuer, public_key, signer, *, ca, san=None):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = cert("dongne test CA", "dongne test CA", ca_key.public_key(), ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    server = cert("127.0.0.1", "dongne test CA", key.public_key(), ca_key, ca=False, san=san)
    paths = {name: folder / f"{name}.pem" for name in ("ca", "cert", "key")}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def _run(args: list[str], secret: str) -> subprocess.Popen:
    env = {**os.environ, "DONGNE_FEDERATION_SECRET": secret}
    return subprocess.Popen([*COMMAND, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)  # fmt: skip


def _serve(
    tmp_path: Path, certs: dict[str, Path], extra: list[str]
) -> tuple[subprocess.Popen, int]:
    server = _run(
        ["--registry", str(tmp_path / "reg"), "federate", "--serve", "--engine", "flower",
         "--institutions", "3", "--port", "0", "--target", "y", "--features", "a,b",
         "--rounds", "6", "--epsilon", "8", "--clip-norm", "0.5", "--timeout", "60",
         "--tls-ca", str(certs["ca"]), "--tls-cert", str(certs["cert"]),
         "--tls-key", str(certs["key"]), *extra],
        "test-secret",
    )  # fmt: skip
    line = server.stdout.readline()
    assert line.startswith("listening on 127.0.0.1:"), server.stderr.read()
    return server, int(line.rsplit(":", 1)[1])


def _join(port: int, name: str, path: Path, seed: int, ca: Path, secret: str) -> subprocess.Popen:
    return _run(
        ["federate", "--join", f"127.0.0.1:{port}", "--engine", "flower", "--name", name,
         "--table", str(path), "--seed", str(seed), "--tls-ca", str(ca), "--timeout", "60"],
        secret,
    )  # fmt: skip


def _paths(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name, table in _tables().items():
        paths[name] = tmp_path / f"{name}.csv"
        table.to_csv(paths[name], index=False)
    return paths


def test_flower_server_and_clients_over_tls_give_the_in_process_model(tmp_path):
    certs = _certificates(tmp_path)
    paths = _paths(tmp_path)
    server, port = _serve(
        tmp_path, certs, ["--register", "fed", "--card", str(_card(tmp_path / "card.json"))]
    )
    # joined in reverse order: the coordinator orders institutions by name
    clients = [
        _join(port, n, paths[n], k, certs["ca"], "test-secret")
        for k, n in reversed(list(enumerate(paths)))
    ]
    outs = [c.communicate(timeout=180) for c in clients]
    s_out, s_err = server.communicate(timeout=180)
    assert server.returncode == 0, s_err
    assert all(c.returncode == 0 for c in clients), [o[1][-2000:] for o in outs]
    assert "Registered fed/1" in s_out
    assert all("ok after 6 rounds" in o[0] for o in outs)
    local = federate(
        [Institution(n, read_table(paths[n]), seed=k) for k, n in enumerate(paths)],
        "y", FEATURES, rounds=6, epsilon=8.0, clip_norm=0.5,
    )  # fmt: skip
    registry = ModelRegistry(tmp_path / "reg")
    # Flower averages θ + update_k where dongne adds the mean update: equal to rounding
    np.testing.assert_allclose(registry.load("fed/1").params_, local.model.params_, atol=1e-12)
    card = registry.get("fed/1").card
    assert card.privacy["epsilon_spent"]["gu0"] == pytest.approx(8.0)


def test_flower_institution_with_the_wrong_secret_is_refused(tmp_path):
    certs = _certificates(tmp_path)
    paths = _paths(tmp_path)
    server, port = _serve(tmp_path, certs, ["--min-institutions", "3"])
    names = list(paths)
    clients = [
        _join(port, n, paths[n], k, certs["ca"], "wrong" if n == "gu1" else "test-secret")
        for k, n in enumerate(names)
    ]
    outs = [c.communicate(timeout=180) for c in clients]
    _, s_err = server.communicate(timeout=180)
    assert server.returncode != 0
    assert "dropped out in round 0" in s_err and "Nothing was produced" in s_err
    # the institution with the wrong secret rejected the coordinator's proof itself
    assert "failed after 0 rounds. The coordinator failed authentication" in outs[1][0]
    assert "failed" in outs[0][0]  # an honest institution learns the run did not finish
    assert not (tmp_path / "reg" / "artifacts").exists()
