"""The monitor's figures for one source and model version, each checked against its rule.

One figure belongs to a source as a whole: its ``row_count`` over all the versions that
scored its rows in the window (model version :data:`ALL_VERSIONS`), checked against the
source's rows-per-day rule. A champion moved inside the window splits the source's rows
between two versions; the rule is about the source's volume, so it counts them together.

A figure is a dict: column (a model input, ``prediction``, or ``*`` for the
window), metric, value (float, or None when it cannot be computed), threshold,
kind (the rule the figure is checked against: ``drift``, ``data_quality``,
``insufficient_data``, or None for figures without a rule), violation (bool)
and day (a date for the per-day error figures, else None).

Kinds: ``drift`` (PSI or KS statistic above its threshold; MAE above the
version's validation MAE by more than ``max_mae_increase``) may start
retraining; ``data_quality`` (null share, rows per day) and ``insufficient_data``
(too few values for drift figures: the column's ``psi``/``ks_statistic`` rows
carry value None and violation True, never a silent "no drift") only alert.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from .drift import Comparison, compare
from .settings import MonitoringSettings

DRIFT, DATA_QUALITY, INSUFFICIENT_DATA = "drift", "data_quality", "insufficient_data"
KINDS = (DRIFT, DATA_QUALITY, INSUFFICIENT_DATA)


# The model version of a source's figures over all its versions (``row_count``).
ALL_VERSIONS = "*"


def group_name(source: str, version: str) -> str:
    """The name of one source and model version in results, metric names and the report:
    ``"<source>/v<version>"``, for example ``"batch/v2"``; ``"<source>"`` for the
    source's figures over all its versions (``version`` :data:`ALL_VERSIONS`)."""
    return source if version == ALL_VERSIONS else f"{source}/v{version}"


def version_order(version: str) -> tuple[int, str]:
    """Sort key of model versions (strings of digits, or ``none``) in numeric order:
    ``"9"`` before ``"10"``."""
    return len(version), version


def figure(column, metric, value, threshold=None, kind=None, violation=False, day=None) -> dict:
    """One figure as a dict (see the module doc); ``value`` None stays None."""
    return {
        "column": column,
        "metric": metric,
        "value": None if value is None else float(value),
        "threshold": None if threshold is None else float(threshold),
        "kind": kind,
        "violation": bool(violation),
        "day": day,
    }


def column_figures(
    profile: dict | None, window: pd.DataFrame, columns: list[str], config: MonitoringSettings
) -> tuple[list[dict], dict[str, Comparison]]:
    """Drift and data-quality figures per column of ``window`` against ``profile``.

    ``profile``: the version's training-data profile (None when it has none: every
    column is then ``insufficient_data``). ``window``: the rows of one source and
    version, with ``columns``. Per column: ``values`` (non-null values in the
    window), ``null_fraction`` (rule data_quality) and ``null_fraction_baseline``,
    ``psi`` and, for numeric columns, ``ks_statistic`` (rule drift, or
    insufficient_data with value None when the window or the profile has fewer
    than ``min_rows`` values). Returns (figures, comparisons by column).
    """
    figures, comparisons = [], {}
    profiled = (profile or {}).get("columns", {})
    for column in columns:
        values = window[column]
        kind = "numeric" if pd.api.types.is_numeric_dtype(values) else "categorical"
        entry = profiled.get(column) or {"kind": kind, "count": 0, "null_share": None}
        present = int(values.notna().sum())
        figures.append(figure(column, "values", present))
        base_null = entry.get("null_share")
        if len(window) and base_null is not None:
            share = float(values.isna().mean())
            limit = min(base_null + config.max_null_fraction_increase, 1.0)
            figures += [
                figure(column, "null_fraction", share, limit, DATA_QUALITY, share > limit),
                figure(column, "null_fraction_baseline", base_null),
            ]
        metrics = ["psi"] if entry["kind"] == "categorical" else ["psi", "ks_statistic"]
        if min(present, entry.get("count", 0)) < config.min_rows:
            figures += [
                figure(column, m, None, config.min_rows, INSUFFICIENT_DATA, True) for m in metrics
            ]
            continue
        comparison = compare(entry, values)
        comparisons[column] = comparison
        figures.append(
            figure(
                column,
                "psi",
                comparison.psi,
                config.psi_threshold,
                DRIFT,
                comparison.psi > config.psi_threshold,
            )
        )
        if comparison.ks_statistic is not None:
            figures.append(
                figure(
                    column,
                    "ks_statistic",
                    comparison.ks_statistic,
                    config.ks_statistic_threshold,
                    DRIFT,
                    comparison.ks_statistic > config.ks_statistic_threshold,
                )
            )
    return figures, comparisons


def count_figures(rows: int, profile: dict | None) -> list[dict]:
    """Counts of one (source, version) group, without a rule: ``row_count`` (its ``rows``
    in the window) and ``baseline_row_count`` (the rows of the version's training
    ``profile``; None without one). The rows-per-day rule is the source's
    (:func:`source_count_figure`)."""
    return [
        figure("*", "row_count", rows),
        figure("*", "baseline_row_count", None if profile is None else profile["rows"]),
    ]


def source_count_figure(rows: int, days: float, min_rows_per_day: float | None) -> dict:
    """``row_count`` of a source over all its versions: ``rows`` scored in the window,
    a data_quality violation when fewer than ``min_rows_per_day`` times ``days`` (the
    window's length in days); no rule when ``min_rows_per_day`` is None."""
    limit = None if min_rows_per_day is None else min_rows_per_day * days
    return figure(
        "*",
        "row_count",
        rows,
        limit,
        None if limit is None else DATA_QUALITY,
        limit is not None and rows < limit,
    )


def error_figures(
    labelled: pd.DataFrame,
    mae_limit: float | None,
    *,
    label: str,
    event_timestamp: str,
    classification: bool = False,
) -> list[dict]:
    """MAE, RMSE (the label's unit) and ``labelled_rows`` of the window and per UTC day.

    In: rows with ``prediction``, the ``label`` and the ``event_timestamp`` (UTC). For
    binary classification the prediction is the positive-class probability: MAE and
    RMSE are its distance to the 0/1 label (RMSE squared is the Brier score), and the
    window also gets ``roc_auc`` (no rule; only when both classes are present). The
    window's MAE is checked against ``mae_limit`` (rule drift) when there is one;
    per-day figures carry ``day`` and no rule. Empty input gives no figures.
    """
    if labelled.empty:
        return []
    error = labelled["prediction"] - labelled[label]

    def of(err: pd.Series, day=None, limit=None) -> list[dict]:
        mae = float(err.abs().mean())
        kind = DRIFT if limit is not None else None
        return [
            figure("prediction", "mae", mae, limit, kind, limit is not None and mae > limit, day),
            figure("prediction", "rmse", float(np.sqrt((err**2).mean())), day=day),
            figure("prediction", "labelled_rows", len(err), day=day),
        ]

    figures = of(error, limit=mae_limit)
    if classification and labelled[label].nunique() == 2:
        auc = roc_auc_score(labelled[label].astype(int), labelled["prediction"].astype(float))
        figures.append(figure("prediction", "roc_auc", auc))
    days = pd.to_datetime(labelled[event_timestamp], utc=True).dt.date
    for day, err in error.groupby(days.to_numpy()):
        figures += of(err, day=day)
    return figures
