"""``dongne share register|list|show|predict|federate``: share models, not data."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dongne.errors import DataError, SpecificationError

OUT_IS_FOLDER = False  # --out is one file
HELP = "share models, not data: registry, model cards, predict, federated training"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``share`` sub-commands to ``parser``."""
    parser.add_argument(
        "--registry", help="registry folder (default: $DONGNE_REGISTRY or ./dongne-registry)"
    )
    parser.add_argument("--database-url", help="registry database (default: SQLite in the folder)")
    parser.add_argument(
        "--service-database-url",
        help="database of 'dongne serve', where --workspace must exist (default: "
        "FOLDER/../dongne.sqlite3 when the registry is a service's DATA_DIR/models)",
    )
    sub = parser.add_subparsers(dest="share_command", metavar="ACTION", required=True)

    reg = sub.add_parser("register", help="register a trained model with its model card")
    reg.add_argument("name", help="model name (letters, digits, _ . -)")
    reg.add_argument("--model", required=True, help="model file: .skops or federated .json")
    reg.add_argument("--card", required=True, help="model card as JSON (ModelCard fields)")
    reg.add_argument("--schema-from", help="table whose columns are the model's inputs")
    reg.add_argument("--unit", action="append", default=[], metavar="COL=UNIT")
    reg.add_argument("--alias", help="also point NAME@ALIAS at the new version")
    reg.add_argument("--workspace", help="service workspace that owns the model")
    reg.add_argument("--trust", action="append", default=[], metavar="TYPE",
                     help="extra type to trust when reading a .skops file")  # fmt: skip

    sub.add_parser("list", help="registered models and versions")

    show = sub.add_parser("show", help="a version's inputs and model card")
    show.add_argument("ref", help="name, name@alias or name/VERSION")
    show.add_argument("--lang", choices=("en", "ko"), default="en")
    show.add_argument("--html", help="also write the model-card page here")

    pred = sub.add_parser("predict", help="predict a table with a registered model")
    pred.add_argument("ref", help="name, name@alias or name/VERSION")
    pred.add_argument("table", help="CSV/XLSX/Parquet with the model's input columns")
    pred.add_argument("--out", required=True, help="CSV to write (input index + prediction)")
    pred.add_argument("--id", help="id column to keep (not a model input)")
    pred.add_argument("--drop-extra", action="store_true", help="ignore unused columns")

    fed = sub.add_parser("federate", help="federated training (in-process, --serve or --join)")
    mode = fed.add_mutually_exclusive_group(required=True)
    mode.add_argument("--tables", nargs="+", metavar="NAME=PATH", help="simulate in-process")
    mode.add_argument("--serve", action="store_true", help="coordinate institutions that join")
    mode.add_argument("--join", metavar="HOST:PORT", help="take part as one institution")
    fed.add_argument("--target", help="target column")
    fed.add_argument("--features", help="comma-separated feature columns")
    fed.add_argument("--model", default="linear",
                     choices=("linear", "logistic", "mlp_regressor", "mlp_classifier",
                              "xgb_regressor", "xgb_classifier"),
                     help="xgb_*: boosted trees, with --engine flower")  # fmt: skip
    fed.add_argument("--strategy", default="fedavg", choices=("fedavg", "fedprox", "qfedavg"))
    fed.add_argument("--rounds", type=int, default=50)
    fed.add_argument("--local-steps", type=int, default=5)
    fed.add_argument("--learning-rate", type=float, default=0.1)
    fed.add_argument("--alpha", type=float, default=1e-3, help="L2 penalty")
    fed.add_argument("--mu", type=float, default=0.0, help="FedProx proximal weight")
    fed.add_argument("--q", type=float, default=1.0, help="q-FedAvg fairness exponent")
    fed.add_argument("--hidden", type=int, default=8, help="MLP hidden units")
    fed.add_argument("--epsilon", type=float, help="per-institution privacy budget (DP)")
    fed.add_argument("--delta", type=float, default=1e-5)
    fed.add_argument("--clip-norm", type=float, default=1.0)
    fed.add_argument("--accountant", choices=("rdp", "gdp"), default="rdp")
    fed.add_argument("--min-institutions", type=int, default=2)
    fed.add_argument(
        "--engine",
        choices=("dongne", "flower"),
        default="dongne",
        help="dongne's loop/protocol, or Flower (simulation, or gRPC server)",
    )
    fed.add_argument("--tls-ca", help="--engine flower: CA certificate (PEM); turns on TLS")
    fed.add_argument("--tls-cert", help="--serve --engine flower: server certificate (PEM)")
    fed.add_argument("--tls-key", help="--serve --engine flower: server private key (PEM)")
    fed.add_argument(
        "--secure-aggregation",
        action="store_true",
        help="--engine flower: Flower's SecAgg+ (coordinator sees only the sum)",
    )
    fed.add_argument(
        "--noise",
        choices=("local", "distributed"),
        default="local",
        help="DP noise per institution (local) or split under SecAgg+",
    )
    fed.add_argument("--seed", type=int, help="seed (MLP start; with --join: this side's noise)")
    fed.add_argument("--institutions", type=int, help="--serve: how many to wait for")
    fed.add_argument("--host", default="127.0.0.1", help="--serve: address to listen on")
    fed.add_argument("--port", type=int, default=8765, help="--serve: port (0 = any free)")
    fed.add_argument("--secret", help="shared secret (default $DONGNE_FEDERATION_SECRET)")
    fed.add_argument("--timeout", type=float, default=600.0, help="seconds before a dropout")
    fed.add_argument("--name", help="--join: this institution's name")
    fed.add_argument("--table", help="--join: this institution's table")
    fed.add_argument("--register", metavar="NAME", help="register the trained model as NAME")
    fed.add_argument("--card", help="with --register: model card JSON (metrics are added)")
    fed.add_argument("--workspace", help="with --register: service workspace that owns it")
    fed.add_argument("--out", help="write the per-institution table (suppressed) as CSV")


def _registry(args: argparse.Namespace, *, create: bool = False):
    """The registry of ``--registry``/``--database-url``; only ``register`` may create one."""
    from dongne.share.registry import ModelRegistry

    registry = ModelRegistry(
        args.registry,
        database_url=args.database_url,
        service_database_url=args.service_database_url,
    )
    if not (create or args.database_url):
        if not (registry.root / "registry.sqlite3").is_file():
            raise DataError(
                f"No model registry at {registry.root} (no registry.sqlite3 there). Fix: "
                "--registry FOLDER, the folder models were registered in (or set "
                "$DONGNE_REGISTRY), or --database-url for a registry in PostgreSQL."
            )
    return registry


def _read(path: str) -> Any:
    from dongne.io.tables import read_table

    return read_table(path)


def _card(path: str):
    import pandas as pd

    from dongne.share.card import ModelCard

    data = json.loads(Path(path).read_text("utf-8"))
    fields = {"intended_use", "data_sources", "training_regions", "training_period", "metrics"}
    missing = sorted(fields - set(data))
    if missing:
        raise DataError(
            f"Model card {path} lacks fields {missing}. Fix: add them (see docs/share.md)."
        )
    groups = data.get("group_metrics")
    return ModelCard(
        intended_use=data["intended_use"],
        data_sources=list(data["data_sources"]),
        training_regions=list(data["training_regions"]),
        training_period=data["training_period"],
        metrics=dict(data["metrics"]),
        group_metrics=None if groups is None else pd.DataFrame(groups),
        worst_group=data.get("worst_group"),
        caveats=list(data.get("caveats", [])),
        licence=data.get("licence", "CC-BY-4.0"),
    )


def _load_model_file(path: str, trusted: Sequence[str]):
    from dongne.share.federated import FederatedModel
    from dongne.share.registry import TRUSTED_MODULES

    file = Path(path)
    if file.suffix == ".json":
        return FederatedModel.from_dict(json.loads(file.read_text("utf-8")))
    if file.suffix != ".skops":
        raise DataError(
            f"{path}: only .skops (scikit-learn, saved with skops.io.dump) and .json "
            "(federated) model files are accepted — never pickles. Fix: save it with skops."
        )
    import skops.io as sio

    untrusted = sio.get_untrusted_types(file=file)
    refused = [t for t in untrusted if not t.startswith(TRUSTED_MODULES) and t not in trusted]
    if refused:
        raise DataError(f"{path} contains untrusted types {refused}. Fix: --trust TYPE.")
    return sio.load(file, trusted=list(untrusted))


def _units(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise SpecificationError(f"--unit {pair!r}: expected COL=UNIT, e.g. density=hh/km2.")
        col, unit = pair.split("=", 1)
        out[col] = unit
    return out


def _federate(args: argparse.Namespace) -> int:
    from dongne.share.deployment import check_tls, join_federation, serve_federation
    from dongne.share.federated import federate

    check_tls(
        args.engine,
        serving=bool(args.serve),
        tls_ca=args.tls_ca,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
    )
    if args.join:
        if not (args.name and args.table):
            raise SpecificationError("--join needs --name and --table.")
        host, _, port = args.join.rpartition(":")
        outcome = join_federation(
            args.name,
            _read(args.table),
            host=host or "127.0.0.1",
            port=int(port),
            engine=args.engine,
            secret=args.secret,
            seed=args.seed,
            timeout=args.timeout,
            tls_ca=args.tls_ca,
        )
        print(f"{args.name}: {outcome['status']} after {outcome['rounds']} rounds. "
              f"{outcome['message']}".strip())  # fmt: skip
        return 0 if outcome["status"] == "ok" else 1
    if not (args.target and args.features):
        raise SpecificationError("federate needs --target and --features (comma-separated).")
    if args.register and not args.card:
        raise SpecificationError("--register needs --card (a model card JSON).")
    card = _card(args.card) if args.register else None  # read before training: fail early
    options = dict(
        model=args.model,
        strategy=args.strategy,
        rounds=args.rounds,
        local_steps=args.local_steps,
        learning_rate=args.learning_rate,
        alpha=args.alpha,
        mu=args.mu,
        q=args.q,
        hidden=args.hidden,
        epsilon=args.epsilon,
        delta=args.delta,
        clip_norm=args.clip_norm,
        accountant=args.accountant,
        min_institutions=args.min_institutions,
        seed=0 if args.seed is None else args.seed,
        engine=args.engine,
        secure_aggregation=args.secure_aggregation,
        noise=args.noise,
    )
    features = [f.strip() for f in args.features.split(",") if f.strip()]
    if args.serve:
        result = serve_federation(
            args.institutions,
            args.target,
            features,
            host=args.host,
            port=args.port,
            secret=args.secret,
            timeout=args.timeout,
            tls_ca=args.tls_ca,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            on_listening=lambda h, p: print(f"listening on {h}:{p}", flush=True),
            **options,
        )
    else:
        tables = {}
        for item in args.tables:
            name, sep, path = item.partition("=")
            if not sep:
                raise SpecificationError(f"--tables {item!r}: expected NAME=PATH.")
            tables[name] = _read(path)
        result = federate(tables, args.target, features, **options)
    print(result.summary())
    if args.out:
        result.to_frame().to_csv(args.out, index=False, encoding="utf-8-sig")
    if args.register:
        card.privacy = result.privacy
        card.group_metrics = result.institutions
        registry = _registry(args, create=True)
        if args.workspace:
            registry.require_workspaces([args.workspace])  # before anything is registered
        version = registry.register(args.register, result.model, card)
        if args.workspace:
            registry.set_access(version.name, owner=args.workspace)
        print(f"Registered {version.ref} (sha256 {version.sha256['model'][:12]}…).")
    return 0


def run(args: argparse.Namespace) -> int:
    """Share models, not data: registry, model cards, prediction and federated training."""
    action = args.share_command
    if action == "federate":
        return _federate(args)
    registry = _registry(args, create=action == "register")
    if action == "register":
        if args.workspace:
            registry.require_workspaces([args.workspace])  # before anything is registered
        model = _load_model_file(args.model, args.trust)
        X = _read(args.schema_from) if args.schema_from else None
        version = registry.register(
            args.name, model, _card(args.card), X=X, units=_units(args.unit)
        )
        if args.alias:
            registry.set_alias(version.name, args.alias, version.version)
        if args.workspace:
            registry.set_access(version.name, owner=args.workspace)
        print(f"Registered {version.ref} (sha256 {version.sha256['model'][:12]}…)"
              + (f", alias @{args.alias}." if args.alias else "."))  # fmt: skip
    elif action == "list":
        print(registry.list().to_string(index=False))
    elif action == "show":
        version = registry.get(args.ref)
        print(version.summary(args.lang))
        if args.html:
            Path(args.html).write_text(registry.card_html(args.ref, args.lang), "utf-8")
    elif action == "predict":
        from dongne.share.predict import predict

        table = _read(args.table)
        if args.id:
            table = table.set_index(args.id)
        result = predict(
            args.ref, table, registry=registry, extra="drop" if args.drop_extra else "error"
        )
        result.to_frame().to_csv(args.out, encoding="utf-8-sig")
        print(result.summary())
    return 0
