"""Reading city data in whole: areas, tables and points, joins with match reports, writers.

Public API
----------
read_areas, read_table, read_points, points_from_table, select_points, describe_file,
join_by_code, MatchReport, JoinResult, points_to_areas, PointsInAreas,
check_counts, check_geometries, detect_encoding, normalise_codes,
metric_crs, to_metric, write_layer, write_table, write_provenance,
atomic_path, atomic_write_text (:mod:`dongne.io.atomic`).
"""

from dongne.io.areas import check_geometries, read_areas
from dongne.io.atomic import atomic_path, atomic_write_text
from dongne.io.codes import describe_code_system, normalise_codes
from dongne.io.crs import metric_crs, to_metric
from dongne.io.encoding import DetectedEncoding, detect_encoding
from dongne.io.info import FileInfo, describe_file
from dongne.io.join import JoinResult, MatchReport, join_by_code
from dongne.io.overlay import PointsInAreas, points_to_areas
from dongne.io.points import points_from_table, read_points, select_points
from dongne.io.raster import read_raster_points
from dongne.io.tables import check_counts, read_table
from dongne.io.write import write_layer, write_provenance, write_table

__all__ = [
    "DetectedEncoding",
    "FileInfo",
    "JoinResult",
    "MatchReport",
    "PointsInAreas",
    "atomic_path",
    "atomic_write_text",
    "check_counts",
    "check_geometries",
    "describe_code_system",
    "describe_file",
    "detect_encoding",
    "join_by_code",
    "metric_crs",
    "normalise_codes",
    "points_from_table",
    "points_to_areas",
    "read_areas",
    "read_points",
    "read_raster_points",
    "read_table",
    "select_points",
    "to_metric",
    "write_layer",
    "write_provenance",
    "write_table",
]
