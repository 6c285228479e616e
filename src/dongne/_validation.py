"""Parameter checks shared across dongne's packages, with one error format.

Every check raises :class:`~dongne.errors.SpecificationError` with the message "The 'NAME'
parameter must be ... Got VALUE instead." (scikit-learn's ``validate_params`` wording), so a
user sees the same shape of error whichever estimator or workflow they called. Only checks
that several packages make live here; a check that one estimator makes stays with it. The
``rng`` rule (int | Generator | None) is :func:`dongne._vocab.resolve_rng`.

References
----------
Pedregosa, F. et al. (2011). Scikit-learn: machine learning in Python. JMLR 12:2825–2830
(``sklearn/utils/_param_validation.py``: the message format followed here).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dongne.errors import SpecificationError

__all__ = ["check_choice", "check_probability"]


def check_choice(name: str, value: Any, allowed: Sequence[Any]) -> None:
    """Refuse ``value`` unless it is one of ``allowed``.

    Parameters
    ----------
    name : str
        The parameter's name, as the user wrote it.
    value : object
        What the user gave.
    allowed : sequence
        The allowed values, listed in the message in this order.

    Raises
    ------
    SpecificationError
        Naming the parameter, the allowed values and the value received.

    Examples
    --------
    >>> check_choice("correction", "fdr_bh", ("none", "fdr_bh", "fdr_by", "bonferroni"))
    >>> check_choice("alternative", "less", ("two-sided", "greater"))
    Traceback (most recent call last):
    ...
    dongne.errors.SpecificationError: The 'alternative' parameter must be one of 'two-sided', 'greater'. Got 'less' instead.
    """  # noqa: E501
    if value not in allowed:
        raise SpecificationError(
            f"The {name!r} parameter must be one of {', '.join(map(repr, allowed))}. "
            f"Got {value!r} instead."
        )


def check_probability(name: str, value: Any) -> None:
    """Refuse ``value`` unless it is a number strictly between 0 and 1 (a level such as alpha).

    Parameters
    ----------
    name : str
        The parameter's name, as the user wrote it.
    value : object
        What the user gave.

    Raises
    ------
    SpecificationError
        Naming the parameter and the value received.

    Examples
    --------
    >>> check_probability("alpha", 0.05)
    >>> check_probability("alpha", 5)
    Traceback (most recent call last):
    ...
    dongne.errors.SpecificationError: The 'alpha' parameter must be in (0, 1). Got 5.
    """
    if not 0 < value < 1:
        raise SpecificationError(f"The {name!r} parameter must be in (0, 1). Got {value!r}.")
