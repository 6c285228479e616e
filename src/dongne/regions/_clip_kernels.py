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


@njit(cache=True)
def _clip_half(inx, iny, n, ax, ay, qx, qy, orient, outx, outy):
    """One Sutherland–Hodgman pass: the ring (inx, iny)[:n] cut by the half-plane left of
    a → q (right of it when ``orient`` < 0); returns the new vertex count."""
    k = 0
    for i in range(n):
        px, py = inx[i], iny[i]
        j = i + 1 if i + 1 < n else 0
        rx, ry = inx[j], iny[j]
        dp = orient * ((qx - ax) * (py - ay) - (qy - ay) * (px - ax))
        dr = orient * ((qx - ax) * (ry - ay) - (qy - ay) * (rx - ax))
        if dp >= 0:
            outx[k] = px
            outy[k] = py
            k += 1
        if (dp >= 0) != (dr >= 0):
            t = dp / (dp - dr)
            outx[k] = px + t * (rx - px)
            outy[k] = py + t * (ry - py)
            k += 1
    return k


@njit(parallel=True, cache=True)
def clip_areas_triangles(sub_xy, sub_off, tri_xy, tri_off, sub, poly):
    """Area of ring ``sub[k]`` intersected with polygon ``poly[k]``, the polygon given by its
    triangles (rows ``tri_off[p]:tri_off[p + 1]`` of ``tri_xy``, shape ``(n, 3, 2)``): the sum
    of the ring clipped by each triangle whose bounding box meets the ring's. Triangles of a
    polygon do not overlap, so the pieces add up. Coordinates are taken relative to the
    ring's first vertex (projected coordinates in the millions would lose area to
    cancellation in the shoelace sum)."""
    out = np.empty(sub.shape[0])
    for k in prange(sub.shape[0]):
        s0, s1 = sub_off[sub[k]], sub_off[sub[k] + 1]
        n = s1 - s0
        ox, oy = sub_xy[s0, 0], sub_xy[s0, 1]
        cap = 8 * n + 8  # each pass at most doubles the vertices of a non-convex ring
        buf = np.empty((6, cap))  # rows: subject x, y; passes 1 and 3 x, y; pass 2 x, y
        sx, sy = buf[0], buf[1]
        for i in range(n):
            sx[i] = sub_xy[s0 + i, 0] - ox
            sy[i] = sub_xy[s0 + i, 1] - oy
        x0, x1, y0, y1 = sx[:n].min(), sx[:n].max(), sy[:n].min(), sy[:n].max()
        total = 0.0
        for j in range(tri_off[poly[k]], tri_off[poly[k] + 1]):
            ax, ay = tri_xy[j, 0, 0] - ox, tri_xy[j, 0, 1] - oy
            bx, by = tri_xy[j, 1, 0] - ox, tri_xy[j, 1, 1] - oy
            cx, cy = tri_xy[j, 2, 0] - ox, tri_xy[j, 2, 1] - oy
            if (max(ax, bx, cx) < x0 or min(ax, bx, cx) > x1 or max(ay, by, cy) < y0
                    or min(ay, by, cy) > y1):  # fmt: skip
                continue
            turn = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
            if turn == 0.0:
                continue
            orient = 1.0 if turn > 0 else -1.0
            m = _clip_half(sx, sy, n, ax, ay, bx, by, orient, buf[2], buf[3])
            m = _clip_half(buf[2], buf[3], m, bx, by, cx, cy, orient, buf[4], buf[5])
            if m == 0:
                continue
            m = _clip_half(buf[4], buf[5], m, cx, cy, ax, ay, orient, buf[2], buf[3])
            if m:
                total += abs(_ring_area(buf[2], buf[3], m))
        out[k] = total
    return out


@njit(cache=True)
def _ear_clip(xs, ys, out, start):
    """Triangulate the simple ring (xs, ys) (no closing vertex) by ear clipping into rows
    ``start:start + n - 2`` of ``out`` (``(m, 3, 2)``); False when no ear is found (a ring
    that is not simple, or degenerate), and then the caller uses GEOS."""
    n = xs.shape[0]
    if n < 3:
        return False
    ox, oy = xs[0], ys[0]
    orient = 1.0 if _ring_area(xs - ox, ys - oy, n) > 0 else -1.0
    left = np.arange(n)
    count = n
    i = 0
    misses = 0
    row = start
    while count > 3:
        if misses > count:
            return False
        a, b, c = left[(i - 1) % count], left[i % count], left[(i + 1) % count]
        ax, ay = xs[a] - ox, ys[a] - oy
        bx, by = xs[b] - ox, ys[b] - oy
        cx, cy = xs[c] - ox, ys[c] - oy
        turn = orient * ((bx - ax) * (cy - ay) - (by - ay) * (cx - ax))
        ear = turn > 0
        if ear:
            for k in range(count):
                v = left[k]
                if v == a or v == b or v == c:
                    continue
                px, py = xs[v] - ox, ys[v] - oy
                if (px == ax and py == ay) or (px == bx and py == by) or (px == cx and py == cy):
                    continue
                d1 = orient * ((bx - ax) * (py - ay) - (by - ay) * (px - ax))
                d2 = orient * ((cx - bx) * (py - by) - (cy - by) * (px - bx))
                d3 = orient * ((ax - cx) * (py - cy) - (ay - cy) * (px - cx))
                if d1 >= 0 and d2 >= 0 and d3 >= 0:
                    ear = False
                    break
        if not ear:
            i += 1
            misses += 1
            continue
        out[row, 0, 0], out[row, 0, 1] = xs[a], ys[a]
        out[row, 1, 0], out[row, 1, 1] = xs[b], ys[b]
        out[row, 2, 0], out[row, 2, 1] = xs[c], ys[c]
        row += 1
        pos = i % count
        for k in range(pos, count - 1):
            left[k] = left[k + 1]
        count -= 1
        i = pos - 1 if pos > 0 else 0
        misses = 0
    a, b, c = left[0], left[1], left[2]
    out[row, 0, 0], out[row, 0, 1] = xs[a], ys[a]
    out[row, 1, 0], out[row, 1, 1] = xs[b], ys[b]
    out[row, 2, 0], out[row, 2, 1] = xs[c], ys[c]
    return True


@njit(parallel=True, cache=True)
def triangulate_rings(xy, off, which):
    """Ear-clipping triangles of the simple rings ``which`` (rows ``off[i]:off[i + 1]`` of
    ``xy``, no closing vertex): ``(triangles (m, 3, 2), offsets per ring of which, ok)``;
    a ring whose triangles do not add up to its area (to 1e-9) is marked not ok."""
    counts = np.empty(which.shape[0], dtype=np.int64)
    for k in range(which.shape[0]):
        counts[k] = max(off[which[k] + 1] - off[which[k]] - 2, 0)
    offsets = np.zeros(which.shape[0] + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(counts)
    tri = np.zeros((offsets[-1], 3, 2))
    ok = np.zeros(which.shape[0], dtype=np.bool_)
    for k in prange(which.shape[0]):
        a, b = off[which[k]], off[which[k] + 1]
        xs, ys = xy[a:b, 0], xy[a:b, 1]
        if not _ear_clip(xs, ys, tri, offsets[k]):
            continue
        ox, oy = xs[0], ys[0]
        whole = abs(_ring_area(xs - ox, ys - oy, b - a))
        parts = 0.0
        for r in range(offsets[k], offsets[k + 1]):
            parts += abs(_ring_area(tri[r, :, 0] - ox, tri[r, :, 1] - oy, 3))
        ok[k] = abs(parts - whole) <= 1e-9 * whole
    return tri, offsets, ok
