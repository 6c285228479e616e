"""dongne.io.atomic: the public atomic-write helpers every writer in dongne uses."""

from __future__ import annotations

import pytest

import dongne.io as dio
from dongne.io import atomic


def test_public_names_are_the_module_helpers():
    assert dio.atomic_path is atomic.atomic_path
    assert dio.atomic_write_text is atomic.atomic_write_text
    assert atomic.__all__ == ["atomic_path", "atomic_write_text"]


def test_failure_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "result.csv"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError, match="writer failed"), atomic.atomic_path(target) as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("writer failed")
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.csv"]


def test_write_text_replaces_and_creates_folders(tmp_path):
    target = tmp_path / "a" / "b" / "summary.txt"
    assert atomic.atomic_write_text(target, "첫째") == target
    atomic.atomic_write_text(target, "둘째", encoding="cp949")
    assert target.read_bytes() == "둘째".encode("cp949")
    assert sorted(p.name for p in target.parent.iterdir()) == ["summary.txt"]


def test_temporary_sits_beside_the_target_with_its_suffix(tmp_path):
    target = tmp_path / "layer.gpkg"
    with atomic.atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".gpkg")
        assert not tmp.exists()  # GDAL refuses to overwrite an existing empty file
        tmp.write_bytes(b"x")
    assert target.read_bytes() == b"x"
