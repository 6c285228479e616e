"""Federated training across processes or machines: choose the engine, check TLS, run a side.

:func:`serve_federation` coordinates and :func:`join_federation` takes part, on dongne's own
protocol (:mod:`dongne.share.network`, signed but not encrypted: use a TLS tunnel) or on
Flower's gRPC transport (:mod:`dongne.share.flower`, TLS with ``tls_ca``/``tls_cert``/
``tls_key``). The TLS rules are checked here, before anything listens or connects, so a
coordinator never starts unencrypted because a certificate option was forgotten.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from dongne.errors import SpecificationError

__all__ = ["check_tls", "join_federation", "serve_federation"]

Engine = Literal["dongne", "flower"]


def check_tls(
    engine: str,
    *,
    serving: bool,
    tls_ca: str | Path | None = None,
    tls_cert: str | Path | None = None,
    tls_key: str | Path | None = None,
) -> tuple[bytes, ...] | None:
    """Check the TLS options of one side of a federation and read the PEM files.

    Parameters
    ----------
    engine : {"dongne", "flower"}
        Only Flower's transport is encrypted; dongne's own protocol refuses TLS options.
    serving : bool
        The coordinator needs the CA, its certificate and its key; an institution the CA.
    tls_ca, tls_cert, tls_key : path, optional
        PEM files (``--tls-ca``, ``--tls-cert``, ``--tls-key`` on the command line).

    Returns
    -------
    tuple of bytes or None
        ``(ca, cert, key)`` when serving with TLS, ``(ca,)`` when joining with TLS, else None.
    """
    if (tls_cert or tls_key) and not tls_ca:
        raise SpecificationError(
            "--tls-cert/--tls-key need --tls-ca too (without it the link would not be encrypted)."
        )
    if not tls_ca:
        return None
    if engine != "flower":
        raise SpecificationError(
            "--tls-ca/--tls-cert/--tls-key are for --engine flower (dongne's own protocol is "
            "not encrypted: use a TLS tunnel)."
        )
    if serving:
        if not (tls_cert and tls_key):
            raise SpecificationError("--tls-ca on --serve needs --tls-cert and --tls-key.")
        return tuple(Path(p).read_bytes() for p in (tls_ca, tls_cert, tls_key))
    return (Path(tls_ca).read_bytes(),)


def join_federation(
    name: str,
    table: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    engine: Engine = "dongne",
    secret: str | None = None,
    seed: int | None = None,
    timeout: float = 600.0,
    tls_ca: str | Path | None = None,
) -> dict[str, Any]:
    """Take part in a federation as institution ``name`` (see :func:`dongne.share.network.join`
    and :func:`dongne.share.flower.join`); returns their outcome dictionary."""
    certificates = check_tls(engine, serving=False, tls_ca=tls_ca)
    options: dict[str, Any] = dict(host=host, port=port, secret=secret, seed=seed, timeout=timeout)
    if engine == "flower":
        from dongne.share import flower

        return flower.join(
            name, table, root_certificates=certificates[0] if certificates else None, **options
        )
    from dongne.share import network

    return network.join(name, table, **options)


def serve_federation(
    institutions: int,
    target: str,
    features: Sequence[str],
    *,
    engine: Engine = "dongne",
    host: str = "127.0.0.1",
    port: int = 8765,
    secret: str | None = None,
    timeout: float = 600.0,
    tls_ca: str | Path | None = None,
    tls_cert: str | Path | None = None,
    tls_key: str | Path | None = None,
    on_listening: Callable[[str, int], None] | None = None,
    **options: Any,
):
    """Coordinate ``institutions`` institutions that join over the network.

    ``options`` are :func:`dongne.share.federate`'s training options. Secure aggregation and
    distributed noise need Flower's simulation engine (:func:`dongne.share.federate` with
    ``engine="flower"``): a network coordinator averages in the clear, so they are refused.
    """
    if options.pop("secure_aggregation", False) or options.pop("noise", "local") != "local":
        raise SpecificationError(
            "--secure-aggregation and --noise distributed run with --tables --engine flower "
            "(Flower's simulation engine); a --serve coordinator averages in the clear."
        )
    if not institutions:
        raise SpecificationError("--serve needs --institutions N.")
    certificates = check_tls(
        engine, serving=True, tls_ca=tls_ca, tls_cert=tls_cert, tls_key=tls_key
    )
    common = dict(host=host, port=port, secret=secret, timeout=timeout, on_listening=on_listening)
    if engine == "flower":
        from dongne.share import flower

        return flower.serve(
            institutions, target, list(features), certificates=certificates, **common, **options
        )
    from dongne.share import network

    return network.serve(institutions, target, list(features), **common, **options)
