"""Reproducible HTML and PDF reports of a saved analysis run (``dongne report RUN``).

A *run* is the output folder of ``dongne demo``, ``detect``, ``scan`` or ``allocate`` (or of
:func:`~dongne.detect.workflow.run_detect`, :func:`~dongne.detect.workflow.run_scan`,
:func:`~dongne.allocate.run_allocate`): maps (PNG), tables (CSV, GeoPackage), summaries in
English and Korean, match reports and a ``<file>.provenance.json`` beside every table. A report
reads only that folder and renders one self-contained document for a council or a partner:

1. title, the date the run was recorded and the dongne version;
2. plain-language findings (the run's summaries, in English, Korean or both);
3. maps; 4. key tables (top areas, significance counts, scan clusters, coverage before and
   after per group); 5. methods with their recorded parameters and references;
6. data sources and match reports; 7. reproducibility (recorded commands and parameters,
   versions, SHA-256 of every file in the run); appendix: files no section knows.

The HTML has everything inline — CSS, images as ``data:`` URIs and the bundled NanumGothic
font (SIL Open Font License) subset to the characters used, as an ``@font-face`` data URI — so
it opens on a machine without network access and makes no request of any kind. The PDF is
rendered from the same HTML by WeasyPrint with a URL fetcher that refuses everything but
``data:`` URIs. The same run folder gives a byte-identical HTML file: the only dates are the
ones the run recorded, and files are always visited in sorted order.

Sections for an analysis are small functions registered with :func:`register_section` under
the file names that identify the analysis; files that no section claims are listed (and
images shown) in the appendix, never dropped.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import io
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dongne import __version__
from dongne._optional import import_optional
from dongne.errors import DataError, SpecificationError
from dongne.io._atomic import atomic_path, atomic_write_text

__all__ = [
    "FORMATS",
    "LANGUAGES",
    "AnalysisRun",
    "Figure",
    "Method",
    "ReportSection",
    "Table",
    "build_report",
    "read_run",
    "register_section",
    "render_html",
    "split_languages",
]

#: Output formats of :func:`build_report`.
FORMATS = ("html", "pdf")
#: Report languages: English, Korean, or both side by side.
LANGUAGES = ("en", "ko", "both")

_HERE = Path(__file__).parent
_FONT_FILE = _HERE / "fonts" / "NanumGothic.ttf"
_CSS_FILE = _HERE / "templates" / "report.css"
_SIDECAR = ".provenance.json"
_REPORT_NAME = re.compile(r"^report(_[a-z]+)?\.(html|pdf)$")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN = re.compile(r"[A-Za-z]")
_NUMBER = re.compile(r"^[<>]?[−+-]?[\d,]*\.?\d+( ?%| m| km)?$|^–$")

#: A bilingual label: (English, Korean).
Text = tuple[str, str]


# --------------------------------------------------------------------------------------------
# The run folder


@dataclass(frozen=True)
class AnalysisRun:
    """The files of one saved run, as a report sees them.

    Attributes
    ----------
    root : Path
        The run folder.
    files : tuple of str
        Every file below ``root`` as a POSIX path relative to it, sorted; hidden files,
        provenance sidecars and earlier reports (``report*.html``/``.pdf``) left out.
    provenance : mapping of str to dict
        The parsed ``<file>.provenance.json`` of each file that has one, keyed by the file.
    sidecars : tuple of str
        The provenance files themselves (relative paths, sorted).
    """

    root: Path
    files: tuple[str, ...]
    provenance: Mapping[str, dict[str, Any]]
    sidecars: tuple[str, ...]

    def has(self, name: str) -> bool:
        """Whether the run contains ``name`` (a relative path)."""
        return name in self.files

    def ending_with(self, suffix: str) -> list[str]:
        """Files whose name ends with ``suffix``, sorted."""
        return [f for f in self.files if f.endswith(suffix)]

    def read_table(self, name: str) -> pd.DataFrame:
        """Read a CSV (UTF-8 with or without BOM) or the attributes of a GeoPackage, as text.

        Every column is read as strings (codes keep their leading zeros); convert numeric
        columns with :func:`pandas.to_numeric` where needed.
        """
        path = self.root / name
        if name.endswith(".gpkg"):
            import pyogrio

            frame = pyogrio.read_dataframe(path, read_geometry=False)
            return frame.astype("string").astype(object).where(frame.notna(), "")
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")

    def read_text(self, name: str) -> str:
        """Read a text file of the run (UTF-8)."""
        return (self.root / name).read_text(encoding="utf-8-sig")

    def columns(self, name: str) -> list[str]:
        """Columns recorded in the provenance of ``name`` (empty when none is recorded)."""
        return list(self.provenance.get(name, {}).get("columns", []))

    def parameters(self, name: str) -> dict[str, Any]:
        """Parameters recorded in the provenance of ``name`` (empty when none)."""
        return dict(self.provenance.get(name, {}).get("parameters", {}) or {})

    def recorded(self) -> tuple[str, str]:
        """First and last ``created_utc`` of the run's provenance files (ISO 8601, UTC)."""
        stamps = sorted(
            str(p["created_utc"]) for p in self.provenance.values() if p.get("created_utc")
        )
        return (stamps[0], stamps[-1]) if stamps else ("", "")

    def recorded_versions(self, key: str) -> list[str]:
        """Distinct values of ``key`` (e.g. ``"dongne_version"``) over the provenance files."""
        return sorted({str(p[key]) for p in self.provenance.values() if p.get(key)})


def read_run(run_dir: str | os.PathLike[str], *, exclude: Iterable[Path] = ()) -> AnalysisRun:
    """Collect the files and provenance records of a saved run.

    Parameters
    ----------
    run_dir : path-like
        Output folder of a dongne command or workflow.
    exclude : iterable of Path
        Further files to leave out (the report being written).

    Returns
    -------
    AnalysisRun

    Raises
    ------
    DataError
        When the folder does not exist, is not a folder, has no ``*.provenance.json`` (it was
        not written by dongne), or a provenance file is not valid JSON.
    """
    root = Path(run_dir)
    if not root.exists():
        raise DataError(
            f"Run folder {root} does not exist. Fix: give the --out folder of a dongne command "
            "(e.g. the folder written by 'dongne demo --out seoul-demo')."
        )
    if not root.is_dir():
        raise DataError(
            f"{root} is a file, not a run folder. Fix: give the folder a dongne command wrote "
            "with --out."
        )
    skip = {p.resolve() for p in exclude}
    files: list[str] = []
    sidecars: list[str] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or any(part.startswith(".") for part in Path(rel).parts):
            continue
        if path.resolve() in skip or (path.parent == root and _REPORT_NAME.match(path.name)):
            continue
        (sidecars if rel.endswith(_SIDECAR) else files).append(rel)
    if not sidecars:
        raise DataError(
            f"{root} is not a dongne run: it has no *.provenance.json file, so its parameters "
            "and inputs are unknown. Fix: give the --out folder of 'dongne demo', 'detect', "
            "'scan', 'allocate', 'evaluate' or 'learn'."
        )
    provenance: dict[str, dict[str, Any]] = {}
    for rel in sidecars:
        try:
            record = json.loads((root / rel).read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(
                f"{root / rel} is not valid JSON ({exc}). Restore it from the run or rerun "
                "the command that wrote the folder."
            ) from exc
        provenance[rel[: -len(_SIDECAR)]] = record
    return AnalysisRun(
        root=root,
        files=tuple(files),
        provenance=provenance,
        sidecars=tuple(sidecars),
    )


# --------------------------------------------------------------------------------------------
# Section registry


@dataclass(frozen=True)
class Figure:
    """A map or chart of the run: ``file`` (relative path) with an English/Korean caption."""

    file: str
    caption: Text


@dataclass(frozen=True)
class Table:
    """A key table: display strings (already formatted) and the file it was read from."""

    title: Text
    frame: pd.DataFrame
    source: str
    note: Text | None = None


@dataclass(frozen=True)
class Method:
    """A method as run: what it does, its recorded parameters and the references to cite."""

    title: Text
    description: Text
    parameters: Mapping[str, Any]
    source: str
    references: tuple[str, ...] = ()


@dataclass
class ReportSection:
    """What one analysis contributes to the report; ``files`` are the run files it used."""

    title: Text
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    methods: list[Method] = field(default_factory=list)
    files: set[str] = field(default_factory=set)


SectionBuilder = Callable[[AnalysisRun, str], ReportSection | None]
_REGISTRY: list[tuple[str, tuple[str, ...], SectionBuilder]] = []


def register_section(
    name: str, anchors: Sequence[str]
) -> Callable[[SectionBuilder], SectionBuilder]:
    """Register a section builder for an analysis identified by the files it writes.

    For every prefix ``P`` such that the run has a file ``P + anchor`` for one of ``anchors``
    (e.g. ``allocate_`` + ``new_sites.csv``), ``builder(run, P)`` is called; it returns a
    :class:`ReportSection` (or ``None`` to skip) listing the files it used in ``files``.
    Sections appear in registration order; a name registered again replaces the builder.

    Examples
    --------
    >>> @register_section("notes_example", anchors=["notes_example.csv"])
    ... def _notes(run, prefix):
    ...     name = prefix + "notes_example.csv"
    ...     return ReportSection(title=("Notes", "메모"), files={name})
    >>> [n for n, _, _ in _REGISTRY][-1]
    'notes_example'
    >>> _REGISTRY.pop()[0]
    'notes_example'
    """

    def decorate(builder: SectionBuilder) -> SectionBuilder:
        entry = (name, tuple(anchors), builder)
        for i, (existing, _, _) in enumerate(_REGISTRY):
            if existing == name:
                _REGISTRY[i] = entry
                break
        else:
            _REGISTRY.append(entry)
        return builder

    return decorate


def _prefixes(run: AnalysisRun, anchors: Sequence[str]) -> list[str]:
    found = {
        f[: -len(anchor)]
        for anchor in anchors
        for f in run.files
        if f.endswith(anchor) and (len(f) == len(anchor) or f[-len(anchor) - 1] in "_/-.")
    }
    return sorted(found)


# --------------------------------------------------------------------------------------------
# Formatting


def _num(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values.replace("", np.nan), errors="coerce")


def _fmt(value: Any, spec: str) -> str:
    """Format one value: ``int``, ``f1``..``f4``, ``pct`` (fraction → %), ``pct_pts``, ``p``."""
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if spec == "int":
        return f"{round(float(value)):,}"
    if spec.startswith("f"):
        return f"{float(value):,.{int(spec[1:])}f}"
    if spec == "pct":
        return f"{100 * float(value):.1f}%"
    if spec == "p":
        return "<0.0001" if float(value) < 1e-4 else f"{float(value):.4f}"
    return str(value)


def _format(frame: pd.DataFrame, specs: Mapping[str, str]) -> pd.DataFrame:
    out = frame.copy()
    for col, spec in specs.items():
        if col in out:
            out[col] = [_fmt(v, spec) for v in _num(out[col].astype(str))]
    return out.astype(str)


def _t(lang: str, text: Text) -> str:
    """Escaped label in the report language (``both``: English / Korean)."""
    en, ko = (html.escape(t) for t in text)
    if lang == "en" or en == ko:
        return en
    if lang == "ko":
        return ko
    return f'{en} <span class="ko" lang="ko">/ {ko}</span>'


def _language_of(text: str) -> str | None:
    hangul, latin = len(_HANGUL.findall(text)), len(_LATIN.findall(text))
    if hangul + latin == 0:
        return None
    return "ko" if hangul / (hangul + latin) >= 0.3 else "en"


def split_languages(text: str) -> list[tuple[str, str]]:
    """Split a bilingual dongne summary into ``(language, paragraph)`` pairs.

    Paragraphs are separated by blank lines; a paragraph is Korean when at least 30% of its
    letters are Hangul (English paragraphs name Korean places, Korean ones keep Latin method
    names). A line with Hangul and no Latin letter inside an English paragraph (or at least ten
    Latin letters and no Hangul inside a Korean one) is split off, for summaries that add a
    translated line at the end.

    Examples
    --------
    >>> split_languages("Seoul overall: 8.81%.\\n\\n서울 전체 가구 중 8.81%입니다.")
    [('en', 'Seoul overall: 8.81%.'), ('ko', '서울 전체 가구 중 8.81%입니다.')]
    """
    pieces: list[tuple[str, str]] = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        lang = _language_of(block) or "en"
        run: list[str] = []
        current = lang
        for line in block.split("\n"):
            hangul, latin = len(_HANGUL.findall(line)), len(_LATIN.findall(line))
            own = lang
            if lang == "en" and latin == 0 and hangul >= 2:
                own = "ko"
            elif lang == "ko" and hangul == 0 and latin >= 10:
                own = "en"
            if own != current and run:
                pieces.append((current, "\n".join(run)))
                run = []
            current = own
            run.append(line)
        if run:
            pieces.append((current, "\n".join(run)))
    return [(lang, p) for lang, p in pieces if p.strip()]


def _paragraph_html(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        cls = ' class="indent"' if line.startswith(" ") else ""
        lines.append(f"<p{cls}>{html.escape(line.strip())}</p>")
    return "\n".join(lines)


def _table_html(frame: pd.DataFrame, css: str = "") -> str:
    numeric = {c: bool(len(frame)) and all(_NUMBER.match(str(v)) for v in frame[c]) for c in frame}
    head = "".join(
        f"<th{' class=num' if numeric[c] else ''}>{html.escape(str(c))}</th>" for c in frame
    )
    rows = []
    for values in frame.itertuples(index=False):
        cells = "".join(
            f"<td{' class=num' if numeric[c] else ''}>{html.escape(str(v))}</td>"
            for c, v in zip(frame.columns, values, strict=True)
        )
        rows.append(f"<tr>{cells}</tr>")
    cls = f' class="{css}"' if css else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _params_html(parameters: Mapping[str, Any]) -> str:
    rows = []
    for key, value in parameters.items():
        shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        rows.append(f"<tr><td>{html.escape(str(key))}</td><td>{html.escape(shown)}</td></tr>")
    return f'<table class="params"><tbody>{"".join(rows)}</tbody></table>'


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _plain(lang: str, text: Text) -> str:
    """Unescaped label in the report language, for attributes and plain strings."""
    en, ko = text
    return en if lang == "en" or en == ko else ko if lang == "ko" else f"{en} / {ko}"


def _name_columns(columns: Sequence[str]) -> list[str]:
    """Area-name columns to show (Korean names first), e.g. ``gu_name``, ``dong_name``."""
    names = [c for c in columns if c.endswith("name") and not c.endswith("_en")]
    names = [c for c in names if not re.search(r"_\d{4}$", c)]
    return sorted(names[:2], key=lambda c: (not c.startswith("gu"), c))


# --------------------------------------------------------------------------------------------
# Built-in sections: detect, scan, allocate

_DETECT_MAPS: tuple[tuple[str, Text], ...] = (
    ("lisa_map.png", ("Local Moran's I clusters (LISA)", "국지적 모란 I 군집 (LISA)")),
    ("gi_map.png", ("Getis-Ord Gi hot and cold spots", "게티스-오드 Gi 핫스팟·콜드스팟")),
    ("gistar_map.png", ("Getis-Ord Gi* hot and cold spots", "게티스-오드 Gi* 핫스팟·콜드스팟")),
    ("index_map.png", ("Vulnerability index", "취약성 지수")),
    (
        "rank_stability_map.png",
        ("Rank stability: probability of being in the top k", "순위 안정성: 상위 k위 안에 들 확률"),
    ),
)
_LOCAL_TESTS: tuple[tuple[str, Text, tuple[str, ...]], ...] = (
    (
        "lisa",
        ("Local Moran's I (LISA)", "국지적 모란 I (LISA)"),
        (
            "Anselin, L. (1995). Local indicators of spatial association — LISA. Geographical "
            "Analysis 27(2):93–115.",
            "Sokal, R. R., Oden, N. L. & Thomson, B. A. (1998). Local spatial autocorrelation "
            "in a biological model. Geographical Analysis 30(4):331–354.",
        ),
    ),
    (
        "gi",
        ("Getis-Ord Gi", "게티스-오드 Gi"),
        (
            "Getis, A. & Ord, J. K. (1992). The analysis of spatial association by use of "
            "distance statistics. Geographical Analysis 24(3):189–206.",
        ),
    ),
    (
        "gistar",
        ("Getis-Ord Gi*", "게티스-오드 Gi*"),
        (
            "Getis, A. & Ord, J. K. (1992). The analysis of spatial association by use of "
            "distance statistics. Geographical Analysis 24(3):189–206.",
            "Ord, J. K. & Getis, A. (1995). Local spatial autocorrelation statistics. "
            "Geographical Analysis 27(4):286–306.",
        ),
    ),
)
_CORRECTION_REFERENCES = {
    "fdr_bh": "Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. "
    "JRSS B 57(1):289–300.",
    "fdr_by": "Benjamini, Y. & Yekutieli, D. (2001). The control of the false discovery rate "
    "in multiple testing under dependency. Annals of Statistics 29(4):1165–1188.",
}
_LABEL_ORDER = (
    "HH",
    "LL",
    "HL",
    "LH",
    "hot spot 99%",
    "hot spot 95%",
    "hot spot 90%",
    "cold spot 99%",
    "cold spot 95%",
    "cold spot 90%",
    "not significant",
    "island",
    "undefined",
)


def _detect_table_of(run: AnalysisRun, prefix: str) -> str | None:
    """The per-area detect table: ``{prefix}detect.csv``, else a CSV carrying detect columns."""
    for ext in (".csv", ".gpkg"):
        if run.has(f"{prefix}detect{ext}"):
            return f"{prefix}detect{ext}"
    if prefix:
        return None
    for name in run.ending_with(".csv"):
        cols = set(run.columns(name))
        if cols & {"lisa_label", "gi_label", "gistar_label", "index_rank"}:
            return name
    return None


@register_section(
    "detect",
    anchors=("global_moran.csv", "detect.csv", *(m for m, _ in _DETECT_MAPS)),
)
def _detect_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    section = ReportSection(
        title=("Clusters, hot spots and vulnerability", "군집·핫스팟·취약성 분석")
    )
    for name, caption in _DETECT_MAPS:
        if run.has(prefix + name):
            section.figures.append(Figure(prefix + name, caption))
            section.files.add(prefix + name)
    moran_file = f"{prefix}global_moran.csv"
    variable = None
    if run.has(moran_file):
        section.files.add(moran_file)
        m = run.read_table(moran_file)
        params = run.parameters(moran_file)
        variable = params.get("variable")
        shown = m[
            [c for c in ("variable", "n", "moran_i", "expected", "z_randomisation") if c in m]
            + [c for c in ("p_randomisation", "permutations", "p_value", "alternative") if c in m]
        ]
        shown = _format(
            shown,
            {
                "n": "int",
                "moran_i": "f4",
                "expected": "f4",
                "z_randomisation": "f2",
                "p_randomisation": "p",
                "permutations": "int",
                "p_value": "p",
            },
        )
        section.tables.append(
            Table(
                ("Global Moran's I", "전역 모란 I"),
                shown,
                moran_file,
                (
                    "I > E[I] means similar values cluster in space; p_value is the "
                    "permutation p-value.",
                    "I가 기대값보다 크면 비슷한 값이 공간적으로 모여 있다는 뜻입니다. "
                    "p_value는 순열검정 p값입니다.",
                ),
            )
        )
        weights = params.get("weights", {})
        section.methods.append(
            Method(
                ("Global Moran's I", "전역 모란 I"),
                (
                    "Is the variable clustered at all? Moran's I compares each area's value "
                    "with its neighbours' (spatial weights), tested by random permutations.",
                    "변수가 공간적으로 모여 있는지 검정합니다. 각 지역 값과 이웃(공간가중치) 값의 "
                    "유사성을 순열검정으로 평가합니다.",
                ),
                {
                    k: params[k]
                    for k in (
                        "variable",
                        "n_areas",
                        "n_computed",
                        "permutations",
                        "alternative",
                        "seed",
                    )
                    if k in params
                }
                | ({"weights": weights} if weights else {}),
                moran_file,
                (
                    "Moran, P. A. P. (1950). Notes on continuous stochastic phenomena. "
                    "Biometrika 37:17–23.",
                    "Cliff, A. D. & Ord, J. K. (1981). Spatial Processes: Models and "
                    "Applications. Pion.",
                ),
            )
        )
    per_area = _detect_table_of(run, prefix)
    if per_area is not None:
        section.files.add(per_area)
        twin = per_area.rsplit(".", 1)[0] + ".gpkg"
        if run.has(twin):
            section.files.add(twin)
        frame = run.read_table(per_area)
        params = run.parameters(per_area)
        variable = params.get("variable", variable)
        _detect_tables(section, frame, per_area, params, variable)
    if not section.figures and not section.tables:
        return None
    return section


def _detect_tables(
    section: ReportSection,
    frame: pd.DataFrame,
    source: str,
    params: Mapping[str, Any],
    variable: str | None,
) -> None:
    counts = {}
    for key, (en, ko), references in _LOCAL_TESTS:
        column = f"{key}_label"
        if column not in frame:
            continue
        tally = frame[column].replace("", "undefined").value_counts()
        order = [lab for lab in _LABEL_ORDER if lab in tally.index]
        order += sorted(set(tally.index) - set(order))
        counts[en] = tally.reindex(order)
        test = next((t for t in frame.get(f"{key}_test", []) if t), "")
        recorded = {
            k: params[k]
            for k in ("variable", "permutations", "alternative", "correction", "alpha", "seed")
            if k in params
        }
        if variable and "variable" not in recorded:
            recorded["variable"] = variable
        if test:
            recorded["test (as recorded per area)"] = test
        correction = str(params.get("correction", test))
        refs = references + tuple(
            ref for code, ref in _CORRECTION_REFERENCES.items() if code in correction
        )
        section.methods.append(
            Method(
                (en, ko),
                (
                    "Which areas, with their neighbours, form clusters of high or low values "
                    "beyond chance? Conditional permutations give a pseudo p-value per area, "
                    "adjusted for testing every area.",
                    "어떤 지역이 이웃과 함께 우연 이상으로 높은(또는 낮은) 값의 군집을 이루는지 "
                    "봅니다. 조건부 순열로 지역별 p값을 구하고 다중검정을 보정합니다.",
                ),
                recorded,
                source,
                refs,
            )
        )
    if counts:
        table = pd.DataFrame(
            [
                {"test": test, "label": str(label), "areas": str(int(n))}
                for test, tally in counts.items()
                for label, n in tally.items()
            ]
        )
        section.tables.append(
            Table(
                ("Areas per significance class", "유의성 범주별 지역 수"),
                table,
                source,
                (
                    "Labels after the multiple-testing correction recorded in Methods.",
                    "방법 절에 기록된 다중검정 보정을 적용한 뒤의 분류입니다.",
                ),
            )
        )
    id_col = frame.columns[0]
    names = _name_columns(frame.columns)
    if "index_rank" in frame:
        ranked = frame.assign(_rank=_num(frame["index_rank"])).sort_values(
            ["_rank", id_col], kind="stable"
        )
        top_k = next((c for c in frame if c.startswith("index_p_top_")), None)
        cols = [id_col, *names]
        cols += [c for c in (variable, "index", "index_rank", "index_rank_low") if c in frame]
        cols += [c for c in ("index_rank_high", top_k) if c]
        shown = _format(
            ranked.head(10)[cols],
            {variable or "": "f2", "index": "f3", "index_rank": "int", top_k or "": "pct"},
        )
        section.tables.append(
            Table(
                (
                    "Most vulnerable areas (index rank 1 = most vulnerable)",
                    "가장 취약한 지역 (지수 1위 = 가장 취약)",
                ),
                shown,
                source,
                (
                    "index_rank_low–high: central 90% of ranks when weights, normalisation and "
                    "aggregation vary; index_p_top_k: share of draws in the top k.",
                    "index_rank_low–high: 가중치·정규화·결합 방법을 바꿨을 때 순위의 가운데 90% "
                    "구간; index_p_top_k: 상위 k위 안에 든 비율.",
                ),
            )
        )
        section.methods.append(
            Method(
                ("Vulnerability index and rank stability", "취약성 지수와 순위 안정성"),
                (
                    "Indicators are turned into percentiles (higher = more vulnerable) and "
                    "summed; rank stability repeats the ranking over random weights, "
                    "normalisations and aggregations.",
                    "지표를 백분위(높을수록 취약)로 바꾸어 더합니다. 순위 안정성은 가중치·정규화·"
                    "결합 방법을 무작위로 바꿔 순위를 반복 계산합니다.",
                ),
                {k: params[k] for k in ("methods", "seed") if k in params}
                | ({"top k column": top_k} if top_k else {}),
                source,
                (
                    "Flanagan, B. E., Gregory, E. W., Hallisey, E. J., Heitgerd, J. L. & Lewis, "
                    "B. (2011). A social vulnerability index for disaster management. Journal of "
                    "Homeland Security and Emergency Management 8(1).",
                    "Saisana, M., Saltelli, A. & Tarantola, S. (2005). Uncertainty and "
                    "sensitivity analysis techniques as tools for the quality assessment of "
                    "composite indicators. JRSS A 168(2):307–323.",
                ),
            )
        )
    elif variable and variable in frame:
        ranked = frame.assign(_v=_num(frame[variable])).sort_values(
            ["_v", id_col], ascending=[False, True], kind="stable"
        )
        cols = [id_col, *names, variable]
        cols += [f"{k}_label" for k, _, _ in _LOCAL_TESTS if f"{k}_label" in frame]
        section.tables.append(
            Table(
                (f"Highest ten areas by {variable}", f"{variable} 상위 10개 지역"),
                _format(ranked.head(10)[cols], {variable: "f2"}),
                source,
            )
        )


_SCAN_REFERENCES = (
    "Kulldorff, M. & Nagarwalla, N. (1995). Spatial disease clusters: detection and "
    "inference. Statistics in Medicine 14:799–810.",
    "Kulldorff, M. (1997). A spatial scan statistic. Communications in Statistics — Theory "
    "and Methods 26(6):1481–1496.",
)


@register_section("scan", anchors=("scan_clusters.csv",))
def _scan_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    clusters_file = f"{prefix}scan_clusters.csv"
    section = ReportSection(
        title=("Spatial scan for clusters (Kulldorff)", "공간 스캔 통계 (쿨도르프)"),
        files={clusters_file},
    )
    if run.has(f"{prefix}scan_map.png"):
        section.figures.append(
            Figure(
                f"{prefix}scan_map.png",
                ("Most likely and secondary clusters", "가장 유력한 군집과 2차 군집"),
            )
        )
        section.files.add(f"{prefix}scan_map.png")
    per_area = None
    for ext in (".csv", ".gpkg"):
        if run.has(f"{prefix}scan{ext}"):
            section.files.add(f"{prefix}scan{ext}")
            per_area = per_area or f"{prefix}scan{ext}"
    if per_area is None and not prefix:
        per_area = next(
            (f for f in run.ending_with(".csv") if "scan_label" in run.columns(f)), None
        )
    names: dict[str, str] = {}
    if per_area is not None:
        areas = run.read_table(per_area)
        label_cols = _name_columns(areas.columns)
        if label_cols:
            names = dict(
                zip(
                    areas.iloc[:, 0],
                    areas[label_cols].agg(" ".join, axis=1),
                    strict=True,
                )
            )
    clusters = run.read_table(clusters_file)
    if "centre" in clusters and names:
        clusters["centre"] = [f"{names[c]} ({c})" if c in names else c for c in clusters["centre"]]
    cols = [
        c
        for c in (
            "cluster",
            "kind",
            "direction",
            "centre",
            "n_areas",
            "radius",
            "cases",
            "expected",
            "observed_expected",
            "relative_risk",
            "llr",
            "p_value",
            "significant",
        )
        if c in clusters
    ]
    section.tables.append(
        Table(
            ("Scan clusters", "스캔 군집"),
            _format(
                clusters[cols],
                {
                    "n_areas": "int",
                    "radius": "int",
                    "cases": "int",
                    "expected": "f1",
                    "observed_expected": "f2",
                    "relative_risk": "f2",
                    "llr": "f2",
                    "p_value": "p",
                },
            ),
            clusters_file,
            (
                "radius in the unit of the coordinate system (metres for projected data); "
                "members of each cluster are listed in the file.",
                "반경은 좌표계 단위(투영 좌표는 미터)입니다. 군집별 구성 지역은 파일에 있습니다.",
            ),
        )
    )
    params = run.parameters(clusters_file)
    inner = params.get("params", {}) if isinstance(params.get("params"), dict) else {}
    recorded = {**inner, **{k: v for k, v in params.items() if k != "params"}}
    references = _SCAN_REFERENCES
    if inner.get("gumbel"):
        references += (
            "Abrams, A. M., Kleinman, K. & Kulldorff, M. (2010). Gumbel based p-value "
            "approximations for spatial scan statistics. International Journal of Health "
            "Geographics 9:61.",
        )
    section.methods.append(
        Method(
            ("Kulldorff circular spatial scan", "쿨도르프 원형 공간 스캔"),
            (
                "Circles around every area grow through the nearest areas; the window with "
                "the largest likelihood ratio is the most likely cluster, tested against "
                "Monte Carlo replications of the data under no clustering.",
                "각 지역을 중심으로 원을 넓혀 가며 우도비가 가장 큰 창을 가장 유력한 군집으로 "
                "찾고, 군집이 없다는 가정의 몬테카를로 반복과 비교해 검정합니다.",
            ),
            recorded,
            clusters_file,
            references,
        )
    )
    return section


_ALLOCATE_REFERENCES = {
    "MCLP": (
        "Church, R. & ReVelle, C. (1974). The maximal covering location problem. Papers of "
        "the Regional Science Association 32:101–118.",
    ),
    "LSCP": (
        "Toregas, C., Swain, R., ReVelle, C. & Bergman, L. (1971). The location of emergency "
        "service facilities. Operations Research 19(6):1363–1373.",
    ),
    "p-median": (
        "Hakimi, S. L. (1964). Optimum locations of switching centers and the absolute "
        "centers and medians of a graph. Operations Research 12(3):450–459.",
        "ReVelle, C. S. & Swain, R. W. (1970). Central facilities location. Geographical "
        "Analysis 2(1):30–42.",
    ),
    "p-center": (
        "Hakimi, S. L. (1964). Operations Research 12(3):450–459.",
        "Minieka, E. (1970). The m-center problem. SIAM Review 12(1):138–139.",
    ),
}


@register_section("allocate", anchors=("new_sites.csv",))
def _allocate_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    sites_file = f"{prefix}new_sites.csv"
    section = ReportSection(
        title=("Facility allocation", "시설 입지 배치"),
        files={
            f"{prefix}{name}"
            for name in ("new_sites.csv", "new_sites.gpkg", "demand.gpkg", "assignment.csv")
            if run.has(f"{prefix}{name}")
        },
    )
    for name, caption in (
        ("map_before.png", ("Before: existing facilities", "배치 전: 기존 시설")),
        ("map_after.png", ("After: with the new sites", "배치 후: 신규 입지 포함")),
        ("pareto.png", ("Efficiency against equity", "효율성과 형평성")),
    ):
        if run.has(prefix + name):
            section.figures.append(Figure(prefix + name, caption))
            section.files.add(prefix + name)
    params = run.parameters(sites_file)
    groups_file = f"{prefix}groups.csv"
    if run.has(groups_file):
        section.files.add(groups_file)
        section.tables.append(_coverage_table(run.read_table(groups_file), groups_file))
    sites = run.read_table(sites_file)
    cols = [c for c in ("site_id", "demand_units", "demand_served", "lon", "lat") if c in sites]
    section.tables.append(
        Table(
            ("New sites", "신규 입지"),
            _format(sites[cols], {"demand_units": "int", "demand_served": "int"}),
            sites_file,
        )
    )
    pareto_file = f"{prefix}pareto.csv"
    if run.has(pareto_file):
        section.files.add(pareto_file)
        pareto = run.read_table(pareto_file)
        cols = [
            c
            for c in (
                "objective",
                "min_share",
                "coverage",
                "worst_group",
                "worst_group_coverage",
                "gini_access",
                "status",
                "pareto",
            )
            if c in pareto
        ]
        section.tables.append(
            Table(
                ("Efficiency–equity trade-off", "효율성–형평성 상충"),
                _format(
                    pareto[cols],
                    {
                        "min_share": "pct",
                        "coverage": "pct",
                        "worst_group_coverage": "pct",
                        "gini_access": "f3",
                    },
                ),
                pareto_file,
            )
        )
    model = str(params.get("model", ""))
    model_refs = next((refs for key, refs in _ALLOCATE_REFERENCES.items() if key in model), ())
    references = (
        *model_refs,
        "Daskin, M. S. (2013). Network and Discrete Location, 2nd ed. Wiley.",
    )
    section.methods.append(
        Method(
            (model or "Location model", model or "입지 모형"),
            (
                "New sites are chosen among the candidates, keeping existing facilities open, "
                "by an exact integer program (HiGHS) or a heuristic with its gap to a bound.",
                "기존 시설을 유지한 채 후보지 중 신규 입지를 고릅니다. 정수계획(HiGHS)으로 정확히 "
                "풀거나, 하한과의 격차를 보고하는 휴리스틱으로 풉니다.",
            ),
            params,
            sites_file,
            references,
        )
    )
    return section


def _coverage_table(groups: pd.DataFrame, source: str) -> Table:
    g = groups.copy()
    demand = _num(g["demand"])
    total = pd.DataFrame(
        {
            "group": ["All / 전체"],
            "units": [str(int(_num(g["units"]).sum()))] if "units" in g else [""],
            "demand": [str(demand.sum())],
            **{
                share: [str(_num(g[covered]).sum() / demand.sum())]
                for share, covered in (
                    ("coverage_before", "covered_before"),
                    ("coverage", "covered"),
                )
                if covered in g
            },
            **{
                col: [str((_num(g[col]) * demand).sum() / demand.sum())]
                for col in ("mean_access_before", "mean_access")
                if col in g
            },
        }
    )
    g = pd.concat([g, total], ignore_index=True).fillna("")
    if "coverage_before" in g and "coverage" in g:
        g["change_points"] = (100 * (_num(g["coverage"]) - _num(g["coverage_before"]))).map(
            lambda v: "–" if pd.isna(v) else f"{v:+.1f}"
        )
    cols = [
        c
        for c in (
            "group",
            "units",
            "demand",
            "coverage_before",
            "coverage",
            "change_points",
            "mean_access_before",
            "mean_access",
        )
        if c in g
    ]
    return Table(
        ("Coverage before and after, per group", "그룹별 배치 전후 커버율"),
        _format(
            g[cols],
            {
                "units": "int",
                "demand": "int",
                "coverage_before": "pct",
                "coverage": "pct",
                "mean_access_before": "int",
                "mean_access": "int",
            },
        ),
        source,
        (
            "Coverage: share of the weighted demand within the service radius; change in "
            "percentage points; mean access: weighted mean distance to the nearest open site.",
            "커버율: 서비스 반경 안에 있는 가중 수요의 비율; 변화는 %p; 평균 접근거리: 가장 "
            "가까운 시설까지의 가중 평균 거리.",
        ),
    )


# --------------------------------------------------------------------------------------------
# Generic parts: findings, data sources, reproducibility, appendix


def _summary_files(run: AnalysisRun) -> list[str]:
    found = [f for f in run.files if f.endswith("summary.txt")]
    return sorted(found, key=lambda f: (f != "summary.txt", f))


def _findings(run: AnalysisRun, lang: str) -> tuple[str, set[str]]:
    seen: set[str] = set()
    parts: list[str] = []
    used = set(_summary_files(run))
    for name in _summary_files(run):
        blocks = []
        for block_lang, paragraph in split_languages(run.read_text(name)):
            key = paragraph.strip()
            if key in seen or (lang != "both" and block_lang != lang):
                continue
            seen.add(key)
            blocks.append(
                f'<div class="finding" lang="{block_lang}">{_paragraph_html(paragraph)}</div>'
            )
        if blocks:
            parts.append("\n".join(blocks))
            parts.append(
                f'<p class="source">{_t(lang, ("Source", "출처"))}: {html.escape(name)}</p>'
            )
    if not parts:
        parts.append(
            f"<p>{_t(lang, ('This run has no summary file.', '이 실행에는 요약 파일이 없습니다.'))}"
            "</p>"
        )
    return "\n".join(parts), used


def _inputs(run: AnalysisRun) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Distinct input sources and match reports recorded in the provenance files."""
    sources: dict[str, dict[str, Any]] = {}
    reports: dict[tuple[str, str], dict[str, Any]] = {}

    def visit(record: Any) -> None:
        if not isinstance(record, dict):
            return
        if "source" in record and isinstance(record["source"], str):
            entry = sources.setdefault(record["source"], {"file": record["source"]})
            for key in ("format", "layer", "encoding", "rows", "sha256"):
                if record.get(key) is not None:
                    entry.setdefault(key, record[key])
            if record.get("repairs"):
                entry["repairs"] = len(record["repairs"])
        if "areas_source" in record and "table_source" in record:
            reports.setdefault((record["areas_source"], record["table_source"]), record)
            crosswalk = record.get("crosswalk") or {}
            if crosswalk.get("source"):
                sources.setdefault(crosswalk["source"], {"file": crosswalk["source"]})
            sources.setdefault(record["table_source"], {"file": record["table_source"]})
        if "points" in record and isinstance(record["points"], str):
            entry = sources.setdefault(record["points"], {"file": record["points"]})
            entry.setdefault("rows", record.get("counted"))
        for value in record.values():
            if isinstance(value, dict):
                visit(value)
            elif isinstance(value, list):
                for item in value:
                    visit(item)

    for name in sorted(run.provenance):
        visit(run.provenance[name].get("inputs"))
    for name in run.files:
        if name.endswith(("match_report.json", ".match.json")):
            visit(json.loads(run.read_text(name)))
    return [sources[k] for k in sorted(sources)], [reports[k] for k in sorted(reports)]


def _match_summary(report: Mapping[str, Any], lang: str) -> str:
    rows = {
        ("Areas", "지역"): report.get("areas_source"),
        ("Table", "표"): report.get("table_source"),
        ("Key", "키"): f"{report.get('table_key')} → {report.get('areas_key')}",
        (
            "Areas with data",
            "자료가 붙은 지역",
        ): f"{report.get('matched_areas')} / {report.get('n_areas')}",
        (
            "Table rows placed",
            "연결된 표 행",
        ): f"{report.get('matched_rows')} / {report.get('n_table_rows')}",
        ("Unmatched areas", "매칭되지 않은 지역"): len(report.get("unmatched_areas") or []),
        ("Unmatched rows", "매칭되지 않은 행"): len(report.get("unmatched_rows") or []),
        ("Duplicate codes", "중복 코드"): len(report.get("duplicates") or []),
        ("Crosswalk translations", "코드 변환"): (report.get("crosswalk") or {}).get(
            "translated", 0
        ),
    }
    body = "".join(
        f"<tr><td>{_t(lang, label)}</td><td>{html.escape(str(value))}</td></tr>"
        for label, value in rows.items()
    )
    return f'<table class="params"><tbody>{body}</tbody></table>'


def _filtered_text(text: str, lang: str) -> str:
    if lang == "both":
        return text
    pieces = split_languages(text)
    return "\n\n".join(p for block_lang, p in pieces if block_lang == lang)


def _data_sources(run: AnalysisRun, lang: str) -> tuple[str, set[str]]:
    sources, reports = _inputs(run)
    parts: list[str] = []
    used: set[str] = set()
    if sources:
        columns = list(dict.fromkeys(k for entry in sources for k in entry))
        frame = pd.DataFrame(
            [[str(entry.get(c, "")) for c in columns] for entry in sources], columns=columns
        )
        parts.append(f"<h3>{_t(lang, ('Input files', '입력 파일'))}</h3>")
        parts.append(_table_html(frame, "files"))
        parts.append(
            '<p class="note">'
            + _t(lang, ("Paths as recorded when the run was made.", "실행 당시 기록된 경로입니다."))
            + "</p>"
        )
    texts = [f for f in run.files if f.endswith(("match_report.txt", ".match.txt", "overlay.txt"))]
    used |= set(texts) | {f for f in run.files if f.endswith(("match_report.json", ".match.json"))}
    if reports:
        parts.append(f"<h3>{_t(lang, ('Match reports', '매칭 보고서'))}</h3>")
        parts.extend(_match_summary(r, lang) for r in reports)
    for name in texts:
        title = (
            ("Overlay report", "점 집계 보고서")
            if name.endswith("overlay.txt")
            else ("Match report", "매칭 보고서")
        )
        parts.append(f"<h4>{_t(lang, title)}: {html.escape(name)}</h4>")
        parts.append(f"<pre>{html.escape(_filtered_text(run.read_text(name), lang))}</pre>")
    if not parts:
        parts.append(f"<p>{_t(lang, ('No input was recorded.', '기록된 입력이 없습니다.'))}</p>")
    return "\n".join(parts), used


def _period(first: str, last: str) -> str:
    """``2026-11-25 14:41:25 – 14:42:19 UTC`` from two ISO 8601 UTC time stamps."""
    if not first:
        return "not recorded"
    a, b = (t.replace("+00:00", "").replace("T", " ") for t in (first, last))
    return f"{a} – {b[11:] if a[:10] == b[:10] else b} UTC"


def _find_hashes(record: Any, path: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(record, dict):
        for key, value in record.items():
            if key == "sha256" and isinstance(value, str):
                found.append((str(record.get("source", path)), value))
            else:
                found += _find_hashes(value, path)
    elif isinstance(record, list):
        for item in record:
            found += _find_hashes(item, path)
    return found


def _reproducibility(run: AnalysisRun, lang: str) -> str:
    parts: list[str] = []
    first, last = run.recorded()
    facts = {
        ("dongne version of the run", "실행한 dongne 버전"): ", ".join(
            run.recorded_versions("dongne_version")
        ),
        ("Python version of the run", "실행한 Python 버전"): ", ".join(
            run.recorded_versions("python")
        ),
        ("Recorded", "기록 시각"): _period(first, last),
        ("Report rendered by", "보고서 생성"): f"dongne {__version__}",
    }
    body = "".join(
        f"<tr><td>{_t(lang, k)}</td><td>{html.escape(v)}</td></tr>" for k, v in facts.items()
    )
    parts.append(f'<table class="params"><tbody>{body}</tbody></table>')
    commands = sorted(
        {
            str(p.get("parameters", {}).get(key))
            for p in run.provenance.values()
            for key in ("command", "job")
            if isinstance(p.get("parameters"), dict) and p["parameters"].get(key)
        }
    )
    parts.append(f"<h3>{_t(lang, ('Recorded commands', '기록된 명령'))}</h3>")
    if commands:
        parts.append("<pre>" + html.escape("\n".join(commands)) + "</pre>")
    else:
        parts.append(
            "<p>"
            + _t(
                lang,
                (
                    "The run records its parameters (below), not the command line.",
                    "이 실행은 명령줄이 아니라 매개변수(아래)를 기록했습니다.",
                ),
            )
            + "</p>"
        )
    parts.append(
        "<p>"
        + _t(
            lang,
            (
                f"Rebuild this report: dongne report {run.root.name} --format html|pdf",
                f"이 보고서 다시 만들기: dongne report {run.root.name} --format html|pdf",
            ),
        )
        + "</p>"
    )
    parts.append(f"<h3>{_t(lang, ('Recorded parameters', '기록된 매개변수'))}</h3>")
    groups: dict[str, list[str]] = {}
    for name in sorted(run.provenance):
        params = run.provenance[name].get("parameters", {})
        groups.setdefault(json.dumps(params, ensure_ascii=False, indent=1), []).append(name)
    for text, names in sorted(groups.items(), key=lambda kv: kv[1][0]):
        parts.append(f"<h4>{html.escape(', '.join(names))}</h4><pre>{html.escape(text)}</pre>")
    hashes = sorted({h for p in run.provenance.values() for h in _find_hashes(p.get("inputs"))})
    parts.append(f"<h3>{_t(lang, ('Input file hashes', '입력 파일 해시'))}</h3>")
    if hashes:
        frame = pd.DataFrame(hashes, columns=["file", "sha256"])
        parts.append(_table_html(frame, "files"))
    else:
        parts.append(
            "<p>"
            + _t(
                lang,
                (
                    "Input hashes were not recorded by this run; the SHA-256 of the run's own "
                    "files below identify exactly what this report was built from.",
                    "이 실행은 입력 파일 해시를 기록하지 않았습니다. 아래 실행 파일의 SHA-256이 "
                    "이 보고서가 만들어진 자료를 정확히 식별합니다.",
                ),
            )
            + "</p>"
        )
    parts.append(f"<h3>{_t(lang, ('Files of the run', '실행 파일 목록'))}</h3>")
    rows = []
    for name in sorted(run.files + run.sidecars):
        path = run.root / name
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td class=num>{path.stat().st_size:,}</td>"
            f'<td class="hash">{_sha256(path)}</td></tr>'
        )
    head = "".join(
        f"<th>{_t(lang, label)}</th>"
        for label in (("File", "파일"), ("Bytes", "바이트"), ("SHA-256", "SHA-256"))
    )
    parts.append(
        f'<table class="files"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )
    return "\n".join(parts)


# --------------------------------------------------------------------------------------------
# Document


def _section_title(section: ReportSection, prefix: str) -> Text:
    suffix = f" — {prefix}*" if prefix else ""
    return (section.title[0] + suffix, section.title[1] + suffix)


def _figure_html(run: AnalysisRun, figure: Figure, lang: str) -> str:
    uri = _data_uri(run.root / figure.file, "image/png")
    alt = html.escape(figure.caption[0])
    return (
        f'<figure><img src="{uri}" alt="{alt}"><figcaption>{_t(lang, figure.caption)} '
        f"({html.escape(figure.file)})</figcaption></figure>"
    )


def _table_block(table: Table, lang: str) -> str:
    out = [f"<h4>{_t(lang, table.title)}</h4>", _table_html(table.frame)]
    note = f"{_t(lang, table.note)} " if table.note else ""
    out.append(
        f'<p class="note">{note}{_t(lang, ("Source", "출처"))}: {html.escape(table.source)}</p>'
    )
    return "\n".join(out)


def _method_block(method: Method, lang: str) -> str:
    out = [f"<h4>{_t(lang, method.title)}</h4>"]
    for code in ("en", "ko"):
        if lang in (code, "both"):
            text = method.description[0 if code == "en" else 1]
            out.append(f'<p lang="{code}">{html.escape(text)}</p>')
    out.append(_params_html(method.parameters))
    out.append(
        f'<p class="note">{_t(lang, ("Recorded in", "기록 파일"))}: '
        f"{html.escape(method.source)}{_SIDECAR}</p>"
    )
    if method.references:
        refs = "".join(f"<li>{html.escape(r)}</li>" for r in method.references)
        out.append(f'<ol class="references">{refs}</ol>')
    return "\n".join(out)


def _font_face(text: str) -> str:
    """``@font-face`` rule with NanumGothic subset to the characters of ``text`` (data URI)."""
    chars = "".join(sorted(set(text) | {chr(c) for c in range(32, 127)}))
    data = base64.b64encode(_font_subset(chars)).decode("ascii")
    return (
        '@font-face { font-family: "NanumGothic"; font-style: normal; font-weight: 400 700; '
        f'src: url("data:font/ttf;base64,{data}") format("truetype"); }}'
    )


@functools.lru_cache(maxsize=8)
def _font_subset(chars: str) -> bytes:
    """NanumGothic reduced to ``chars`` (TrueType bytes, no time stamp: deterministic)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(_FONT_FILE, recalcTimestamp=False)
    options = subset.Options()
    options.layout_features = ["*"]
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.hinting = False
    options.drop_tables += ["TSI0", "TSI1", "TSI2", "TSI3", "TSI5"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    logger = logging.getLogger("fontTools")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        subsetter.subset(font)
    finally:
        logger.setLevel(level)
    buffer = io.BytesIO()
    font.save(buffer)
    return buffer.getvalue()


def render_html(run_dir: str | os.PathLike[str], *, lang: str = "both") -> str:
    """The report of a saved run as one self-contained HTML string.

    Parameters
    ----------
    run_dir : path-like
        Output folder of a dongne command or workflow.
    lang : {"en", "ko", "both"}
        Language of headings, findings and notes.

    Returns
    -------
    str
        HTML5 with inline CSS, images and font; identical for identical run folders.

    Raises
    ------
    DataError
        When ``run_dir`` is missing or is not a dongne run (see :func:`read_run`).
    SpecificationError
        When ``lang`` is not one of :data:`LANGUAGES`.
    """
    if lang not in LANGUAGES:
        raise SpecificationError(
            f"The 'lang' parameter must be one of {', '.join(map(repr, LANGUAGES))}. "
            f"Got {lang!r} instead."
        )
    return _render(read_run(run_dir), lang)


def _render(run: AnalysisRun, lang: str) -> str:
    sections: list[tuple[str, ReportSection]] = []
    for _name, anchors, builder in _REGISTRY:
        for prefix in _prefixes(run, anchors):
            built = builder(run, prefix)
            if built is not None:
                sections.append((prefix, built))
    claimed = {f for _, s in sections for f in s.files}
    findings, used_summaries = _findings(run, lang)
    sources, used_sources = _data_sources(run, lang)
    claimed |= used_summaries | used_sources
    unknown = [f for f in run.files if f not in claimed]
    extra_figures = [f for f in unknown if f.lower().endswith(".png")]

    first, last = run.recorded()
    date = last[:10] if last else ""
    title_text = ("Analysis report", "분석 보고서")
    headings = {
        "findings": ("Findings", "주요 결과"),
        "maps": ("Maps", "지도"),
        "tables": ("Key tables", "주요 표"),
        "methods": ("Methods and parameters", "분석 방법과 매개변수"),
        "sources": ("Data sources and match reports", "자료 출처와 매칭 보고서"),
        "reproducibility": ("Reproducibility", "재현 정보"),
        "appendix": ("Appendix: other files of the run", "부록: 그 밖의 실행 파일"),
    }
    body: list[str] = []
    version = ", ".join(run.recorded_versions("dongne_version"))
    header_rows = {
        ("Run", "실행"): run.root.name,
        ("Run recorded", "실행 일시"): _period(first, last),
        ("dongne version", "dongne 버전"): version,
        ("Analyses", "분석"): ", ".join(_plain(lang, _section_title(s, p)) for p, s in sections)
        or "–",
    }
    dl = "".join(f"<dt>{_t(lang, k)}</dt><dd>{html.escape(v)}</dd>" for k, v in header_rows.items())
    body.append(
        f'<header class="title"><h1>{_t(lang, title_text)}: {html.escape(run.root.name)}</h1>'
        f'<p class="subtitle">{html.escape(date)} · dongne {html.escape(version)}</p>'
        f"<dl>{dl}</dl></header>"
    )
    toc = "".join(
        f'<li><a href="#{key}">{_t(lang, label)}</a></li>'
        for key, label in headings.items()
        if key != "appendix" or unknown
    )
    body.append(
        f'<nav class="contents"><h3>{_t(lang, ("Contents", "목차"))}</h3><ol>{toc}</ol></nav>'
    )

    def h2(key: str) -> str:
        return f'<h2 id="{key}">{_t(lang, headings[key])}</h2>'

    body += [h2("findings"), findings]
    body.append(h2("maps"))
    for prefix, section in sections:
        if section.figures:
            body.append(f"<h3>{_t(lang, _section_title(section, prefix))}</h3>")
            body += [_figure_html(run, fig, lang) for fig in section.figures]
    if extra_figures:
        body.append(f"<h3>{_t(lang, ('Other figures', '그 밖의 그림'))}</h3>")
        body += [
            _figure_html(run, Figure(f, (Path(f).stem, Path(f).stem)), lang) for f in extra_figures
        ]
    body.append(h2("tables"))
    for prefix, section in sections:
        if section.tables:
            body.append(f"<h3>{_t(lang, _section_title(section, prefix))}</h3>")
            body += [_table_block(t, lang) for t in section.tables]
    body.append(h2("methods"))
    for prefix, section in sections:
        if section.methods:
            body.append(f"<h3>{_t(lang, _section_title(section, prefix))}</h3>")
            body += [_method_block(m, lang) for m in section.methods]
    body += [h2("sources"), sources]
    body += [h2("reproducibility"), _reproducibility(run, lang)]
    if unknown:
        body.append(h2("appendix"))
        body.append(
            "<p>"
            + _t(
                lang,
                (
                    "No report section knows these files; they are part of the run and listed "
                    "here (images are shown under Maps, Other figures).",
                    "보고서의 어느 절에도 속하지 않는 파일입니다. 실행 결과의 일부이므로 여기에 "
                    "나열합니다 (그림은 지도 절의 '그 밖의 그림'에 있습니다).",
                ),
            )
            + "</p>"
        )
        rows = []
        for name in unknown:
            record = run.provenance.get(name, {})
            described = (
                f"{record.get('rows')} rows; columns: {', '.join(record.get('columns', []))}"
                if record
                else ""
            )
            rows.append(
                {
                    "file": name,
                    "bytes": f"{(run.root / name).stat().st_size:,}",
                    "provenance": described,
                }
            )
        body.append(_table_html(pd.DataFrame(rows), "files"))

    content = "\n".join(body)
    css = _CSS_FILE.read_text(encoding="utf-8")
    html_lang = "ko" if lang == "ko" else "en"
    title = f"{_plain(lang, title_text)}: {run.root.name}"
    head = (
        "<!DOCTYPE html>\n"
        f'<html lang="{html_lang}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="generator" content="dongne {html.escape(__version__)}">\n'
        f'<meta name="dcterms.created" content="{html.escape(last)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n"
        f"<style>\n{_font_face(title + content)}\n{css}</style>\n</head>\n"
    )
    return f"{head}<body>\n{content}\n</body>\n</html>\n"


def build_report(
    run_dir: str | os.PathLike[str],
    *,
    format: str = "html",
    lang: str = "both",
    out: str | os.PathLike[str] | None = None,
) -> Path:
    """Render a saved run as one self-contained HTML file or a PDF, written atomically.

    Parameters
    ----------
    run_dir : path-like
        Output folder of ``dongne demo``/``detect``/``scan``/``allocate`` (or of the
        workflow functions), with its ``*.provenance.json`` files.
    format : {"html", "pdf"}
        HTML: one file, everything inline (CSS, images, subset font), no external request.
        PDF: the same HTML rendered by WeasyPrint (A4, page numbers); needs ``weasyprint``.
    lang : {"en", "ko", "both"}
        Language of headings, findings and notes (tables keep their column names).
    out : path-like, optional
        Output file (default: ``run_dir/report.<format>`` for ``both``, else
        ``run_dir/report_<lang>.<format>``). Files named ``report*.html``/``.pdf`` at the top
        of the run folder are never read as part of the run, so rebuilding gives the same
        document.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    DataError
        The run folder is missing or not a dongne run (no provenance files).
    SpecificationError
        ``format`` or ``lang`` is not one of the accepted values.
    MissingDependencyError
        ``format="pdf"`` without WeasyPrint installed.

    Notes
    -----
    The same run folder gives byte-identical HTML: the dates shown are those the run recorded
    (``created_utc`` of its provenance files), files are visited in sorted order and the font
    subset is saved without a timestamp. Rebuilding after copying the folder elsewhere gives
    the same document too (only the folder's name is shown, not its path).

    Examples
    --------
    >>> build_report("no/such/run")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dongne.errors.DataError: Run folder no/such/run does not exist. Fix: give the --out ...
    """
    if format not in FORMATS:
        raise SpecificationError(
            f"The 'format' parameter must be one of {', '.join(map(repr, FORMATS))}. "
            f"Got {format!r} instead."
        )
    if lang not in LANGUAGES:
        raise SpecificationError(
            f"The 'lang' parameter must be one of {', '.join(map(repr, LANGUAGES))}. "
            f"Got {lang!r} instead."
        )
    root = Path(run_dir)
    default = f"report.{format}" if lang == "both" else f"report_{lang}.{format}"
    target = Path(out) if out is not None else root / default
    run = read_run(root, exclude=[target])
    document = _render(run, lang)
    if format == "html":
        return atomic_write_text(target, document)
    _write_pdf(document, target, run.recorded()[1])
    return target


def _write_pdf(document: str, target: Path, recorded: str) -> None:
    weasyprint = import_optional(
        "weasyprint",
        "pdf",
        "A PDF report (format='pdf')",
        alternative="or write HTML (format='html') and print it to PDF from a browser",
    )

    refused: list[str] = []

    class _DataOnly(weasyprint.URLFetcher):
        """Serve ``data:`` URIs only: a report never loads anything from disk or network."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.startswith("data:"):
                refused.append(url)
                raise ValueError(f"dongne reports load no external resource: {url}")
            return super().fetch(url, headers)

    logger = logging.getLogger("weasyprint")
    level = logger.level
    logger.setLevel(logging.ERROR)
    # fontTools stamps the font subsets WeasyPrint embeds with SOURCE_DATE_EPOCH when set:
    # use the run's own date so that the PDF, too, is the same for the same run.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if recorded:
        stamp = pd.Timestamp(recorded)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
        os.environ["SOURCE_DATE_EPOCH"] = str(int(stamp.timestamp()))
    try:
        rendered = weasyprint.HTML(string=document, url_fetcher=_DataOnly()).render()
        if refused:
            raise DataError(
                f"The report referred to external resources {sorted(refused)}; none were "
                "loaded and nothing was written. Report this as a dongne bug."
            )
        with atomic_path(target) as tmp:
            rendered.write_pdf(tmp)
    finally:
        logger.setLevel(level)
        if epoch is None:
            os.environ.pop("SOURCE_DATE_EPOCH", None)
        else:
            os.environ["SOURCE_DATE_EPOCH"] = epoch


# Sections of the evaluate and learn outputs register themselves on import.
from dongne.report import sections_evaluate, sections_learn  # noqa: E402, F401
