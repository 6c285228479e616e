"""Model cards (Mitchell et al. 2019) for shared models, with small cells suppressed.

A card says what a model is for, what it was trained on (sources, regions, period), how well
it does *overall and in every district or group* (the worst group included, so that an
average never hides a place where the model fails), its privacy guarantee and its caveats.
Every per-group figure computed from fewer than ``k`` rows (default 5) is hidden in
everything the card publishes (text, HTML, JSON), the worst group included —
statistical-disclosure control as agencies apply it. Privacy bounds (ε, δ) are printed
rounded up, and a DP card lists what left the institutions outside ε.

References
----------
Mitchell, M., Wu, S., Zaldivar, A., et al. (2019). Model cards for model reporting.
*FAT\\* 2019*, 220–229.
Gebru, T., et al. (2021). Datasheets for datasets. *Communications of the ACM* 64(12):86–92.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from string import Template
from typing import Any

import pandas as pd

from dongne import __version__
from dongne._vocab import Lang, bilingual
from dongne.errors import SpecificationError
from dongne.share.privacy import (
    OUTSIDE_EPSILON_LABELS,
    format_upper_bound,
    suppress_small_cells,
)

__all__ = ["ModelCard"]

_LABELS = {
    "en": {
        "title": "Model card",
        "intended_use": "Intended use",
        "data_sources": "Data sources",
        "regions": "Training regions",
        "period": "Training period",
        "metrics": "Overall metrics",
        "groups": "Metrics by district / group",
        "worst": "Worst group",
        "privacy": "Privacy",
        "caveats": "Caveats",
        "licence": "Licence",
        "schema": "Inputs",
        "suppressed": "Cells with fewer than {k} rows are suppressed.",
        "none": "none",
        "no_dp": "Trained without differential privacy.",
        "dp": "Differential privacy per institution: ε ≤ {eps} at δ = {delta} ({acc} "
        "accountant; bounds rounded up).",
        "outside": " Left the institutions outside ε: {items}.",
        "outside_unknown": " What left the institutions outside ε was not recorded.",
        "worst_hidden": "hidden (fewer than {k} rows)",
        "secagg": " Updates were combined by secure aggregation (SecAgg+): the coordinator saw "
        "only their sum.",
        "distributed": " The noise was split among the institutions (distributed DP); the "
        "guarantee holds while the coordinator sees only the sum.",
    },
    "ko": {
        "title": "모형 카드",
        "intended_use": "용도",
        "data_sources": "자료 출처",
        "regions": "학습 지역",
        "period": "학습 기간",
        "metrics": "전체 성능",
        "groups": "자치구·집단별 성능",
        "worst": "최악 집단",
        "privacy": "정보보호",
        "caveats": "유의사항",
        "licence": "이용 허락",
        "schema": "입력 변수",
        "suppressed": "{k}행 미만 칸은 공개하지 않습니다.",
        "none": "없음",
        "no_dp": "차등정보보호 없이 학습했습니다.",
        "dp": "기관별 차등정보보호: ε ≤ {eps}, δ = {delta} ({acc} 회계, 올림).",
        "outside": " ε 밖으로 나간 것: {items}.",
        "outside_unknown": " ε 밖으로 나간 것은 기록되지 않았습니다.",
        "worst_hidden": "비공개 ({k}행 미만)",
        "secagg": " 보안 집계(SecAgg+)로 합산했습니다: 조정 서버는 합계만 보았습니다.",
        "distributed": " 잡음을 기관들이 나누어 더했습니다(분산형 차등정보보호); 조정 서버가 "
        "합계만 볼 때 보장이 성립합니다.",
    },
}


def _lang(lang: str) -> dict[str, str]:
    if lang not in _LABELS:
        raise SpecificationError(f'lang must be "en" or "ko"; got {lang!r}.')
    return _LABELS[lang]


@dataclass
class ModelCard:
    """What a shared model is for and how well it works, by group.

    Parameters
    ----------
    intended_use : str
    data_sources : list of str
    training_regions : list of str
        Districts/areas whose data trained the model.
    training_period : str
        E.g. ``"2010-11 (census)"``.
    metrics : dict
        Overall metrics, e.g. ``{"rmse": 2.1, "r2": 0.54}``.
    group_metrics : DataFrame, optional
        One row per district or group with a label column, an ``n`` column (rows behind the
        figures) and metric columns — e.g. ``FederatedResult.institutions`` or
        :func:`dongne.learn.robust.group_report`'s table.
    worst_group : dict, optional
        The spatial-fairness / worst-group figures, e.g.
        ``{"gu": "Jung-gu", "n": 12, "rmse": 4.2}``. Its row count ``n`` is given, or found
        by its label in ``group_metrics``; with fewer than ``k`` rows every field is hidden
        (the label too: naming the worst group ranks a small cell).
    privacy : dict, optional
        ``FederatedResult.privacy`` (ε per institution, δ, accountant).
    caveats : list of str
    licence : str
    k : int
        Small-cell threshold for everything the card publishes.

    Examples
    --------
    >>> card = ModelCard("Screening dongs for semi-basement housing", ["2010 census"],
    ...                  ["Jongno-gu"], "2010", {"rmse": 2.0},
    ...                  group_metrics=pd.DataFrame({"gu": ["A", "B"], "n": [3, 12],
    ...                                              "rmse": [9.9, 1.5]}))
    >>> card.published_groups()["rmse"].tolist()
    [nan, 1.5]
    """

    intended_use: str
    data_sources: list[str]
    training_regions: list[str]
    training_period: str
    metrics: dict[str, float]
    group_metrics: pd.DataFrame | None = None
    worst_group: dict[str, Any] | None = None
    privacy: dict[str, Any] | None = None
    caveats: list[str] = field(default_factory=list)
    licence: str = "CC-BY-4.0"
    k: int = 5
    # group table as read back from a published card (already suppressed)
    _published: pd.DataFrame | None = field(default=None, init=False, repr=False)

    def published_groups(self) -> pd.DataFrame | None:
        """Group metrics with cells of fewer than ``k`` rows suppressed."""
        if self.group_metrics is None:
            return None
        if "n" not in self.group_metrics.columns:
            raise SpecificationError(
                "group_metrics needs a column 'n' with the rows behind each group, so that "
                "small cells can be suppressed. Fix: add the counts."
            )
        skip = {"n", "rounds", "epsilon"}
        metrics = [
            c
            for c in self.group_metrics.columns
            if c not in skip and pd.api.types.is_numeric_dtype(self.group_metrics[c].dtype)
        ]
        return suppress_small_cells(self.group_metrics, "n", k=self.k, columns=metrics)

    def published_worst_group(self) -> dict[str, Any] | None:
        """The worst group as published: every field hidden if it has fewer than ``k`` rows.

        Raises
        ------
        SpecificationError
            If the worst group's row count is neither given (``n``) nor found by its label
            in ``group_metrics``: a figure whose count is unknown cannot be checked against
            the small-cell rule.
        """
        if not self.worst_group:
            return self.worst_group
        worst = dict(self.worst_group)
        n = worst.get("n")
        if n is None:
            n = self._count_of(worst)
        if n is None:
            raise SpecificationError(
                f"worst_group {worst} has no row count 'n' and matches no single row of "
                "group_metrics by its label, so the small-cell rule cannot be checked. "
                'Fix: add "n" (rows behind the figure) to worst_group (in ModelCard(...) or '
                "in the card JSON given to --card)."
            )
        if isinstance(n, str):  # read back from a published card: "<k" or digits
            small = n.startswith("<")
        else:
            small = int(n) < self.k
        if small:
            return {key: None for key in worst if key != "n"} | {"n": f"<{self.k}"}
        return worst | {"n": int(n)}

    def _count_of(self, worst: Mapping[str, Any]) -> int | str | None:
        """``n`` of the one row of the group table whose label columns equal ``worst``'s."""
        groups = self._groups_for_display()
        if groups is None or "n" not in groups.columns:
            return None
        labels = [
            c
            for c in groups.columns
            if c in worst and c != "n" and not pd.api.types.is_numeric_dtype(groups[c].dtype)
        ]
        if not labels:
            return None
        match = groups
        for c in labels:
            match = match[match[c].astype(str) == str(worst[c])]
        return match["n"].iloc[0] if len(match) == 1 else None

    def _worst_text(self, t: Mapping[str, str]) -> str:
        worst = self.published_worst_group()
        if not worst:
            return t["none"]
        if worst["n"] == f"<{self.k}":
            return t["worst_hidden"].format(k=self.k)
        return ", ".join(f"{k} = {v}" for k, v in worst.items())

    def to_dict(self) -> dict[str, Any]:
        """Publishable JSON-ready card (small cells already suppressed)."""
        from dongne.io.write import jsonable

        groups = self._groups_for_display()
        return jsonable(
            {
                "intended_use": self.intended_use,
                "data_sources": list(self.data_sources),
                "training_regions": list(self.training_regions),
                "training_period": self.training_period,
                "metrics": dict(self.metrics),
                "group_metrics": None
                if groups is None
                else groups.astype(object).where(groups.notna(), None).to_dict("records"),
                "worst_group": self.published_worst_group(),
                "privacy": self.privacy,
                "caveats": list(self.caveats),
                "licence": self.licence,
                "small_cell_k": self.k,
                "dongne_version": __version__,
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelCard:
        """Card from :meth:`to_dict` output (group metrics as published, i.e. suppressed)."""
        groups = data.get("group_metrics")
        frame = None
        if groups is not None:
            frame = pd.DataFrame(groups)
        card = cls(
            intended_use=data["intended_use"],
            data_sources=list(data["data_sources"]),
            training_regions=list(data["training_regions"]),
            training_period=data["training_period"],
            metrics=dict(data["metrics"]),
            group_metrics=None,
            worst_group=data.get("worst_group"),
            privacy=data.get("privacy"),
            caveats=list(data.get("caveats", [])),
            licence=data.get("licence", ""),
            k=int(data.get("small_cell_k", 5)),
        )
        card._published = frame
        return card

    def _groups_for_display(self) -> pd.DataFrame | None:
        return self._published if self._published is not None else self.published_groups()

    @bilingual
    def summary(self, lang: Lang = "en") -> str:
        """Plain-language card in English or Korean."""
        t = _lang(lang)
        lines = [
            f"{t['intended_use']}: {self.intended_use}",
            f"{t['data_sources']}: {', '.join(self.data_sources) or t['none']}",
            f"{t['regions']}: {', '.join(self.training_regions) or t['none']}",
            f"{t['period']}: {self.training_period}",
            f"{t['metrics']}: " + ", ".join(f"{k} = {v:.4g}" for k, v in self.metrics.items()),
        ]
        if self.worst_group:
            lines.append(f"{t['worst']}: {self._worst_text(t)}")
        lines.append(f"{t['privacy']}: {self._privacy_text(lang)}")
        groups = self._groups_for_display()
        if groups is not None:
            lines.append(f"{t['groups']} ({t['suppressed'].format(k=self.k)}):")
            lines.append(groups.to_string(index=False))
        lines.append(f"{t['caveats']}: {'; '.join(self.caveats) or t['none']}")
        lines.append(f"{t['licence']}: {self.licence}")
        return "\n".join(lines)

    def _privacy_text(self, lang: str) -> str:
        t = _lang(lang)
        if not self.privacy:
            return t["no_dp"]
        spent = self.privacy.get("epsilon_spent") or {}
        eps = max(spent.values()) if spent else self.privacy.get("epsilon")
        text = t["dp"].format(
            eps=format_upper_bound(eps),
            delta=format_upper_bound(self.privacy["delta"]),
            acc=self.privacy["accountant"],
        )
        if self.privacy.get("secure_aggregation"):
            text += t["secagg"]
        if "distributed" in self.privacy.get("level", ""):
            text += t["distributed"]
        outside = self.privacy.get("outside_epsilon")
        if outside is None:
            return text + t["outside_unknown"]
        labels = OUTSIDE_EPSILON_LABELS[lang]
        items = "; ".join(labels[item] for item in outside) or t["none"]
        return text + t["outside"].format(items=items)

    def to_html(
        self,
        name: str,
        version: int | str,
        schema: list[dict[str, str]] | None = None,
        lang: str = "en",
    ) -> str:
        """Standalone HTML page of the card (the dashboard links to it)."""
        t = _lang(lang)
        esc = html.escape
        groups = self._groups_for_display()
        group_html = (
            groups.to_html(index=False, na_rep="—", float_format=lambda v: f"{v:.4g}")
            if groups is not None
            else f"<p>{esc(t['none'])}</p>"
        )
        schema_rows = "".join(
            f"<tr><td>{esc(c['name'])}</td><td>{esc(c['type'])}</td><td>{esc(c['unit'])}</td></tr>"
            for c in schema or []
        )
        template = Template(
            files("dongne.share").joinpath("templates/model_card.html").read_text("utf-8")
        )
        return template.substitute(
            lang=lang,
            title=esc(f"{t['title']}: {name} v{version}"),
            h_intended_use=esc(t["intended_use"]),
            intended_use=esc(self.intended_use),
            h_data_sources=esc(t["data_sources"]),
            data_sources=esc(", ".join(self.data_sources) or t["none"]),
            h_regions=esc(t["regions"]),
            regions=esc(", ".join(self.training_regions) or t["none"]),
            h_period=esc(t["period"]),
            period=esc(self.training_period),
            h_metrics=esc(t["metrics"]),
            metrics=esc(", ".join(f"{k} = {v:.4g}" for k, v in self.metrics.items())),
            h_worst=esc(t["worst"]),
            worst=esc(self._worst_text(t)),
            h_groups=esc(t["groups"]),
            suppressed=esc(t["suppressed"].format(k=self.k)),
            groups=group_html,
            h_privacy=esc(t["privacy"]),
            privacy=esc(self._privacy_text(lang)),
            h_schema=esc(t["schema"]),
            schema=schema_rows,
            h_caveats=esc(t["caveats"]),
            caveats="".join(f"<li>{esc(c)}</li>" for c in self.caveats)
            or f"<li>{esc(t['none'])}</li>",
            h_licence=esc(t["licence"]),
            licence=esc(self.licence),
            version=esc(__version__),
        )
