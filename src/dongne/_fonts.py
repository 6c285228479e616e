"""The bundled Korean font, for every figure dongne draws (ground floor: matplotlib only).

Lives below the packages so that a result anywhere in the house (``io``, ``detect``,
``evaluate``, ...) can label its figure in Hangul without importing :mod:`dongne.report`.
"""

from __future__ import annotations

import functools
from pathlib import Path

__all__ = ["FONT_FILE", "korean_font"]

#: NanumGothic (SIL Open Font License 1.1), shipped as package data of dongne.report.
FONT_FILE = Path(__file__).parent / "report" / "fonts" / "NanumGothic.ttf"


@functools.cache
def korean_font() -> str:
    """Register the bundled NanumGothic font with matplotlib and return its family name.

    Registration happens once per process, on the first call, through
    :meth:`matplotlib.font_manager.FontManager.addfont`; matplotlib's own font cache on disk
    and the user's ``rcParams`` are left untouched. Use the returned name as a font family,
    e.g. ``ax.set_title("서울", fontfamily=korean_font())``.

    Returns
    -------
    str
        The family name of the bundled font, ``"NanumGothic"``.

    References
    ----------
    .. [1] NAVER Corp., "Nanum fonts", SIL Open Font License 1.1,
       https://hangeul.naver.com/font

    Examples
    --------
    >>> korean_font()
    'NanumGothic'
    """
    from matplotlib import font_manager

    font_manager.fontManager.addfont(FONT_FILE)
    return font_manager.FontProperties(fname=FONT_FILE).get_name()
