"""A self-contained HTML page of one monitoring run, with its charts embedded.

Built from the figures the monitor step writes to the metrics table (dicts with
source, model_version, column, metric, value, threshold, kind, violation, day)
and the per-column comparisons (shares of baseline and window on shared bins).
Charts are SVG images drawn with matplotlib and embedded as base64 data URIs:
no JavaScript, no external file, so the page opens from a file or from the
MLflow artifact view.
"""

from __future__ import annotations

import base64
import io
from html import escape

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from .drift import Comparison
from .figures import ALL_VERSIONS, group_name, version_order

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1100px; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.bad td { background: #fde2e1; }
tr.unknown td { background: #fff4d6; }
.bar { display: inline-block; height: 0.8em; background: #4a78b5; vertical-align: middle; }
.bar.bad { background: #c0392b; }
img { max-width: 100%; }
"""
MAX_CATEGORIES_SHOWN = 20


def _number(value, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}g}"


def _svg(figure: Figure, alt: str) -> str:
    """An <img> tag holding ``figure`` as an SVG data URI (base64).

    SVG, not PNG: less time per chart (no rasterising; measured in the CHANGELOG), and
    the chart scales. Text stays text (``svg.fonttype: none``). The same figure gives the
    same bytes (a fixed ``svg.hashsalt`` for matplotlib's element ids, no date): as an
    image, each chart is its own document, so equal ids in two charts cannot clash.
    """
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "drift-report"}):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"<img alt='{escape(alt)}' src='data:image/svg+xml;base64,{data}'>"


def distribution_chart(column: str, comparison: Comparison, group: str) -> str:
    """An <img> tag (SVG): baseline and window shares of ``column`` side by side on the
    shared bins. ``group`` names the source and model version (``batch/v1``) in the alt
    text, ``distribution of temp in batch/v1``, so that the charts of one column for two
    groups of a page are told apart.

    Categorical columns show the MAX_CATEGORIES_SHOWN categories with the largest share
    in either sample.
    """
    labels = list(comparison.labels)
    base = np.asarray(comparison.baseline, dtype=float)
    window = np.asarray(comparison.window, dtype=float)
    if comparison.ks_statistic is None and len(labels) > MAX_CATEGORIES_SHOWN:
        top = np.sort(np.argsort(-np.maximum(base, window))[:MAX_CATEGORIES_SHOWN])
        labels, base, window = [labels[i] for i in top], base[top], window[top]
    figure = Figure(figsize=(7.5, 2.8))
    axes = figure.subplots()
    x = np.arange(len(labels))
    axes.bar(x - 0.2, base, width=0.4, label="training baseline", color="#8c8c8c")
    axes.bar(x + 0.2, window, width=0.4, label="window", color="#c0392b")
    axes.set_xticks(x, labels, rotation=45, ha="right", fontsize=7)
    axes.set_ylabel("share of rows")
    ks = "" if comparison.ks_statistic is None else f", KS statistic {comparison.ks_statistic:.3g}"
    axes.set_title(f"{column}: PSI {comparison.psi:.3g}{ks}", fontsize=10)
    axes.legend(fontsize=8)
    return _svg(figure, f"distribution of {column} in {group}")


def error_chart(source: str, daily: dict[str, list[tuple]]) -> str:
    """An <img> tag (SVG): MAE (the label's unit) per UTC day, one line per model version
    of ``source``.

    ``daily``: version -> [(day, mae), ...].
    """
    figure = Figure(figsize=(7.5, 2.8))
    axes = figure.subplots()
    for version, points in sorted(daily.items()):
        points = sorted(points)
        axes.plot([d for d, _ in points], [m for _, m in points], marker=".", label=f"v{version}")
    axes.set_ylabel("MAE")
    axes.set_title(f"{source}: error by day of the event timestamp (UTC)", fontsize=10)
    axes.legend(fontsize=8)
    figure.autofmt_xdate()
    return _svg(figure, f"error by day of {source}")


def _table(headers: list[str], body: list[tuple[list[str], str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    lines = [
        f"<tr class='{css}'>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
        for cells, css in body
    ]
    return f"<table><tr>{head}</tr>{''.join(lines)}</table>"


def _status(*figures: dict | None) -> tuple[str, str]:
    broken = [f for f in figures if f and f["violation"]]
    if not broken:
        return "ok", ""
    kind = broken[0]["kind"]
    return kind.replace("_", " "), "unknown" if kind == "insufficient_data" else "bad"


def _count_rows(figures: list[dict]) -> list[tuple[list[str], str]]:
    """Table rows (cells, css class) of the window-level figures (column ``*``) of ``figures``."""
    return [
        ([escape(f["metric"]), _number(f["value"], 12), _number(f["threshold"], 12)], _status(f)[1])
        for f in figures
        if f["column"] == "*"
    ]


def _group(figures: list[dict], comparisons: dict, source: str, version: str) -> list[str]:
    def of(metric: str) -> dict:
        return {f["column"]: f for f in figures if f["metric"] == metric and f["day"] is None}

    psi, ks = of("psi"), of("ks_statistic")
    scale = max([f["value"] or 0.0 for f in psi.values()] + [1e-9])
    drift = []
    for column, p in psi.items():
        k = ks.get(column)
        width = 0 if p["value"] is None else int(120 * p["value"] / scale)
        bar = f"<span class='bar{' bad' if p['violation'] else ''}' style='width:{width}px'></span>"
        status, css = _status(p, k)
        drift.append(
            (
                [
                    escape(column),
                    f"{_number(p['value'])} {bar}",
                    _number(p["threshold"]),
                    _number(k["value"]) if k else "n/a",
                    _number(k["threshold"]) if k else "n/a",
                    status,
                ],
                css,
            )
        )
    nulls, base_nulls, values = of("null_fraction"), of("null_fraction_baseline"), of("values")
    quality = [
        (
            [
                escape(column),
                _number(values.get(column, {}).get("value"), 12),
                _number(base_nulls.get(column, {}).get("value")),
                _number(f["value"]),
                _number(f["threshold"]),
            ],
            _status(f)[1],
        )
        for column, f in nulls.items()
    ]
    counts = _count_rows(figures)
    error = [
        ([escape(f["metric"]), _number(f["value"]), _number(f["threshold"])], _status(f)[1])
        for f in figures
        if f["column"] == "prediction"
        and f["day"] is None
        and f["metric"] in ("mae", "rmse", "labelled_rows")
    ]
    flagged = sorted(
        {
            f["column"]
            for f in figures
            if f["violation"] and (source, version, f["column"]) in comparisons
        }
    )
    parts = [
        f"<h2>Source {escape(source)}, model version {escape(version)}</h2>",
        "<h3>Drift against this version's training data</h3>",
        _table(["column", "PSI", "PSI limit", "KS statistic", "KS limit", "status"], drift),
        "<h3>Data quality</h3>",
        _table(["figure", "value", "limit"], counts),
        _table(
            ["column", "values", "null share (training)", "null share (window)", "limit"], quality
        ),
    ]
    if error:
        parts += ["<h3>Error on labelled rows</h3>", _table(["metric", "value", "limit"], error)]
    if flagged:
        parts.append("<h3>Columns in violation: training and window distributions</h3>")
        group = group_name(source, version)
        parts += [distribution_chart(c, comparisons[(source, version, c)], group) for c in flagged]
    return parts


def render_report(figures: list[dict], comparisons: dict, title: str) -> str:
    """The HTML page (str) of one monitoring run, headed by ``title``.

    ``figures``: the run's figures (see monitoring/figures.py) with ``source`` and
    ``model_version``. ``comparisons``: (source, version, column) -> Comparison.
    Per source and version: drift per column (PSI with a bar, KS statistic, limits,
    status), data quality, error on labelled rows, and for each column in
    violation its baseline and window distributions on the shared bins. Per
    source: its figures over all versions (model version ``*``: the row count and its
    rule) and the MAE by UTC day as a line chart, one line per version.
    """
    groups = sorted({(f["source"], f["model_version"]) for f in figures})
    violations = [
        f"{group_name(f['source'], f['model_version'])} {f['column']}.{f['metric']} ({f['kind']})"
        for f in figures
        if f["violation"]
    ]
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>",
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>",
        f"<p>Violations: {escape(', '.join(violations)) if violations else 'none'}</p>",
    ]
    for source in sorted({s for s, _ in groups}):
        versions = [v for s, v in groups if s == source and v != ALL_VERSIONS]
        for version in sorted(versions, key=version_order):
            parts += _group(
                [f for f in figures if (f["source"], f["model_version"]) == (source, version)],
                comparisons,
                source,
                version,
            )
        wide = [f for f in figures if (f["source"], f["model_version"]) == (source, ALL_VERSIONS)]
        if wide:
            parts += [
                f"<h2>Source {escape(source)}, all model versions</h2>",
                _table(["figure", "value", "limit"], _count_rows(wide)),
            ]
        daily: dict[str, list[tuple]] = {}
        for f in figures:
            if f["source"] == source and f["day"] is not None and f["metric"] == "mae":
                daily.setdefault(f["model_version"], []).append((f["day"], f["value"]))
        if daily:
            parts += [f"<h2>Source {escape(source)}: error by day</h2>", error_chart(source, daily)]
    parts.append("</body></html>")
    return "\n".join(parts)
