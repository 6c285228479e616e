"""Spatial CV, shift diagnostics, robust training, allocation regret: numbers in docs/learn.md.

Run: ``python benchmarks/bench_learn.py`` (``--quick``: ridge only, fewer permutations and
synthetic seeds; ``--json PATH``: also write every table as JSON). Prints Markdown tables.

Seoul task (:func:`dongne.learn.tasks.seoul_basement_task`): 423 dongs, target = share of
semi-basement households (%, 2010), 12 features; source = 14 gu north of the Han river,
target = 11 gu south of it. Models: ridge (standardised, α = 1) and LightGBM (200 trees,
31 leaves, learning rate 0.05, min 10 rows per leaf, one thread), all with seed 0.

1. Random 5-fold vs spatial CV over all 423 dongs: grouped 5-fold by gu, 5-fold over 3 km
   grid blocks, and grouped 5-fold by gu with a 1 km buffer.
2. Shift diagnostics north vs south (logistic domain classifier, 99 permutations; MMD 999).
3. North → south transfer: naive, importance-weighted, group-reweighted (gu) and group DRO
   (gu): RMSE, R² and the worst gu in the south; worst gu in the north (training fit).
4. Allocation regret in the south: 10 new sites at dong centroids, radius 1 km, MCLP on the
   predicted basement households, scored on the true counts.
5. Synthetic task (:func:`synthetic_shift_task`), seeds 0–9: worst source group RMSE,
   held-out region RMSE and regret (p = 5, radius 1.5 km), mean over seeds.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dongne.allocate import LocationProblem
from dongne.learn.cv import BufferedCV, LeaveGroupOut, SpatialBlockCV, cv_compare
from dongne.learn.regret import AllocationRegret
from dongne.learn.robust import GroupDRO, GroupReweighted, ImportanceWeighted, group_report
from dongne.learn.shift import ShiftDiagnostics
from dongne.learn.tasks import seoul_basement_task, synthetic_shift_task


def ridge():
    return make_pipeline(StandardScaler(), Ridge(alpha=1.0))


def lgbm():
    import lightgbm

    return lightgbm.LGBMRegressor(
        n_estimators=200,
        learning_rate=0.05,
        num_leaves=31,
        min_child_samples=10,
        n_jobs=1,
        random_state=0,
        verbose=-1,
    )


def fit_all(base, X, y, groups, X_target):
    return {
        "naive": base().fit(X, y),
        "importance-weighted": ImportanceWeighted(base(), rng=0).fit(X, y, X_target=X_target),
        "group-reweighted": GroupReweighted(base()).fit(X, y, groups),
        "group DRO": GroupDRO(base()).fit(X, y, groups),
    }


def md(frame: pd.DataFrame) -> str:
    """A Markdown table (floats to 3 decimals) without the optional ``tabulate`` package."""

    def cell(v):
        return f"{v:.3f}" if isinstance(v, float | np.floating) else str(v)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * frame.shape[1]]
    lines += [
        "| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join(lines)


def seoul(models, out):
    task = seoul_basement_task()
    X, y, g = task.X, task.y, task.groups
    rows = []
    for name, base in models.items():
        schemes = {
            "gu (grouped 5-fold)": LeaveGroupOut(5),
            "3 km grid blocks": SpatialBlockCV(task.coords, size=3000, n_splits=5),
            "gu + 1 km buffer": BufferedCV(task.coords, 1000, cv=LeaveGroupOut(5)),
        }
        for label, cv in schemes.items():
            res = cv_compare(base(), X, y, groups=g, spatial_cv=cv, rng=0)
            rmse = cv_compare(
                base(), X, y, groups=g, spatial_cv=cv, rng=0, scoring="neg_root_mean_squared_error"
            )
            rows.append(
                {
                    "model": name,
                    "spatial scheme": label,
                    "random R²": res.random_mean,
                    "spatial R²": res.spatial_mean,
                    "gap R²": res.optimism_gap,
                    "random RMSE": -rmse.random_mean,
                    "spatial RMSE": -rmse.spatial_mean,
                }
            )
    out["seoul_cv"] = pd.DataFrame(rows)
    excl = BufferedCV(task.coords, 1000, cv=LeaveGroupOut(5)).fold_table(X, y, g)
    out["seoul_buffer_folds"] = excl

    s, t = task.source, task.target
    diag = ShiftDiagnostics(permutations=out["_perm"], rng=0).fit(
        X[s], X[t], estimator=ridge(), y_source=y[s]
    )
    out["seoul_shift"] = diag.to_frame()
    out["seoul_shift_summary"] = diag.summary() + "\n\n" + diag.summary("ko")

    rows, regret_rows = [], []
    dongs_t = task.areas[t]
    xy_t = task.coords[t]
    problem = LocationProblem.from_cost_matrix(
        cdist(xy_t, xy_t), demand_ids=dongs_t["dong_code"], site_ids=dongs_t["dong_code"]
    )
    for name, base in models.items():
        fitted = fit_all(base, X[s], y[s], g[s], X[t])
        preds = {}
        for method, m in fitted.items():
            rep_t = group_report(m, X[t], y[t], g[t])
            r2 = group_report(m, X[t], y[t], g[t], metric="r2")
            rep_s = group_report(m, X[s], y[s], g[s])
            rows.append(
                {
                    "model": name,
                    "method": method,
                    "south RMSE": rep_t.overall,
                    "south R²": r2.overall,
                    "worst south gu": rep_t.worst_group,
                    "worst south gu RMSE": rep_t.worst,
                    "north (train) RMSE": rep_s.overall,
                    "worst north gu RMSE": rep_s.worst,
                    "ESS": getattr(m, "ess_", np.nan),
                }
            )
            preds[f"{name} {method}"] = task.need(m.predict(X[t]), rows=t)
        res = AllocationRegret(p=10, radius=1000).fit(problem, task.need(rows=t), preds)
        regret_rows.append(res.to_frame() if not regret_rows else res.to_frame().iloc[1:])
        out["seoul_regret_summary"] = res.summary()
    out["seoul_transfer"] = pd.DataFrame(rows)
    out["seoul_regret"] = pd.concat(regret_rows, ignore_index=True)


def synthetic(seeds, out):
    rows = []
    grid = np.array(
        [[x, y] for x in np.arange(14_500, 24_000, 1000) for y in range(500, 10_000, 1000)]
    )
    for seed in seeds:
        task = synthetic_shift_task(rng=seed)
        s, t = task.source, task.target
        fitted = fit_all(ridge, task.X[s], task.y[s], task.groups[s], task.X[t])
        problem = LocationProblem.from_cost_matrix(cdist(task.coords[t], grid))
        preds = {k: task.need(m.predict(task.X[t]), rows=t) for k, m in fitted.items()}
        reg = AllocationRegret(p=5, radius=1500).fit(problem, task.need(rows=t), preds)
        regret = reg.results_.set_index("solution")["relative_regret"]
        for k, m in fitted.items():
            rows.append(
                {
                    "seed": seed,
                    "method": k,
                    "worst source group RMSE": group_report(
                        m, task.X[s], task.y[s], task.groups[s]
                    ).worst,
                    "held-out region RMSE": group_report(
                        m, task.X[t], task.y[t], task.groups[t]
                    ).overall,
                    "relative regret %": 100 * regret[k],
                }
            )
    frame = pd.DataFrame(rows)
    out["synthetic_by_seed"] = frame
    out["synthetic"] = frame.drop(columns="seed").groupby("method", sort=False).mean().reset_index()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)
    out: dict = {"_perm": 19 if args.quick else 99}
    models = {"ridge": ridge} if args.quick else {"ridge": ridge, "LightGBM": lgbm}
    t0 = time.perf_counter()
    seoul(models, out)
    synthetic(range(3) if args.quick else range(10), out)
    print(f"# bench_learn ({time.perf_counter() - t0:.0f} s)\n")
    for key, value in out.items():
        if key.startswith("_"):
            continue
        print(f"## {key}\n")
        print(md(value) if isinstance(value, pd.DataFrame) else value)
        print()
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    k: (v.to_dict("records") if isinstance(v, pd.DataFrame) else v)
                    for k, v in out.items()
                    if not k.startswith("_")
                },
                fh,
                ensure_ascii=False,
                indent=1,
                default=float,
            )


if __name__ == "__main__":
    main()
