"""Federated training between separate processes or machines: a coordinator and institutions.

The coordinator (:func:`serve`) listens on a TCP port; each institution (:func:`join`)
connects with its own table, which never leaves its process — only the protocol messages of
:class:`dongne.share.Institution` travel: feature sums once, then parameters and updates.
Both sides authenticate each other with HMAC-SHA256 over random challenges and a shared
secret; messages are length-prefixed JSON (numbers only — nothing is unpickled). The
connection is not encrypted: run it on loopback, inside the institutions' network, or through
a TLS tunnel.

A connection that closes, times out or reports an error counts as the institution dropping
out (:class:`~dongne.share.InstitutionDropout`); :func:`dongne.share.federate` goes on with the
others or stops with :class:`~dongne.share.FederationError`.
"""

from __future__ import annotations

import hmac
import json
import secrets
import socket
import struct
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from dongne.errors import SpecificationError
from dongne.share.federated import federate
from dongne.share.protocol import (
    FederatedResult,
    FederationError,
    Institution,
    InstitutionDropout,
    _mac,
    _secret,
)

__all__ = ["RemoteInstitution", "join", "serve"]

_HEADER = struct.Struct("!Q")
_MAX_MESSAGE = 512 * 1024 * 1024
_NONCE = 32


def _send(sock: socket.socket, message: Mapping[str, Any]) -> None:
    payload = json.dumps(message).encode("utf-8")
    sock.sendall(_HEADER.pack(len(payload)) + payload)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks, got = [], 0
    while got < size:
        chunk = sock.recv(min(size - got, 1 << 20))
        if not chunk:
            raise ConnectionError("connection closed by the other side")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _recv(sock: socket.socket) -> dict[str, Any]:
    (size,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
    if size > _MAX_MESSAGE:
        raise ConnectionError(f"message of {size} bytes is larger than allowed")
    return json.loads(_recv_exact(sock, size).decode("utf-8"))




def _authenticate(sock: socket.socket, secret: bytes, role: bytes, other: bytes) -> None:
    """Mutual challenge–response: each side proves it knows ``secret``."""
    mine = secrets.token_bytes(_NONCE)
    sock.sendall(mine)
    theirs = _recv_exact(sock, _NONCE)
    sock.sendall(_mac(secret, theirs, role))
    answer = _recv_exact(sock, 32)
    if not hmac.compare_digest(answer, _mac(secret, mine, other)):
        raise ConnectionError("authentication failed (different shared secret)")




class RemoteInstitution:
    """The coordinator's handle on an institution in another process."""

    def __init__(self, name: str, sock: socket.socket) -> None:
        self.name = name
        self._sock = sock

    def _call(self, method: str, params: Any, config: Mapping[str, Any]) -> dict[str, Any]:
        try:
            _send(self._sock, {"type": method, "params": params, "config": dict(config)})
            reply = _recv(self._sock)
        except (OSError, ValueError) as err:  # closed, reset, timed out, garbled
            self.close()
            raise InstitutionDropout(f"{type(err).__name__}: {err}") from err
        if reply.get("type") == "error":
            self.close()
            raise InstitutionDropout(f"it reported: {reply.get('message')}")
        return reply["result"]

    def stats(self, config: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("stats", None, config)

    def fit(self, params: Any, config: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("fit", params, config)

    def evaluate(self, params: Any, config: Mapping[str, Any]) -> dict[str, Any]:
        return self._call("evaluate", params, config)

    def finish(self, message: Mapping[str, Any]) -> None:
        """Tell the institution training is over (best effort) and close."""
        try:
            _send(self._sock, {"type": "done", **message})
        except OSError:
            pass
        self.close()

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:
            pass


def serve(
    institutions: int,
    target: str,
    features: list[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    secret: str | None = None,
    timeout: float = 600.0,
    on_listening: Callable[[str, int], None] | None = None,
    **options: Any,
) -> FederatedResult:
    """Coordinate federated training with ``institutions`` institutions that connect.

    Parameters
    ----------
    institutions : int
        How many institutions to wait for before training starts.
    target, features
        As in :func:`dongne.share.federate`.
    host, port : str, int
        Address to listen on (``port=0``: any free port, reported to ``on_listening``).
    secret : str, optional
        Shared secret (default ``$DONGNE_FEDERATION_SECRET``).
    timeout : float
        Seconds to wait for a connection or an answer; an institution slower than this
        counts as dropped out.
    on_listening : callable, optional
        Called with the host and the actual port once listening.
    **options
        Passed to :func:`dongne.share.federate` (model, strategy, rounds, epsilon, ...).

    Returns
    -------
    FederatedResult
    """
    key = _secret(secret)
    members: list[RemoteInstitution] = []
    with socket.create_server((host, port)) as server:
        server.settimeout(timeout)
        if on_listening is not None:
            on_listening(*server.getsockname()[:2])
        while len(members) < institutions:
            try:
                sock, _ = server.accept()
            except TimeoutError as err:
                for m in members:
                    m.finish({"status": "failed"})
                raise FederationError(
                    f"Only {len(members)} of {institutions} institutions connected within "
                    f"{timeout:g} s. Fix: start the others with --join, or lower --institutions."
                ) from err
            sock.settimeout(timeout)
            try:
                _authenticate(sock, key, b"server", b"client")
                hello = _recv(sock)
                name = str(hello["name"])
                if name in {m.name for m in members}:
                    _send(sock, {"type": "refused", "message": f"name {name!r} is taken"})
                    sock.close()
                    continue
                _send(sock, {"type": "welcome"})
            except (OSError, ValueError, KeyError):
                sock.close()
                continue
            members.append(RemoteInstitution(name, sock))
    # a fixed order (not the order of connection) keeps sums, and so results, reproducible
    members.sort(key=lambda m: m.name)
    try:
        result = federate(members, target, features, **options)
    except BaseException as err:
        for m in members:
            m.finish({"status": "failed", "message": str(err)})
        raise
    for m in members:
        m.finish({"status": "ok"})
    return result


def join(
    name: str,
    table: pd.DataFrame,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    secret: str | None = None,
    seed: int | None = None,
    timeout: float = 600.0,
) -> dict[str, Any]:
    """Take part in federated training as institution ``name`` with ``table``.

    Runs until the coordinator says training is over. ``seed`` fixes this institution's DP
    noise (for reproducing a run only: a coordinator who knew it could remove the noise).

    Returns
    -------
    dict
        ``status`` (``"ok"`` or ``"failed"``), ``rounds`` trained and the coordinator's
        message.
    """
    key = _secret(secret)
    institution = Institution(name, table, seed=seed)
    rounds = 0
    with socket.create_connection((host, port), timeout=timeout) as sock:
        _authenticate(sock, key, b"client", b"server")
        _send(sock, {"name": name})
        welcome = _recv(sock)
        if welcome.get("type") != "welcome":
            raise SpecificationError(
                f"The coordinator refused institution {name!r}: {welcome.get('message')}. "
                "Fix: use a unique --name."
            )
        while True:
            message = _recv(sock)
            kind = message.get("type")
            if kind == "done":
                return {
                    "status": message.get("status"),
                    "rounds": rounds,
                    "message": message.get("message", ""),
                }
            try:
                if kind == "stats":
                    result = institution.stats(message["config"])
                elif kind == "fit":
                    result = institution.fit(np.asarray(message["params"]), message["config"])
                    rounds += 1
                elif kind == "evaluate":
                    result = institution.evaluate(np.asarray(message["params"]), message["config"])
                else:
                    raise SpecificationError(f"unknown request {kind!r}")
            except Exception as err:  # reported to the coordinator, then this side stops
                _send(sock, {"type": "error", "message": f"{type(err).__name__}: {err}"})
                raise
            _send(sock, {"type": "result", "result": result})
