"""Share models, not data — the Seoul evidence for docs/share.md.

Run: ``python benchmarks/bench_share.py`` (``--plot PATH`` to save the privacy–utility plot;
``--seeds N`` DP repetitions, default 5). Prints Markdown tables.

Task (:func:`dongne.learn.tasks.seoul_basement_task`): semi-basement household share (%) of
Seoul's 423 dongs from 12 features. Institutions = the 25 gu (each holds its own dongs, so
the split is non-IID by construction: gu differ in density, location and the two gu-level
features, which are constant inside a gu). In every gu 30 % of the dongs (at least 1) are
held out for testing (seed 0); all models see only the other 70 %.

Compared (linear model on standardised features, L2 penalty α = 1e-3 on the mean loss):

* central — sklearn Ridge on the pooled training rows (what one institution holding all
  data would fit; α·n matched);
* local only — each gu fits Ridge(α = 1) on its own ~12 rows; scored on its own test dongs
  and on all test dongs (the model it could share);
* FedAvg, FedProx (μ = 0.1), q-FedAvg (q = 1) — 100 rounds × 5 local steps;
* DP-FedAvg at ε ∈ {1, 4, 8} (δ = 1e-5, RDP accountant, clip 0.05, one round × 100 local
  steps at learning rate 0.02 — the best of a small grid of rounds {1, 3, 10} × clip
  {0.05, 0.2, 1}: every extra round multiplies the noise by sqrt(rounds)), mean and s.d.
  over ``--seeds`` noise seeds;
* FedAvg with the small MLP (8 tanh units);
* FedAvg on Flower's simulation engine (``engine="flower"``, each gu a ClientApp in a Ray
  worker), without and with SecAgg+ secure aggregation;
* boosted trees (XGBoost, depth 4): Flower's FedXgbBagging, 40 rounds (one tree per gu and
  round at eta 0.3/25), against XGBoost on the pooled rows with the same 1,000 trees;
* DP-FedAvg with SecAgg+ and distributed noise (``noise="distributed"``: each gu adds 1/25
  of the noise variance, the securely aggregated sum carries all of it) at ε ∈ {1, 4, 8},
  same one-round schedule but clip 0.2 (the best clip of {0.05, 0.2, 1} for this mode).
  ``--skip-flower`` leaves the Flower rows out.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dongne.learn.tasks import seoul_basement_task
from dongne.share import federate, suppress_small_cells

ALPHA = 1e-3


def split(task, seed: int = 0, test_share: float = 0.3):
    rng = np.random.default_rng(seed)
    test = np.zeros(len(task.y), dtype=bool)
    for _, idx in task.groups.groupby(task.groups).indices.items():
        k = max(1, round(test_share * len(idx)))
        test[rng.choice(idx, size=k, replace=False)] = True
    return test


def markdown(frame: pd.DataFrame) -> str:
    def cell(v):
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |",
             "|" + "---|" * len(frame.columns)]  # fmt: skip
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(False)]
    return "\n".join(lines)


def rmse(a, b) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


def scores(pred: np.ndarray, y: pd.Series, groups: pd.Series) -> dict[str, float]:
    per = pd.DataFrame({"g": groups.to_numpy(), "e2": (pred - y.to_numpy()) ** 2})
    by = per.groupby("g")["e2"].agg(["size", "mean"])
    by["rmse"] = np.sqrt(by["mean"])
    published = suppress_small_cells(by.reset_index().rename(columns={"size": "n"}), "n")
    worst = published["rmse"].max()  # only groups with >= 5 test dongs
    return {"rmse": rmse(pred, y), "worst_gu_rmse": float(worst)}


def tree_rows(tables, features, train, hold) -> list[dict]:
    """Boosted trees: Flower's FedXgbBagging vs XGBoost on the pooled rows (same trees)."""
    import xgboost as xgb

    rounds, eta = 40, 0.3
    fed = federate(tables, "y", features, model="xgb_regressor", engine="flower",
                   rounds=rounds, learning_rate=eta)  # fmt: skip
    params = {"objective": "reg:squarederror", "eta": eta / len(tables), "max_depth": 4,
              "nthread": 1, "seed": 0}  # fmt: skip
    central = xgb.train(params, xgb.DMatrix(train[features], label=train["y"]),
                        rounds * len(tables))  # fmt: skip
    return [
        {"model": f"boosted trees, central ({rounds * len(tables)} trees, eta {eta}/25)",
         **scores(central.predict(xgb.DMatrix(hold[features])), hold["y"], hold["gu"])},
        {"model": f"boosted trees on Flower, FedXgbBagging ({rounds} rounds)",
         **scores(fed.model.predict(hold[features]), hold["y"], hold["gu"])},
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--plot", help="save the privacy–utility plot (PNG)")
    parser.add_argument("--skip-flower", action="store_true", help="no Flower runs")
    args = parser.parse_args()
    t0 = time.perf_counter()
    task = seoul_basement_task()
    features = list(task.X.columns)
    data = task.X.assign(y=task.y.to_numpy(), gu=task.groups.to_numpy())
    test = split(task)
    train, hold = data[~test], data[test]
    tables = {gu: rows.drop(columns="gu") for gu, rows in train.groupby("gu", sort=True)}
    print(f"{len(tables)} institutions (gu), {len(train)} training and {len(hold)} test dongs; "
          f"training rows per gu {min(map(len, tables.values()))}–"
          f"{max(map(len, tables.values()))}.\n")  # fmt: skip

    rows = [{"model": "training mean only (no features)",
             **scores(np.full(len(hold), train["y"].mean()), hold["y"], hold["gu"])}]  # fmt: skip
    central = make_pipeline(StandardScaler(), Ridge(alpha=ALPHA * len(train)))
    central.fit(train[features], train["y"])
    rows.append({"model": "central (pooled rows)",
                 **scores(central.predict(hold[features]), hold["y"], hold["gu"])})  # fmt: skip

    own, shared = [], []
    for gu, table in tables.items():
        local = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(table[features], table["y"])
        mine = hold["gu"] == gu
        own.append((local.predict(hold.loc[mine, features]) - hold.loc[mine, "y"]) ** 2)
        shared.append(rmse(local.predict(hold[features]), hold["y"]))
    own_pred_rmse = float(np.sqrt(np.mean(np.concatenate([o.to_numpy() for o in own]))))
    rows.append({"model": "local only, each gu on its own test dongs", "rmse": own_pred_rmse,
                 "worst_gu_rmse": np.nan})  # fmt: skip
    rows.append({"model": "local only, median gu model on all test dongs",
                 "rmse": float(np.median(shared)), "worst_gu_rmse": np.nan})  # fmt: skip

    fed_kw = dict(rounds=100, local_steps=5, learning_rate=0.1, alpha=ALPHA)
    runs = {
        "FedAvg": dict(strategy="fedavg"),
        "FedProx (μ = 0.1)": dict(strategy="fedprox", mu=0.1),
        "q-FedAvg (q = 1)": dict(strategy="qfedavg", q=1.0),
    }
    for label, kw in runs.items():
        res = federate(tables, "y", features, **fed_kw, **kw)
        pred = res.model.predict(hold[features])
        rows.append({"model": label, **scores(pred, hold["y"], hold["gu"])})
    mlp = federate(tables, "y", features, model="mlp_regressor", hidden=8, seed=0,
                   rounds=100, local_steps=5, learning_rate=0.1, alpha=1e-2)  # fmt: skip
    rows.append({"model": "FedAvg, MLP (8 units)",
                 **scores(mlp.model.predict(hold[features]), hold["y"], hold["gu"])})  # fmt: skip

    dp_kw = dict(rounds=1, local_steps=100, learning_rate=0.02, alpha=ALPHA, clip_norm=0.05)
    curve = []
    for eps in (1.0, 4.0, 8.0):
        got = []
        for seed in range(args.seeds):
            res = federate(tables, "y", features, epsilon=eps, seed=seed, **dp_kw)
            got.append(scores(res.model.predict(hold[features]), hold["y"], hold["gu"]))
        frame = pd.DataFrame(got)
        curve.append({"epsilon": eps, "rmse_mean": frame["rmse"].mean(),
                      "rmse_sd": frame["rmse"].std(ddof=1),
                      "noise_multiplier": res.privacy["noise_multiplier"]})  # fmt: skip
        rows.append({"model": f"DP-FedAvg ε = {eps:g} (mean of {args.seeds} seeds)",
                     "rmse": frame["rmse"].mean(),
                     "worst_gu_rmse": frame["worst_gu_rmse"].mean()})  # fmt: skip
    distributed = []
    if not args.skip_flower:
        for label, kw in (
            ("FedAvg on Flower", {}),
            ("FedAvg on Flower + SecAgg+", {"secure_aggregation": True}),
        ):
            res = federate(tables, "y", features, engine="flower", **fed_kw, **kw)
            rows.append(
                {"model": label, **scores(res.model.predict(hold[features]), hold["y"], hold["gu"])}
            )
        sec_kw = {
            **dp_kw,
            "clip_norm": 0.2,
            "engine": "flower",
            "secure_aggregation": True,
            "noise": "distributed",
        }
        for eps in (1.0, 4.0, 8.0):
            got = []
            for seed in range(args.seeds):
                res = federate(tables, "y", features, epsilon=eps, seed=seed, **sec_kw)
                got.append(scores(res.model.predict(hold[features]), hold["y"], hold["gu"]))
            frame = pd.DataFrame(got)
            distributed.append(
                {
                    "epsilon": eps,
                    "rmse_mean": frame["rmse"].mean(),
                    "rmse_sd": frame["rmse"].std(ddof=1),
                }
            )
            rows.append({"model": f"DP + SecAgg+, distributed noise, ε = {eps:g}",
                         "rmse": frame["rmse"].mean(),
                         "worst_gu_rmse": frame["worst_gu_rmse"].mean()})  # fmt: skip
    if not args.skip_flower:
        rows += tree_rows(tables, features, train, hold)
    nodp = federate(tables, "y", features, **dp_kw)
    rows.append({"model": "same one-round schedule without DP",
                 **scores(nodp.model.predict(hold[features]), hold["y"], hold["gu"])})  # fmt: skip

    table = pd.DataFrame(rows)
    print("## Test RMSE (percentage points of households in semi-basements)\n")
    print(markdown(table))
    print("\n## DP-FedAvg noise (local)\n")
    print(markdown(pd.DataFrame(curve)))
    if distributed:
        print("\n## DP with SecAgg+ and distributed noise\n")
        print(markdown(pd.DataFrame(distributed)))
    fedavg = table.set_index("model").loc["FedAvg", "rmse"]
    cen = table.set_index("model").loc["central (pooled rows)", "rmse"]
    print(f"\nFedAvg − central = {fedavg - cen:+.3f}; median local-only − FedAvg = "
          f"{np.median(shared) - fedavg:+.3f}.  ({time.perf_counter() - t0:.0f} s)")  # fmt: skip

    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        c = pd.DataFrame(curve)
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.errorbar(c["epsilon"], c["rmse_mean"], yerr=c["rmse_sd"], marker="o",
                    color="#c53030", capsize=3, label="DP-FedAvg, local noise")  # fmt: skip
        if distributed:
            d = pd.DataFrame(distributed)
            ax.errorbar(d["epsilon"] * 1.04, d["rmse_mean"], yerr=d["rmse_sd"], marker="s",
                        color="#2b6cb0", capsize=3,
                        label="SecAgg+, distributed noise")  # fmt: skip
        for label, value, style, va in (
            ("central", cen, "-", "bottom"),
            ("FedAvg, no DP", fedavg, "--", "top"),
            ("median local-only", float(np.median(shared)), ":", "bottom"),
            ("mean only", rows[0]["rmse"], "-.", "bottom"),
        ):
            ax.axhline(value, ls=style, color="0.3", lw=1)
            ax.text(9.5, value, label, va=va, fontsize=8)
        ax.set_xscale("log", base=2)
        ax.set_xticks([1, 2, 4, 8], ["1", "2", "4", "8"])
        ax.set_xlim(0.8, 16)
        ax.set_xlabel("privacy budget ε per institution (δ = 1e-5)")
        ax.set_ylabel("test RMSE (%p)")
        ax.set_title("Seoul, 25 gu as institutions: privacy–utility")
        ax.legend(loc="center right", fontsize=8)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
