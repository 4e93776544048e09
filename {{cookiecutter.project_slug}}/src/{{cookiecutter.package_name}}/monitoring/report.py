"""A self-contained HTML page of one monitoring run's figures.

Built from the rows the monitor step writes to the metrics table (dicts with
column, metric, value, threshold, violation and day), so the page shows exactly
what the table holds. No JavaScript, no external files: it opens from the MLflow
artifact view or a file.
"""

from __future__ import annotations

import math
from html import escape

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.bad td { background: #fde2e1; }
.bar { display: inline-block; height: 0.8em; background: #4a78b5; vertical-align: middle; }
.bar.bad { background: #c0392b; }
"""


def _number(value: float | None, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}g}"


def _by(rows: list[dict], metric: str) -> dict:
    return {r["column"]: r for r in rows if r["metric"] == metric and r.get("day") is None}


def _table(headers: list[str], body: list[tuple[list[str], bool]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    lines = [
        f"<tr{' class=bad' if bad else ''}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"
        for cells, bad in body
    ]
    return f"<table><tr>{head}</tr>{''.join(lines)}</table>"


def render_report(rows: list[dict], title: str) -> str:
    """The HTML page (str) for the metric ``rows`` of one window, headed by ``title``.

    Sections: drift per column (PSI with a bar scaled to the largest PSI, KS
    statistic and p-value), data quality (null fraction in baseline and window,
    row counts), and model error per scheduled-departure UTC day when labels exist.
    Rows with ``violation`` set are highlighted.
    """
    psi, ks, pvalue = _by(rows, "psi"), _by(rows, "ks_statistic"), _by(rows, "ks_pvalue")
    scale = max([r["value"] or 0.0 for r in psi.values()] + [1e-9])
    drift = []
    for column, r in psi.items():
        width = 0 if r["value"] is None else int(120 * r["value"] / scale)
        bar = f"<span class='bar{' bad' if r['violation'] else ''}' style='width:{width}px'></span>"
        drift.append(
            (
                [
                    escape(column),
                    f"{_number(r['value'])} {bar}",
                    _number(r["threshold"]),
                    _number(ks.get(column, {}).get("value")),
                    _number(pvalue.get(column, {}).get("value")),
                    "drift" if r["violation"] else "",
                ],
                bool(r["violation"]),
            )
        )
    nulls, base_nulls = _by(rows, "null_fraction"), _by(rows, "null_fraction_baseline")
    quality = [
        (
            [
                escape(column),
                _number(base_nulls.get(column, {}).get("value")),
                _number(r["value"]),
                _number(r["threshold"]),
            ],
            bool(r["violation"]),
        )
        for column, r in nulls.items()
    ]
    counts = [
        ([escape(r["metric"]), _number(r["value"], 12)], bool(r["violation"]))
        for r in rows
        if r["metric"] in ("row_count", "baseline_row_count")
    ]
    overall = [
        ([escape(r["metric"]), _number(r["value"]), _number(r["threshold"])], bool(r["violation"]))
        for r in rows
        if r["column"] == "prediction"
        and r["metric"] in ("mae", "rmse", "labelled_rows")
        and r.get("day") is None
    ]
    days: dict = {}
    for r in rows:
        if r.get("day") is not None:
            days.setdefault(r["day"], {})[r["metric"]] = r
    daily = [
        (
            [
                escape(str(day)),
                _number(m.get("mae", {}).get("value")),
                _number(m.get("rmse", {}).get("value")),
                _number(m.get("labelled_rows", {}).get("value"), 12),
            ],
            False,
        )
        for day, m in sorted(days.items())
    ]
    violations = [f"{r['column']}.{r['metric']}" for r in rows if r["violation"]]
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>",
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>",
        f"<p>Violations: {escape(', '.join(violations)) if violations else 'none'}</p>",
        "<h2>Drift against the training baseline</h2>",
        _table(["column", "PSI", "PSI limit", "KS statistic", "KS p-value", ""], drift),
        "<h2>Data quality</h2>",
        _table(["figure", "value"], counts),
        _table(["column", "null fraction (baseline)", "null fraction (window)", "limit"], quality),
    ]
    if overall:
        parts += [
            "<h2>Model error on labelled rows</h2>",
            _table(["metric", "value", "limit"], overall),
        ]
    if daily:
        parts += [
            "<h3>By scheduled-departure day (UTC)</h3>",
            _table(["day", "MAE (min)", "RMSE (min)", "rows"], daily),
        ]
    parts.append("</body></html>")
    return "\n".join(parts)
