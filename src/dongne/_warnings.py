"""Where a dongne warning points: at the user's line, not at dongne's own code.

``warnings.warn(..., stacklevel=k)`` with a fixed ``k`` breaks as soon as a function is wrapped
(by :func:`dongne._deprecate.renamed`, say) or called through another dongne function: the
warning then names a line inside dongne, and a ``-W error::...:module`` filter misses it. This
module counts the frames instead, as pandas' ``find_stack_level`` does.
"""

from __future__ import annotations

import inspect
import os

#: The package folder as Python imported it: code objects carry the same spelling of their path.
_PACKAGE = os.path.dirname(__file__) + os.sep


def user_stacklevel() -> int:
    """The ``stacklevel`` that makes ``warnings.warn`` name the first frame outside dongne.

    Call it in the argument list of ``warnings.warn``. When every frame is dongne's own (the
    command line), the outermost dongne frame is named.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("look here", UserWarning, stacklevel=user_stacklevel())
    >>> caught[0].filename == __file__ or caught[0].filename.startswith("<doctest")
    True
    """
    frame = inspect.currentframe()
    level = 0
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    return level if frame is not None else max(1, level - 1)
