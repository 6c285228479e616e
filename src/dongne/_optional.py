"""Optional dependencies: imported lazily, through one helper that names the extra to install.

The core install (``pip install dongne``) carries what reading, joining, weights, detection,
allocation, learning, evaluation and PNG/HTML reports need. Everything else is an extra:

=============  ==========================================================  =======================
extra          packages                                                    needed by
=============  ==========================================================  =======================
``service``    fastapi, uvicorn, sqlalchemy, alembic, psycopg              ``dongne serve``
``registry``   mlflow-skinny, skops, sqlalchemy, alembic, psycopg          :mod:`dongne.share`'s
                                                                           model registry
``pdf``        weasyprint                                                  ``format="pdf"``
``dask``       dask[distributed]                                           a Dask ``scheduler``
``flower``     flwr[simulation], xgboost-cpu                               ``engine="flower"``,
                                                                           tree models
``raster``     rasterio                                                    population grids
                                                                           from GeoTIFF
``all``        every extra above
=============  ==========================================================  =======================

Modules of dongne import these packages only inside the functions that need them, through
:func:`import_optional`, so a missing package is reported when (and only when) its feature is
used, with the command that installs it.

References
----------
Modelled on geopandas' ``import_optional_dependency`` (``geopandas/_compat.py``) and
scikit-learn's ``check_matplotlib_support`` (``sklearn/utils/_optional_dependencies.py``).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Literal, overload

from dongne.errors import MissingDependencyError

__all__ = ["EXTRAS", "import_optional"]

#: The extras of ``pyproject.toml`` and the importable modules each provides, as
#: ``{extra: {module: pip requirement}}``; ``tests/test_optional.py`` checks it against the file.
EXTRAS: dict[str, dict[str, str]] = {
    "service": {
        "fastapi": "fastapi",
        "uvicorn": "uvicorn",
        "sqlalchemy": "sqlalchemy",
        "alembic": "alembic",
        "psycopg": "psycopg[binary]",
    },
    "registry": {
        "mlflow": "mlflow-skinny",
        "skops": "skops",
        "sqlalchemy": "sqlalchemy",
        "alembic": "alembic",
        "psycopg": "psycopg[binary]",
    },
    "pdf": {"weasyprint": "weasyprint"},
    "dask": {"dask": "dask[distributed]", "distributed": "dask[distributed]"},
    "flower": {"flwr": "flwr[simulation]", "xgboost": "xgboost-cpu"},
    "raster": {"rasterio": "rasterio"},
}


@overload
def import_optional(
    module: str,
    extra: str | None,
    feature: str,
    *,
    alternative: str | None = ...,
    errors: Literal["raise"] = ...,
) -> ModuleType: ...


@overload
def import_optional(
    module: str,
    extra: str | None,
    feature: str,
    *,
    alternative: str | None = ...,
    errors: Literal["ignore"],
) -> ModuleType | None: ...


def import_optional(
    module: str,
    extra: str | None,
    feature: str,
    *,
    alternative: str | None = None,
    errors: Literal["raise", "ignore"] = "raise",
) -> ModuleType | None:
    """Import an optional package, or say which extra installs it.

    Parameters
    ----------
    module : str
        Module to import, e.g. ``"weasyprint"`` or ``"mlflow.tracking"``.
    extra : str or None
        The dongne extra that installs it (a key of :data:`EXTRAS`); None for a package that
        no extra carries (the fix then names the package itself).
    feature : str
        What needs it, as the user knows it: ``"PDF reports (format='pdf')"``.
    alternative : str, optional
        A way to do without, appended to the fix: ``"or use format='html'"``.
    errors : {"raise", "ignore"}, default "raise"
        ``"ignore"`` returns None when the package is missing (for features with a fallback).

    Returns
    -------
    module or None
        The imported module (None only with ``errors="ignore"``).

    Raises
    ------
    MissingDependencyError
        The package cannot be imported; the message ends with ``Fix: pip install
        'dongne[extra]'``. It is also an :class:`ImportError`.
    SpecificationError
        ``extra`` is not one of :data:`EXTRAS` (a programming error in dongne).

    References
    ----------
    geopandas ``geopandas/_compat.py``: ``import_optional_dependency(name, extra)``.

    Examples
    --------
    >>> import_optional("math", None, "Arithmetic").sqrt(4.0)
    2.0
    >>> import_optional("no_such_package", "pdf", "PDF reports")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dongne.errors.MissingDependencyError: PDF reports needs the optional package ... 'dongne[pdf]'.
    >>> import_optional("no_such_package", None, "A test", errors="ignore") is None
    True
    """
    if extra is not None and extra not in EXTRAS:
        from dongne.errors import SpecificationError

        raise SpecificationError(
            f"Unknown extra {extra!r}; dongne's extras are {', '.join(EXTRAS)}."
        )
    try:
        return importlib.import_module(module)
    except ImportError as err:
        if errors == "ignore":
            return None
        top = module.partition(".")[0]
        package = EXTRAS[extra].get(top, top) if extra is not None else top
        fix = f"pip install 'dongne[{extra}]'" if extra is not None else f"pip install {package}"
        tail = f", {alternative}" if alternative else ""
        raise MissingDependencyError(
            f"{feature} needs the optional package {package} ({top} could not be imported: "
            f"{err}). Fix: {fix}{tail}."
        ) from err
