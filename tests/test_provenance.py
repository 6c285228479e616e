"""Provenance in ``attrs["dongne"]``: read-only, shared by derived frames instead of copied."""

from __future__ import annotations

import copy
import json
import pickle

import pandas as pd
import pytest

from dongne.datasets import data_path
from dongne.io import read_table
from dongne.io.provenance import Provenance, attach


def test_derived_frames_share_the_record_instead_of_deep_copying_it():
    table = read_table(data_path("seoul_gu_indicators.csv"))
    meta = table.attrs["dongne"]
    assert isinstance(meta, Provenance) and meta["format"] == "csv"
    derived = table.copy()
    derived["x"] = 1.0
    derived = derived[derived["x"] > 0].merge(table, on=table.columns[0])
    # pandas deep-copies attrs after every operation; the record copies as itself
    assert derived.attrs["dongne"] is meta


def test_provenance_is_read_only_json_and_picklable():
    p = Provenance({"source": "a.csv", "reports": [{"n": 1}]})
    for change in (lambda: p.__setitem__("rows", 3), lambda: p.update(rows=3),
                   lambda: p.pop("source"), p.clear, lambda: p.setdefault("x", 1)):  # fmt: skip
        with pytest.raises(TypeError, match="read-only"):
            change()
    assert copy.copy(p) is p and copy.deepcopy({"d": p})["d"] is p
    assert json.loads(json.dumps(p)) == {"source": "a.csv", "reports": [{"n": 1}]}
    again = pickle.loads(pickle.dumps(p))
    assert isinstance(again, Provenance) and again == p
    frame = attach(pd.DataFrame({"a": [1]}), {**p, "rows": 1})
    assert frame.attrs["dongne"]["rows"] == 1 and isinstance(frame.attrs["dongne"], Provenance)


def test_an_overlay_does_not_change_its_input_record():
    import geopandas as gpd
    from shapely import box

    from dongne.io.overlay import points_to_areas

    areas = attach(gpd.GeoDataFrame({"code": ["a"]}, geometry=[box(0, 0, 1, 1)], crs=5179), {})
    points = gpd.GeoDataFrame({"v": [1]}, geometry=gpd.points_from_xy([0.5], [0.5]), crs=5179)
    first = points_to_areas(areas, points, prefix="p1").frame
    points_to_areas(areas, points, prefix="p2")
    assert [o["prefix"] for o in first.attrs["dongne"]["overlays"]] == ["p1"]
    assert "overlays" not in areas.attrs["dongne"]
