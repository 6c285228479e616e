"""The offline map dashboard at ``/dashboard/`` (``/`` redirects there): no token is needed for
its files; every data request it makes goes through the token-protected API."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

router = APIRouter()

#: The dashboard's HTML, JavaScript, CSS and Korean font (a NanumGothic subset, SIL OFL 1.1).
_DASHBOARD_DIR = Path(__file__).parent.parent / "static"


#: Content-Security-Policy of every dashboard file: the browser may load and connect to this
#: server only, so nothing (scripts, tiles, fonts, analytics) can come from elsewhere.
_DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class _DashboardFiles(StaticFiles):
    """Static files served with the dashboard's offline Content-Security-Policy."""

    async def get_response(self, path: str, scope: Any) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Content-Security-Policy"] = _DASHBOARD_CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


@functools.cache
def _dashboard_palettes() -> dict[str, Any]:
    """The report maps' colours and bilingual labels, so that the dashboard draws the same."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    from dongne.report.maps import HOTSPOT_CATEGORIES, LISA_CATEGORIES

    def categories(palette: Any) -> dict[str, dict[str, str]]:
        out = {}
        for key, (colour, label, *_hatch) in palette.items():
            en, _, ko = label.partition(" / ")
            out[key] = {"colour": colour, "en": en, "ko": ko or en}
        return out

    ramp = colormaps["YlOrRd"]
    return {
        "lisa": categories(LISA_CATEGORIES),
        "hotspot": categories(HOTSPOT_CATEGORIES),
        "sequential": {
            str(k): [to_hex(c) for c in ramp.resampled(k)(range(k))] for k in range(2, 8)
        },
        # local coefficients (dongne explain): blue below 0, red above, as the report's maps
        "diverging": {"6": [to_hex(c) for c in colormaps["RdBu_r"].resampled(6)(range(6))]},
    }


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("dashboard/")


@router.get("/dashboard/palettes.json", include_in_schema=False)
def palettes() -> JSONResponse:
    return JSONResponse(_dashboard_palettes(), headers={"Content-Security-Policy": _DASHBOARD_CSP})


def dashboard_files() -> StaticFiles:
    """The dashboard's files (``app.mount("/dashboard", ...)``), with its offline CSP."""
    return _DashboardFiles(directory=_DASHBOARD_DIR, html=True)
