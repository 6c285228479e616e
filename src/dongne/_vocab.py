"""The shared vocabulary of dongne's estimators and results (``docs/api.md``).

* :func:`resolve_rng` — the one rule for ``rng`` (int | numpy.random.Generator | None);
* :func:`check_lang`, :func:`pick_language` and :func:`bilingual` —
  ``summary(lang="both" | "ko" | "en")``;
* :func:`in_process_only` — ``scheduler=`` on procedures whose draws are not yet spread over
  :mod:`dongne.parallel`: honoured in this process, any other scheduler refused with an error
  (never silently ignored).

References
----------
Buitinck, L. et al. (2013). API design for machine learning software: experiences from the
scikit-learn project. *ECML PKDD Workshop: Languages for Data Mining and Machine Learning*,
108–122 (the ``random_state`` contract this rule tightens: here ``None`` is a fixed seed).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import numpy as np

from dongne.errors import SpecificationError

__all__ = [
    "DEFAULT_SEED",
    "LANGUAGES",
    "Lang",
    "bilingual",
    "check_lang",
    "in_process_only",
    "pick_language",
    "resolve_rng",
]

#: The seed that ``rng=None`` stands for: results are reproducible by default.
DEFAULT_SEED = 0

Lang = Literal["both", "ko", "en"]
LANGUAGES: tuple[str, ...] = ("both", "ko", "en")

F = TypeVar("F", bound=Callable[..., Any])


def resolve_rng(rng: int | np.random.Generator | None, *, bits: int = 63) -> int:
    """Turn an ``rng`` argument into the integer seed of a random procedure.

    Parameters
    ----------
    rng : int, numpy.random.Generator or None
        ``None`` means the fixed default seed :data:`DEFAULT_SEED` (0), so that every result
        is reproducible unless the user asks for other draws; a non-negative int is the seed
        itself; a Generator is drawn from once (an integer below ``2**bits``), so two fits
        with the same Generator state give the same numbers.
    bits : int, default 63
        Size of the seed drawn from a Generator (32 where the seed is passed on to
        scikit-learn's ``random_state``).

    Returns
    -------
    int
        The seed, recorded by every result in ``provenance_["seed"]``.

    Raises
    ------
    SpecificationError
        For anything else (negative ints, floats, bools, legacy ``RandomState``).

    Examples
    --------
    >>> resolve_rng(None), resolve_rng(7)
    (0, 7)
    >>> resolve_rng(np.random.default_rng(1)) == resolve_rng(np.random.default_rng(1))
    True
    """
    if rng is None:
        return DEFAULT_SEED
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**bits - 1))
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return int(rng) & (2**63 - 1)
    raise SpecificationError(
        "The 'rng' parameter (called 'seed' before 0.2) must be a non-negative int, a "
        "numpy.random.Generator or None "
        f"(None means seed {DEFAULT_SEED}). Got {rng!r} instead. Fix: pass rng=0 or another "
        "non-negative int."
    )


def check_lang(lang: str) -> str:
    """Return ``lang`` if it is ``"both"``, ``"ko"`` or ``"en"``; raise otherwise.

    Raises
    ------
    SpecificationError
        Naming the three allowed values.
    """
    if lang not in LANGUAGES:
        raise SpecificationError(
            f"The 'lang' parameter must be one of 'both', 'ko', 'en'. Got {lang!r} instead. "
            "Fix: pass lang='both', lang='ko' or lang='en'."
        )
    return lang


def pick_language(lang: str, en: str, ko: str) -> str:
    """The English text, the Korean text, or both (English first, a blank line between).

    Examples
    --------
    >>> pick_language("both", "Hello.", "안녕하세요.")
    'Hello.\\n\\n안녕하세요.'
    """
    lang = check_lang(lang)
    if lang == "en":
        return en
    if lang == "ko":
        return ko
    return f"{en}\n\n{ko}"


def in_process_only(scheduler: Any, where: str) -> None:
    """Refuse a scheduler other than this process for a procedure that runs only here.

    Parameters
    ----------
    scheduler : None, "threads" or anything else
        ``None`` and ``"threads"`` run in this process (the default); anything else
        (``"processes"``, a Dask address or client) is refused rather than ignored.
    where : str
        The function or class, for the message.

    Raises
    ------
    SpecificationError
        For a scheduler other than ``None`` / ``"threads"``.
    """
    if scheduler is None or scheduler == "threads":
        return
    raise SpecificationError(
        f"{where} runs its draws in this process only; scheduler={scheduler!r} is not "
        "supported there yet (the numbers would be the same, but nothing would run elsewhere). "
        "Fix: pass scheduler=None (or leave out --scheduler)."
    )


def bilingual(summary: F) -> F:
    """Give an English/Korean ``summary(self, lang=...)`` the third value ``lang="both"``.

    The wrapped method keeps its own default; ``"both"`` returns the English text, a blank
    line and the Korean text; any other value is refused by :func:`check_lang`.
    """
    signature = inspect.signature(summary)

    @functools.wraps(summary)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        if check_lang(bound.arguments["lang"]) != "both":
            return summary(*bound.args, **bound.kwargs)
        texts = []
        for lang in ("en", "ko"):
            bound.arguments["lang"] = lang
            texts.append(summary(*bound.args, **bound.kwargs))
        return pick_language("both", *texts)

    return wrapper  # type: ignore[return-value]


def provenance_alias(attribute: str) -> property:
    """A read-only ``provenance_`` property returning the result's ``attribute`` dict.

    Results made before the vocabulary kept their provenance under ``params``,
    ``provenance`` or ``parameters``; ``provenance_`` is the one name that every result
    answers to (the old attribute stays, it is also a constructor field).
    """

    def getter(self: Any) -> dict[str, Any]:
        return getattr(self, attribute)

    return property(getter, doc=f"Inputs, parameters, seed and version (same as ``{attribute}``).")
