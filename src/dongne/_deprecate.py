"""One helper for renamed parameters and attributes: old spellings work for one release.

Every rename in dongne's vocabulary (see ``docs/api.md``) goes through :func:`renamed` (keyword
arguments of functions and constructors) or :func:`renamed_attribute` (attributes of result
objects). The old spelling keeps working until :data:`REMOVAL`, with a :class:`FutureWarning`
that names the new spelling — the category pandas and scikit-learn use for deprecations that
end users (not only developers) must act on.

References
----------
scikit-learn developers. *Contributing: deprecation* (``sklearn.utils.deprecated`` and the
two-release rule). https://scikit-learn.org/stable/developers/contributing.html#deprecation
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

from dongne._warnings import user_stacklevel
from dongne.errors import SpecificationError

__all__ = ["MISSING", "REMOVAL", "renamed", "renamed_attribute", "warn_renamed"]

#: The release in which the old spellings stop working.
REMOVAL = "0.3"

#: Passed to a fold function for a new parameter the user did not give.
MISSING = object()

F = TypeVar("F", bound=Callable[..., Any])


def warn_renamed(old: str, new: str, where: str) -> None:
    """Issue the one FutureWarning used for every renamed parameter or attribute.

    Parameters
    ----------
    old, new : str
        The old and the new spelling.
    where : str
        The function or class concerned, as the user calls it (``"att_gt"``). The warning
        names the user's line (:func:`dongne._warnings.user_stacklevel`).
    """
    warnings.warn(
        f"{where}: '{old}' is renamed '{new}'; the old name stops working in dongne {REMOVAL}. "
        f"Fix: write {new}= instead of {old}=.",
        FutureWarning,
        stacklevel=user_stacklevel(),
    )


def renamed(**old_to_new: str | tuple[str, Callable[[Any, Any], Any]]) -> Callable[[F], F]:
    """Accept old keyword names for one release, mapped to the new ones with a FutureWarning.

    Parameters
    ----------
    **old_to_new : str or (str, callable)
        ``old_name="new_name"`` pairs; or ``old_name=("new_name", fold)`` where an old
        parameter became part of a new one: ``fold(old_value, new_value)`` returns the new
        value (``new_value`` is :data:`MISSING` when the user did not pass it).

    Returns
    -------
    callable
        A decorator for a function or an ``__init__``; the signature the user sees is the new one.

    Raises
    ------
    SpecificationError
        When both the old and the new name are given.

    Examples
    --------
    >>> @renamed(seed="rng")
    ... def draw(*, rng=None):
    ...     return rng
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     draw(seed=3), caught[0].category.__name__
    (3, 'FutureWarning')
    """

    def decorate(func: F) -> F:
        where = func.__qualname__.removesuffix(".__init__")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, target in old_to_new.items():
                if old not in kwargs:
                    continue
                if isinstance(target, str):
                    if target in kwargs:
                        raise SpecificationError(
                            f"{where}: got both '{old}' (old name) and '{target}'. "
                            f"Fix: pass only {target}=."
                        )
                    warn_renamed(old, target, where)
                    kwargs[target] = kwargs.pop(old)
                else:
                    new, fold = target
                    warn_renamed(old, new, where)
                    kwargs[new] = fold(kwargs.pop(old), kwargs.get(new, MISSING))
            return func(*args, **kwargs)

        wrapper.__dongne_renamed__ = dict(old_to_new)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def renamed_attribute(old: str, new: str) -> property:
    """A read-only property ``old`` that returns ``self.new`` with a FutureWarning.

    Parameters
    ----------
    old, new : str
        The old attribute name (the property's name in the class body) and the new one.

    Returns
    -------
    property
    """

    def getter(self: Any) -> Any:
        warn_renamed(old, new, type(self).__name__)
        return getattr(self, new)

    return property(getter, doc=f"Deprecated alias of ``{new}`` (removed in dongne {REMOVAL}).")
