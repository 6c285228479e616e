"""Area of the intersection of a polygon with a convex polygon, without building geometries.

Sutherland–Hodgman clipping (Sutherland & Hodgman 1974, "Reentrant polygon clipping",
*Communications of the ACM* 17(1), 32–42) of any simple ring by a convex ring is exact for the
area: the clipped ring may run along the clip boundary twice where a non-convex subject
leaves and re-enters, but such edges enclose no area. Used by
:func:`dongne.regions.overlay.overlay_areas` for the pairs where one polygon is convex (grid
cells, hexagons, Voronoi cells); every other pair goes through GEOS.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _ring_area(xs, ys, n):
    s = 0.0
    for i in range(n):
        j = i + 1 if i + 1 < n else 0
        s += xs[i] * ys[j] - xs[j] * ys[i]
    return 0.5 * s


@njit(cache=True)
def _clip_area(sx, sy, cx, cy, bx, by, tx, ty):
    """|area| of ring (sx, sy) clipped by the convex ring (cx, cy) (no closing vertex in
    either); bx, by, tx, ty are work buffers; -1 when they would overflow."""
    # coordinates relative to the clip ring's first vertex: projected coordinates in the
    # millions would lose a thousandth of a square metre to cancellation in the shoelace sum
    ox, oy = cx[0], cy[0]
    n = sx.shape[0]
    for i in range(n):
        bx[i] = sx[i] - ox
        by[i] = sy[i] - oy
    m = cx.shape[0]
    lx = cx - ox
    ly = cy - oy
    orient = 1.0 if _ring_area(lx, ly, m) > 0 else -1.0
    for e in range(m):
        ax, ay = lx[e], ly[e]
        qx, qy = lx[(e + 1) % m], ly[(e + 1) % m]
        k = 0
        for i in range(n):
            px, py = bx[i], by[i]
            rx, ry = bx[(i + 1) % n], by[(i + 1) % n]
            dp = orient * ((qx - ax) * (py - ay) - (qy - ay) * (px - ax))
            dr = orient * ((qx - ax) * (ry - ay) - (qy - ay) * (rx - ax))
            if dp >= 0:
                tx[k] = px
                ty[k] = py
                k += 1
            if (dp >= 0) != (dr >= 0):
                t = dp / (dp - dr)
                tx[k] = px + t * (rx - px)
                ty[k] = py + t * (ry - py)
                k += 1
        n = k
        if n + 2 > bx.shape[0] // 2:
            return -1.0  # more crossings than the buffers allow: let GEOS do this pair
        if n == 0:
            return 0.0
        for i in range(n):
            bx[i] = tx[i]
            by[i] = ty[i]
    return abs(_ring_area(bx, by, n))


@njit(parallel=True, cache=True)
def clip_areas(sub_xy, sub_off, clip_xy, clip_off, sub, clip):
    """Area of ring ``sub[k]`` clipped by convex ring ``clip[k]`` for every k; rings are rows
    ``off[i]:off[i + 1]`` of the coordinate arrays, closing vertex dropped."""
    out = np.empty(sub.shape[0])
    for k in prange(sub.shape[0]):
        s0, s1 = sub_off[sub[k]], sub_off[sub[k] + 1]
        c0, c1 = clip_off[clip[k]], clip_off[clip[k] + 1]
        cap = 4 * (s1 - s0) + 4 * (c1 - c0) + 16
        bx = np.empty(cap)
        by = np.empty(cap)
        tx = np.empty(cap)
        ty = np.empty(cap)
        out[k] = _clip_area(sub_xy[s0:s1, 0], sub_xy[s0:s1, 1], clip_xy[c0:c1, 0],
                            clip_xy[c0:c1, 1], bx, by, tx, ty)  # fmt: skip
    return out


@njit(parallel=True, cache=True)
def convex_rings(xy, off):
    """Whether each ring (rows ``off[i]:off[i + 1]``, no closing vertex) is convex: every
    turn has the same sign (collinear vertices allowed) and the turns add up to one full turn
    (which excludes self-intersecting stars)."""
    n = off.shape[0] - 1
    out = np.zeros(n, dtype=np.bool_)
    for i in prange(n):
        a, b = off[i], off[i + 1]
        m = b - a
        if m < 3:
            continue
        sign = 0.0
        turning = 0.0
        ok = True
        for k in range(m):
            p0 = a + k
            p1 = a + (k + 1) % m
            p2 = a + (k + 2) % m
            ux, uy = xy[p1, 0] - xy[p0, 0], xy[p1, 1] - xy[p0, 1]
            vx, vy = xy[p2, 0] - xy[p1, 0], xy[p2, 1] - xy[p1, 1]
            cross = ux * vy - uy * vx
            if cross != 0.0:
                if sign == 0.0:
                    sign = 1.0 if cross > 0 else -1.0
                elif cross * sign < 0:
                    ok = False
                    break
            turning += np.arctan2(cross, ux * vx + uy * vy)
        out[i] = ok and sign != 0.0 and abs(abs(turning) - 2 * np.pi) < 1e-6
    return out
