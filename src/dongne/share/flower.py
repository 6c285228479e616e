"""Federated training on Flower: its simulation engine, its FedAvg, and SecAgg+.

``federate(..., engine="flower")`` runs dongne's federated training on Flower (``flwr``,
Beutel et al. 2020) instead of dongne's own loop:

* every institution is a Flower **ClientApp** (a ``NumPyClient`` around
  :class:`~dongne.share.federated.Institution`: the same local steps, clipping and noise),
  run by Flower's **simulation engine** in Ray workers — separate processes, so nothing
  but Flower messages passes between coordinator and institutions;
* the coordinator is a Flower **ServerApp** running Flower's ``DefaultWorkflow`` with a
  strategy derived from Flower's ``FedAvg``: pooled standardisation statistics are asked
  for in ``initialize_parameters`` (``get_properties``), every round is configured and
  aggregated by the strategy (Flower's weighted average for FedAvg, FedProx and DP-FedAvg;
  q-FedAvg with each institution's own loss, see below), and the institutions evaluate
  the final model;
* with ``secure_aggregation=True`` the fit rounds run Flower's **SecAgg+** workflow (Bell
  et al. 2020) and the institutions its ``secaggplus_mod``: updates are quantised, masked
  with pairwise and private masks, and only their weighted sum is ever unmasked.

Differences from Flower's stock strategies, on purpose: Flower's ``QFedAvg`` weights every
client by one *server-side* loss (its ``evaluate_fn``), which needs central data; q-FFL
(Li et al. 2020) weights each institution by its *own* loss, so the strategy here
aggregates q-FedAvg with dongne's rule from the losses the institutions report. Results are
put in institution order before aggregation, so the same seed gives the same numbers
whatever order the replies arrive in.

References
----------
Beutel, D. J., et al. (2020). Flower: a friendly federated learning research framework.
arXiv:2007.14390.
Bell, J. H., Bonawitz, K. A., Gascón, A., Lepoint, T. & Raykova, M. (2020). Secure
single-server aggregation with (poly)logarithmic overhead. *CCS 2020* (SecAgg+).
Bonawitz, K., et al. (2017). Practical secure aggregation for privacy-preserving machine
learning. *CCS 2017*.
Li, T., Sanjabi, M., Beirami, A. & Smith, V. (2020). Fair resource allocation in federated
learning. *ICLR 2020*.
"""

from __future__ import annotations

import contextlib
import hmac
import inspect
import json
import logging
import math
import os
import secrets
import socket
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from dongne._optional import import_optional
from dongne.errors import DataError, SpecificationError
from dongne.share.protocol import (
    FederatedResult,
    FederationError,
    Institution,
    _aggregate,
    _check_finite,
    _dropout_error,
    _federate,
    _init_params,
    _mac,
    _Run,
    _secret,
    _standardisation,
    _trained,
)

__all__ = ["SECAGG_CLIPPING_RANGE", "join", "serve", "train_on_flower"]

SECAGG_CLIPPING_RANGE = 8.0
"""SecAgg+ quantises every parameter on ``[-8, 8]`` (Flower's default); larger values are
refused with a clear error rather than silently clipped."""

_SECAGG_THRESHOLD = 2.0 / 3.0  # share of key shares needed to unmask (> 1/2 for safety)


def _flwr() -> Any:
    return import_optional(
        "flwr", "flower", "engine='flower' (Flower)", alternative="or use engine='dongne'"
    )


def _enrol(
    client_manager: Any, ask: Any, min_institutions: int, history: list[dict[str, Any]]
) -> dict[str, tuple[str, Any, Any]]:
    """Ask every connected institution once: ``ask(proxy)`` returns its name and payload.

    An institution whose ``ask`` fails (or whose name is taken) is recorded in ``history`` as
    dropped in round 0; too few left raises the dropout error. Returns
    ``{name: (cid, proxy, payload)}``.
    """
    replies: dict[str, tuple[str, Any, Any]] = {}
    failed = []
    for cid, proxy in list(client_manager.all().items()):  # a node may leave meanwhile
        try:
            name, payload = ask(proxy)
            if name in replies:
                raise PermissionError(f"the name {name!r} is taken")
        except Exception as err:  # any failure there is a dropout
            failed.append((f"node {cid}", _reason(err)))
            continue
        replies[name] = (cid, proxy, payload)
    for label, why in failed:
        history.append({"round": 0, "institution": label, "status": "dropped", "loss": np.nan})
        if len(replies) < min_institutions:
            raise _dropout_error(label, 0, len(replies), min_institutions, why)
    return replies


def _halted(rnd: int) -> str:
    return (
        f"Round {rnd} was not aggregated: secure aggregation halted (too few institutions "
        "answered to unmask the sum). Nothing was produced or registered. Fix: check the "
        "institutions' logs; with SecAgg+, at least two thirds of the institutions must "
        "answer every round."
    )


def _reason(err: Any) -> str:
    """The institution's own error message out of Flower's and Ray's wrapping."""
    text = str(getattr(err, "message", err))
    if "Message: " in text:
        text = text.rsplit("Message: ", 1)[1]
    text = text.split("\n", 1)[0].split("'>", 1)[0].strip()[:400]
    return text or (
        f"{type(err).__name__} without a message: the institution closed the connection "
        "or refused, e.g. because the shared secrets differ"
    )


def _client_class() -> type:
    from flwr.client import NumPyClient

    class FlowerInstitution(NumPyClient):
        """An institution as a Flower client: its table never leaves this object."""

        def __init__(self, institution: Institution, key: bytes | None = None) -> None:
            self.institution = institution
            self.key = key
            self.trusted = key is None
            self.rounds = 0
            self.finished = False

        def get_properties(self, config: dict[str, Any]) -> dict[str, Any]:
            reply: dict[str, Any] = {"name": self.institution.name}
            if self.key is not None and config.get("step") == "hello":
                # step 1: this institution's fresh nonce, so no old proof can be replayed
                self.challenge = secrets.token_bytes(32)
                reply["nonce"] = self.challenge.hex()
                return reply
            if self.key is not None:
                theirs = bytes.fromhex(str(config.get("nonce", "")))
                mine, self.challenge = getattr(self, "challenge", None), None  # used once
                if mine is None or len(theirs) < 16 or not hmac.compare_digest(
                    str(config.get("server_proof", "")),
                    _mac(self.key, theirs + mine, b"server").hex(),
                ):
                    raise PermissionError(
                        "The coordinator failed authentication (wrong shared secret). Fix: "
                        "use the same --secret / DONGNE_FEDERATION_SECRET on every side."
                    )
                name = self.institution.name.encode("utf-8")
                reply["proof"] = _mac(self.key, theirs + mine + name, b"client").hex()
                self.trusted = True
            reply["stats"] = json.dumps(self.institution.stats(json.loads(config["dongne"])))
            return reply

        def _check_trusted(self) -> None:
            if not self.trusted:
                raise PermissionError("The coordinator has not authenticated itself.")

        def fit(
            self, parameters: list[np.ndarray], config: dict[str, Any]
        ) -> tuple[list[np.ndarray], int, dict[str, Any]]:
            self._check_trusted()
            cfg = json.loads(config["dongne"])
            theta = np.asarray(parameters[0], dtype=float)
            reply = self.institution.fit(theta, cfg)
            self.rounds += 1
            metrics: dict[str, Any] = {"name": self.institution.name}
            if "update" in reply:
                # DP-FedAvg: equal weights, so θ + mean(update) is Flower's plain average
                out, weight = theta + np.asarray(reply["update"]), 1
            else:
                out, weight = np.asarray(reply["params"]), int(reply["n"])
                metrics["loss"] = float(reply["loss"])
            if cfg.get("secure_aggregation") and np.abs(out).max() > SECAGG_CLIPPING_RANGE:
                raise DataError(
                    f"Institution {self.institution.name!r}: a parameter reached "
                    f"{np.abs(out).max():.3g}, outside SecAgg+'s quantisation range "
                    f"±{SECAGG_CLIPPING_RANGE:g}. Fix: raise alpha or lower learning_rate, or "
                    "train without secure_aggregation."
                )
            return [out], weight, metrics

        def evaluate(
            self, parameters: list[np.ndarray], config: dict[str, Any]
        ) -> tuple[float, int, dict[str, Any]]:
            self._check_trusted()
            cfg = json.loads(config["dongne"])
            metrics = self.institution.evaluate(np.asarray(parameters[0], float), cfg)
            self.finished = True
            # a DP institution sends only its row count (no metric leaves outside ε)
            loss = metrics.get("rmse", metrics.get("log_loss", math.nan))
            return float(loss), int(metrics["n"]), {"name": self.institution.name, **metrics}

    return FlowerInstitution


def _strategy(
    config: dict[str, Any],
    settings: Mapping[str, Any],
    names: Sequence[str] | None,
    timeout: float | None,
    *,
    count: int | None = None,
    key: bytes | None = None,
) -> Any:
    """The coordinator's Flower strategy.

    It is long because it defines the strategy class in its body: Flower is an optional
    dependency imported only when a federation runs, so the class cannot live at module level.

    ``names``: the simulated institutions, in order; ``None`` on a Flower server, where
    ``count`` institutions connect and are put in the order of their names. ``key``: shared
    secret; institutions must answer the standardisation request with an HMAC proof (and
    can check the coordinator's), else they count as dropped.
    """
    expected = len(names) if names is not None else int(count or 0)
    from flwr.common import (
        EvaluateIns,
        FitIns,
        GetPropertiesIns,
        ndarrays_to_parameters,
        parameters_to_ndarrays,
    )
    from flwr.server.strategy import FedAvg

    class DongneStrategy(FedAvg):
        """Flower FedAvg with dongne's standardisation round, bookkeeping and q-FedAvg."""

        def __init__(self) -> None:
            super().__init__(
                fraction_fit=1.0,
                fraction_evaluate=1.0,
                min_fit_clients=settings["min_institutions"],
                min_evaluate_clients=1,
                min_available_clients=expected,
                accept_failures=True,
            )
            self.order = {name: i for i, name in enumerate(names or [])}
            self.by_cid: dict[str, str] = {}
            self.active: dict[str, Any] = {}  # name -> ClientProxy, in institution order
            self.stats: dict[str, dict[str, Any]] = {}
            self.history: list[dict[str, Any]] = []
            self.multipliers: dict[str, list[float]] = {name: [] for name in names or []}
            self.metric_rows: list[dict[str, Any]] = []
            self.params: np.ndarray | None = None
            self.completed = 0  # rounds aggregated (SecAgg+ skips a round it cannot finish)
            self._global: np.ndarray | None = None

        def _message(self, rnd: int) -> dict[str, Any]:
            return {"dongne": json.dumps({**config, "round": rnd})}

        def _drop(self, name: str, rnd: int, why: Any) -> None:
            self.history.append(
                {"round": rnd, "institution": name, "status": "dropped", "loss": np.nan}
            )
            self.active.pop(name, None)
            if len(self.active) < settings["min_institutions"]:
                raise _dropout_error(name, rnd, len(self.active), settings["min_institutions"], why)

        def initialize_parameters(self, client_manager: Any) -> Any:
            if not client_manager.wait_for(expected, timeout=timeout or 86_400):
                raise FederationError(
                    f"Only {client_manager.num_available()} of {expected} institutions "
                    f"connected within {timeout or 86_400:g} s. Nothing was produced or "
                    "registered. Fix: start the others with --join, or lower --institutions."
                )
            nonce = secrets.token_bytes(32)

            def ask(proxy: Any) -> tuple[str, dict[str, Any]]:
                message = self._message(0)
                theirs = b""
                if key is not None:  # mutual challenge-response over both nonces
                    hello = proxy.get_properties(
                        GetPropertiesIns({**message, "step": "hello"}), timeout=timeout,
                        group_id=0,
                    )  # fmt: skip
                    theirs = bytes.fromhex(str(hello.properties.get("nonce", "")))
                    if len(theirs) < 16:
                        raise PermissionError("no challenge from the institution")
                    message.update(
                        nonce=nonce.hex(), server_proof=_mac(key, nonce + theirs, b"server").hex()
                    )
                res = proxy.get_properties(GetPropertiesIns(message), timeout=timeout, group_id=0)
                name = str(res.properties["name"])
                if key is not None and not hmac.compare_digest(
                    str(res.properties.get("proof", "")),
                    _mac(key, nonce + theirs + name.encode("utf-8"), b"client").hex(),
                ):
                    raise PermissionError(f"{name!r} failed authentication (wrong secret)")
                return name, json.loads(str(res.properties["stats"]))

            replies = _enrol(client_manager, ask, settings["min_institutions"], self.history)
            if names is None:  # a server: the order of names keeps sums reproducible
                self.order = {name: i for i, name in enumerate(sorted(replies))}
                self.multipliers = {name: [] for name in sorted(replies)}
            for name in self.order:
                if name in replies:
                    cid, proxy, stats = replies[name]
                    self.by_cid[cid] = name
                    self.active[name] = proxy
                    self.stats[name] = stats
            config.update(_standardisation(self.stats, config["features"], config["model"]))
            theta = _init_params(
                config["model"], len(config["features"]), config["hidden"], settings["seed"]
            )
            return ndarrays_to_parameters([theta])

        def configure_fit(self, server_round: int, parameters: Any, client_manager: Any):
            if self.completed < server_round - 1:  # SecAgg+ gave up on the last round
                raise FederationError(_halted(server_round - 1))
            self._global = parameters_to_ndarrays(parameters)[0]
            ins = FitIns(parameters, self._message(server_round))
            return [(proxy, ins) for proxy in self.active.values()]

        def aggregate_fit(self, server_round: int, results: list, failures: list):
            results = sorted(results, key=lambda r: self.order[self.by_cid[r[0].cid]])
            answered = {self.by_cid[proxy.cid] for proxy, _ in results}
            for name in [n for n in self.active if n not in answered]:
                why = (
                    "; ".join(
                        _reason(f if isinstance(f, BaseException) else f[1].status)
                        for f in failures[:1]
                    )
                    or "no reply"
                )
                self._drop(name, server_round, why)
            z = config["noise_multiplier"]
            for proxy, res in results:
                name = self.by_cid[proxy.cid]
                if z is None:
                    self.multipliers[name].append(math.inf)
                elif config["noise_parts"] == 1:  # local noise: each update carries it all
                    self.multipliers[name].append(z)
                else:  # distributed noise: the sum carries K_t/K of the planned variance
                    self.multipliers[name].append(
                        z * math.sqrt(len(results) / config["noise_parts"])
                    )
                self.history.append(_trained(server_round, name, res.metrics.get("loss")))
            if settings["strategy"] == "qfedavg":
                replies = [
                    {"params": parameters_to_ndarrays(res.parameters)[0],
                     "loss": res.metrics["loss"]}
                    for _, res in results
                ]  # fmt: skip
                params = _aggregate(
                    "qfedavg",
                    self._global,
                    replies,
                    q=settings["q"],
                    learning_rate=settings["learning_rate"],
                    private=False,
                )
            else:
                aggregated, _ = super().aggregate_fit(server_round, results, [])
                params = parameters_to_ndarrays(aggregated)[0]
            _check_finite(params, server_round, config)
            self.params = params
            self.completed += 1
            return ndarrays_to_parameters([params]), {}

        def configure_evaluate(self, server_round: int, parameters: Any, client_manager: Any):
            if server_round != settings["rounds"]:
                return []
            ins = EvaluateIns(parameters, self._message(server_round + 1))
            return [(proxy, ins) for proxy in self.active.values()]

        def aggregate_evaluate(self, server_round: int, results: list, failures: list):
            for _, res in sorted(results, key=lambda r: self.order[self.by_cid[r[0].cid]]):
                metrics = dict(res.metrics)
                name = str(metrics.pop("name"))
                self.metric_rows.append(
                    {"institution": name, **metrics, "rounds": len(self.multipliers[name])}
                )
            return None, {}

    return DongneStrategy()


def train_on_flower(
    members: Sequence[Institution],
    config: dict[str, Any],
    settings: Mapping[str, Any],
    *,
    secure_aggregation: bool = False,
    timeout: float | None = None,
) -> _Run:
    """Run :func:`~dongne.share.federate`'s training on Flower's simulation engine.

    Called by ``federate(..., engine="flower")``; use that. ``members`` are simulated
    institutions (each becomes one Flower SuperNode with its table), ``config`` the
    institutions' configuration and ``settings`` the coordinator's (strategy, rounds, q,
    learning rate, min_institutions, seed).
    """
    _flwr()
    from flwr.client.mod import secaggplus_mod
    from flwr.server.workflow import SecAggPlusWorkflow

    members = list(members)
    names = [m.name for m in members]
    config = {**config, "secure_aggregation": secure_aggregation}
    strategy = _strategy(config, settings, names, timeout)
    client_class = _client_class()

    def client_fn(context: Any) -> Any:
        return client_class(members[int(context.node_config["partition-id"])]).to_client()

    mods = [_seeded_rounding(members), secaggplus_mod] if secure_aggregation else []
    fit_workflow = None
    if secure_aggregation:
        fit_workflow = SecAggPlusWorkflow(
            num_shares=len(members),
            reconstruction_threshold=max(2, math.ceil(_SECAGG_THRESHOLD * len(members))),
            # DP updates are averaged with weight 1: a larger max_weight would only coarsen
            # the quantisation of the weighted sum
            max_weight=1.0
            if config["noise_multiplier"] is not None
            else float(max(1, *(len(m.table) for m in members))),
            clipping_range=SECAGG_CLIPPING_RANGE,
            timeout=timeout,
        )
    _run_simulation(
        strategy, client_fn, len(members), settings["rounds"], mods=mods,
        fit_workflow=fit_workflow, timeout=timeout,
    )  # fmt: skip
    if strategy.completed != settings["rounds"]:
        raise FederationError(_halted(settings["rounds"]))
    return _Run(
        strategy.stats,
        config,
        strategy.params,
        strategy.history,
        strategy.metric_rows,
        strategy.multipliers,
    )


@contextlib.contextmanager
def _quiet_flower(level: int) -> Iterator[None]:
    """Raise the ``flwr`` logger to ``level`` for the duration (Flower logs every round)."""
    logger = logging.getLogger("flwr")
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


def _run_simulation(
    strategy: Any,
    client_fn: Any,
    supernodes: int,
    rounds: int,
    *,
    mods: Sequence[Any] = (),
    fit_workflow: Any = None,
    timeout: float | None = None,
) -> None:
    """One Flower simulation: a ServerApp running ``DefaultWorkflow`` with ``strategy``
    (and ``fit_workflow``, e.g. SecAgg+), ``supernodes`` ClientApps built by ``client_fn``,
    on Ray with one CPU per client actor and Flower's INFO logging silenced."""
    from flwr.client import ClientApp
    from flwr.server import LegacyContext, ServerApp, ServerConfig
    from flwr.server.workflow import DefaultWorkflow
    from flwr.simulation import run_simulation

    client_app = ClientApp(client_fn=client_fn, mods=list(mods))
    server_app = ServerApp()

    @server_app.main()
    def main(grid: Any, context: Any) -> None:
        legacy = LegacyContext(
            context,
            config=ServerConfig(num_rounds=rounds, round_timeout=timeout),
            strategy=strategy,
        )
        DefaultWorkflow(fit_workflow=fit_workflow)(grid, legacy)

    threads = max(1, min(supernodes, os.cpu_count() or 1))
    backend = {
        "client_resources": {"num_cpus": 1, "num_gpus": 0.0},
        "init_args": {
            "num_cpus": threads,
            "num_gpus": 0,
            "include_dashboard": False,
            "logging_level": "error",
            "log_to_driver": False,
        },
    }
    with _quiet_flower(logging.ERROR):  # deprecation notes and per-round INFO
        run_simulation(
            server_app=server_app,
            client_app=client_app,
            num_supernodes=supernodes,
            backend_config=backend,
        )


def _seeded_rounding(members: Sequence[Institution]) -> Any:
    """A client mod that seeds NumPy's global generator before SecAgg+ runs.

    SecAgg+ quantises by *stochastic* rounding with ``np.random`` (not with its
    cryptographic randomness, which stays unseeded); seeding it from the institution's seed
    and the round makes a seeded run reproducible to the bit. Institutions without a seed
    are left alone.
    """

    def mod(message: Any, context: Any, call_next: Any) -> Any:
        seed = members[int(context.node_config["partition-id"])].seed
        if seed is not None:
            rnd = int(message.metadata.group_id or 0)
            state = np.random.SeedSequence(seed, spawn_key=(rnd, 1)).generate_state(1)[0]
            np.random.seed(int(state))  # noqa: NPY002 - the generator SecAgg+ reads
        return call_next(message, context)

    return mod


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def serve(
    institutions: int,
    target: str,
    features: Sequence[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    secret: str | None = None,
    timeout: float = 600.0,
    certificates: tuple[bytes, bytes, bytes] | None = None,
    on_listening: Any = None,
    **options: Any,
) -> FederatedResult:
    """Coordinate federated training as a Flower server (gRPC) for ``institutions`` clients.

    The deployment counterpart of ``federate(..., engine="flower")``: the same strategy runs
    in Flower's ``Server`` behind its gRPC transport, and each institution runs
    :func:`join` (``dongne share federate --join HOST:PORT --engine flower``) in its own
    process or machine. Both sides prove knowledge of the shared ``secret`` (HMAC-SHA256
    challenge–response over a nonce from each side, so a recorded handshake cannot be
    replayed); with ``certificates`` = (CA, server certificate, server key), PEM bytes, the
    link is TLS-encrypted — use it outside loopback (later messages are not signed).

    Secure aggregation is not available here: SecAgg+ is a workflow of Flower's newer
    ServerApp runtime, which this transport does not run (use the simulation engine).

    Parameters
    ----------
    institutions : int
        How many institutions to wait for.
    host, port
        Address to listen on (``port=0``: a free port, reported to ``on_listening``).
    secret : str, optional
        Shared secret (default ``$DONGNE_FEDERATION_SECRET``).
    timeout : float
        Seconds to wait for the institutions to connect and for each round's answers.
    **options
        As for :func:`dongne.share.federate` (model, strategy, rounds, epsilon, ...).
    """
    _flwr()
    from flwr.server import Server, ServerConfig, SimpleClientManager
    from flwr.server.server import run_fl
    from flwr.server.superlink.fleet.grpc_bidi.grpc_server import start_grpc_server

    if options.pop("secure_aggregation", False) or options.get("noise") == "distributed":
        raise SpecificationError(
            "Secure aggregation (and distributed noise) run on Flower's simulation engine "
            "only; a Flower server here averages in the clear. Fix: drop them, or simulate "
            "with federate(..., engine='flower', secure_aggregation=True)."
        )
    key = _secret(secret)
    port = port or _free_port(host)
    # federate()'s own defaults (the coordinator's signature carries them; a test pins the two
    # equal), so the two entry points cannot drift apart
    defaults = {
        name: p.default
        for name, p in inspect.signature(_federate).parameters.items()
        if p.kind is p.KEYWORD_ONLY and name not in ("engine", "secure_aggregation")
    }
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise SpecificationError(f"Unknown options {unknown}; known: {sorted(defaults)}.")

    def trainer(config: dict[str, Any], settings: dict[str, Any]) -> _Run:
        strategy = _strategy(config, settings, None, timeout, count=institutions, key=key)
        manager = SimpleClientManager()
        server = Server(client_manager=manager, strategy=strategy)
        grpc_server = start_grpc_server(
            client_manager=manager, server_address=f"{host}:{port}", certificates=certificates
        )
        if on_listening is not None:
            on_listening(host, port)
        try:
            with _quiet_flower(logging.WARNING):
                run_fl(server, ServerConfig(num_rounds=settings["rounds"], round_timeout=timeout))
        finally:
            grpc_server.stop(grace=1)
        if strategy.params is None:
            raise FederationError("The Flower server finished without a model.")
        return _Run(
            strategy.stats,
            config,
            strategy.params,
            strategy.history,
            strategy.metric_rows,
            strategy.multipliers,
        )

    return _federate(
        trainer,
        institutions,
        target,
        features,
        engine="flower",
        secure_aggregation=False,
        **{**defaults, **options},
    )


def join(
    name: str,
    table: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    secret: str | None = None,
    seed: int | None = None,
    timeout: float = 600.0,
    root_certificates: bytes | None = None,
) -> dict[str, Any]:
    """Take part in a Flower federation (:func:`serve`) as institution ``name``.

    The table stays in this process; the Flower client answers the coordinator's requests
    (standardisation sums, local training, final evaluation) until the server ends the run.
    ``root_certificates`` (the CA's PEM bytes) turns on TLS and checks the server.

    Returns
    -------
    dict
        ``status`` (``"ok"`` when this institution evaluated the final model, else
        ``"failed"``), ``rounds`` trained and a message.
    """
    _flwr()
    from flwr.client import start_client

    client = _client_class()(Institution(name, table, seed=seed), key=_secret(secret))
    import grpc

    try:
        with _quiet_flower(logging.WARNING):
            start_client(
                server_address=f"{host}:{port}",
                client=client.to_client(),
                insecure=root_certificates is None,
                root_certificates=root_certificates,
                max_wait_time=timeout,
            )
    except PermissionError as err:  # the coordinator failed authentication
        return {"status": "failed", "rounds": client.rounds, "message": str(err)}
    except grpc.RpcError as err:  # the coordinator went away (it stopped, or failed)
        return {
            "status": "failed",
            "rounds": client.rounds,
            "message": f"The connection to the coordinator ended ({err.code().name}): "
            "the run did not finish; see the coordinator's log.",
        }
    if client.finished:
        return {"status": "ok", "rounds": client.rounds, "message": ""}
    return {
        "status": "failed",
        "rounds": client.rounds,
        "message": "The server ended the run before the final evaluation (see its log).",
    }
