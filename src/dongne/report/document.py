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

Sections for an analysis are small functions in that analysis's module
(``sections_detect``, ``sections_scan``, ``sections_allocate``, ``sections_evaluate``,
``sections_learn``), registered with :func:`~dongne.report.sections.register_section` under
the file names that identify the analysis; this module imports them in the report's order and
looks them up with :func:`~dongne.report.sections.registered_sections`. Files that no section
claims are listed (and images shown) in the appendix, never dropped.
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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from dongne import __version__
from dongne._optional import import_optional
from dongne.errors import DataError, SpecificationError
from dongne.io.atomic import atomic_path, atomic_write_text

# Importing the section modules registers their sections; this order is the report's order.
# isort: off
from dongne.report import sections_detect, sections_scan, sections_allocate  # noqa: F401
from dongne.report import sections_evaluate, sections_learn  # noqa: F401
from dongne.report import sections_spacetime  # noqa: F401
from dongne.report import sections_points, sections_explain, sections_regions  # noqa: F401

# isort: on
from dongne.report.run import _SIDECAR, AnalysisRun, read_run
from dongne.report.sections import (
    Figure,
    Method,
    ReportSection,
    Table,
    Text,
    _prefixes,
    register_section,
    registered_sections,
)

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
_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_LATIN = re.compile(r"[A-Za-z]")
_NUMBER = re.compile(r"^[<>]?[−+-]?[\d,]*\.?\d+( ?%| m| km)?$|^–$")



# --------------------------------------------------------------------------------------------
# The run folder






# --------------------------------------------------------------------------------------------
# Section registry
















# --------------------------------------------------------------------------------------------
# Formatting








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




# --------------------------------------------------------------------------------------------
# Built-in sections: detect, scan, allocate



















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
    for _name, anchors, builder in registered_sections():
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
