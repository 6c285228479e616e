"""Checks on a regression design: missing values, constant and collinear columns, conditioning.

A regression on a singular or nearly singular design returns numbers that look fine and mean
nothing (coefficients that swap sign with the last digit of the data). Every estimator of
:mod:`dongne.explain` passes its design through :func:`check_design` first, which refuses:

* missing or infinite values (naming the rows),
* a covariate that does not vary (it duplicates the intercept),
* a covariate that is an exact linear combination of the others (naming the set, found with a
  rank-revealing QR decomposition),
* a design whose condition number (of the column-scaled cross-product, Belsley, Kuh & Welsch
  1980) exceeds ``max_condition`` (default 1e6), i.e. more than six digits of the
  coefficients may be lost to rounding.

References
----------
Belsley, D. A., Kuh, E. & Welsch, R. E. (1980). *Regression Diagnostics*. Wiley, ch. 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from dongne.errors import DataError, SpecificationError, format_rows

__all__ = ["MAX_CONDITION", "Design", "check_design", "condition_number"]

#: Largest condition number accepted (Belsley–Kuh–Welsch scaling): beyond it more than six
#: significant digits of the coefficients can be lost to rounding.
MAX_CONDITION = 1e6


@dataclass(frozen=True)
class Design:
    """A checked design: ``y`` (n,), ``X`` (n, k) with the intercept first, and names."""

    y: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    y_name: str
    rows: tuple[object, ...]

    @property
    def n(self) -> int:
        """Number of observations."""
        return self.X.shape[0]

    @property
    def k(self) -> int:
        """Number of coefficients (intercept included)."""
        return self.X.shape[1]


def condition_number(X: np.ndarray) -> float:
    """Condition number of ``X'X`` with unit-length columns, square-rooted (as GeoDa and spreg).

    Values above 30 signal harmful collinearity (Belsley, Kuh & Welsch 1980, p. 105).
    """
    xtx = X.T @ X
    d = 1.0 / np.sqrt(np.diag(xtx))
    eig = np.linalg.eigvalsh(xtx * d[:, None] * d[None, :])
    if eig[0] <= 0:
        return float("inf")
    return float(np.sqrt(eig[-1] / eig[0]))


def check_design(
    y: Sequence[float] | np.ndarray,
    X: np.ndarray,
    names: Sequence[str],
    *,
    y_name: str = "y",
    rows: Sequence[object] | None = None,
    constant: bool = True,
    max_condition: float = MAX_CONDITION,
    source: str = "the data",
) -> Design:
    """Validate ``y`` and ``X`` and add the intercept; refuse designs that give wrong numbers.

    Parameters
    ----------
    y : array-like, shape (n,)
        The dependent variable.
    X : array-like, shape (n, p)
        The covariates, without the intercept.
    names : sequence of str
        Names of the ``p`` covariates, used in messages and results.
    y_name : str
        Name of ``y``.
    rows : sequence, optional
        Labels of the rows (area codes) for messages; default 0..n-1.
    constant : bool
        Add an intercept column named ``"const"`` first.
    max_condition : float
        Largest condition number accepted (:func:`condition_number`).
    source : str
        What the data are called in messages.

    Raises
    ------
    DataError
        Missing or infinite values (rows named), a constant covariate, covariates that are
        exactly collinear (named), or an ill-conditioned design.
    """
    yv = np.asarray(y, dtype=float).reshape(-1)
    Xv = np.asarray(X, dtype=float)
    if Xv.ndim == 1:
        Xv = Xv[:, None]
    names = tuple(str(n) for n in names)
    labels = tuple(rows) if rows is not None else tuple(range(len(yv)))
    if Xv.shape[0] != yv.shape[0] or Xv.shape[1] != len(names):
        raise SpecificationError(
            f"y has {yv.shape[0]} rows, X has shape {Xv.shape} and {len(names)} names were "
            "given. Fix: pass one name per column of X and as many rows of X as of y."
        )
    _refuse_missing(yv, Xv, (y_name, *names), labels, source)
    _refuse_constant(Xv, names, source, constant)
    if constant:
        Xv = np.column_stack([np.ones(len(yv)), Xv])
        names = ("const", *names)
    _refuse_collinear(Xv, names, source)
    cond = condition_number(Xv)
    if not cond <= max_condition:
        raise DataError(
            f"The covariates {', '.join(names[1 if constant else 0 :])} of {source} are nearly "
            f"collinear: the condition number is {cond:.3g} (> {max_condition:.3g}), so the "
            "coefficients would lose more than six significant digits to rounding. Fix: drop "
            "or combine covariates, or rescale them (e.g. thousands instead of units)."
        )
    if Xv.shape[0] <= Xv.shape[1]:
        raise DataError(
            f"{source} has {Xv.shape[0]} observations for {Xv.shape[1]} coefficients; a "
            "regression needs more observations than coefficients. Fix: use fewer covariates."
        )
    return Design(yv, Xv, names, y_name, labels)


def _refuse_missing(
    y: np.ndarray, X: np.ndarray, names: tuple[str, ...], rows: tuple, source: str
) -> None:
    bad = ~np.isfinite(np.column_stack([y, X]))
    if not bad.any():
        return
    columns = [names[j] for j in np.flatnonzero(bad.any(axis=0))]
    where = [rows[i] for i in np.flatnonzero(bad.any(axis=1))]
    raise DataError(
        f"{source}: column(s) {', '.join(columns)} have missing or infinite values in "
        f"{len(where)} row(s): {format_rows(where)}. Regression refuses to drop rows silently. "
        "Fix: fill or remove these rows, or pass missing='drop' to leave them out (they are "
        "listed in the results)."
    )


def _refuse_constant(X: np.ndarray, names: tuple[str, ...], source: str, constant: bool) -> None:
    flat = [names[j] for j in range(X.shape[1]) if np.ptp(X[:, j]) == 0]
    if flat:
        what = "duplicates the intercept" if constant else "does not vary"
        raise DataError(
            f"{source}: covariate(s) {', '.join(flat)} take one value in every row, so each "
            f"{what}. Fix: remove {', '.join(flat)} from the covariates."
        )


def _refuse_collinear(X: np.ndarray, names: tuple[str, ...], source: str) -> None:
    scaled = X / np.sqrt((X**2).sum(axis=0))
    _, r, perm = scipy.linalg.qr(scaled, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    tol = diag[0] * max(X.shape) * np.finfo(float).eps * 1e3
    rank = int((diag > tol).sum())
    if rank == X.shape[1]:
        return
    dependent = perm[rank:]
    # Each dependent column is a combination of the pivots: name the ones it involves.
    coef = scipy.linalg.solve_triangular(r[:rank, :rank], r[:rank, rank:])
    involved = {int(perm[i]) for i in np.flatnonzero(np.abs(coef).max(axis=1) > 1e-8)}
    group = sorted(involved | {int(j) for j in dependent})
    raise DataError(
        f"{source}: the covariates {', '.join(names[j] for j in group)} are exactly collinear "
        f"({', '.join(names[j] for j in dependent)} is a linear combination of the others), "
        "so their coefficients are not identified. Fix: remove "
        f"{', '.join(names[j] for j in dependent)} from the covariates."
    )
