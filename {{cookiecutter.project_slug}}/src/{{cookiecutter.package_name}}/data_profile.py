"""The profile of a model version's training data, logged with the version.

The train step logs it in the run that registers the version, as
``data_profile.json``, so the description of what a version was trained on stays
with that version while the bronze and feature tables change later. Per column
(each model input and ``prediction``, the model's output on the same rows):

- ``kind``: ``numeric`` or ``categorical``; ``count`` (non-null values),
  ``null_share`` (0..1), and for numeric columns ``mean``, ``std``, ``min``,
  ``max`` and the quartiles ``p25``, ``p50``, ``p75``;
- numeric ``edges`` and ``shares``: the distinct deciles of the non-null values
  (sample quantiles 0, 0.1, ..., 1, each a value of the column; equal ones
  merged). The bins are: below the first edge, ``[e0, e1)``, ``[e1, e2)``, ...,
  ``[e[m-1], e[m])``, equal to the last edge, above the last edge. A column with
  one value has the bins below, equal and above it; a value outside the training
  range always lands in a bin of its own. ``shares`` are the fractions of the
  non-null values per bin (:func:`bin_shares`);
- numeric ``ecdf``: ``values`` and ``cum`` (cumulative share at each value) of at
  most :data:`ECDF_POINTS` points, exact when the column has no more distinct values;
- categorical ``shares``: fraction of the non-null values per category, the
  :data:`MAX_CATEGORIES` most frequent kept and the rest under :data:`OTHER`.
"""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd

PROFILE_ARTIFACT = "data_profile.json"
PROFILE_FORMAT = 1
QUANTILE_LEVELS = np.linspace(0.0, 1.0, 11)  # deciles, ends included
ECDF_POINTS = 1000
MAX_CATEGORIES = 200
OTHER = "<other>"


def numeric_values(values) -> np.ndarray:
    """The non-null values of ``values`` (array-like, nulls as None or NaN) as float64."""
    array = pd.to_numeric(pd.Series(values)).to_numpy(dtype=float, na_value=np.nan)
    return array[~np.isnan(array)]


def bin_shares(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Fractions of ``values`` (float64, no NaN) in the bins of ``edges`` (see the module doc).

    Returns ``len(edges) + 2`` shares summing to 1; all zeros when ``values`` is
    empty. Raises ValueError when ``edges`` is empty or not increasing.
    """
    bounds = np.asarray(edges, dtype=float)
    if bounds.size == 0 or np.any(np.diff(bounds) <= 0):
        raise ValueError(f"bin edges must be a non-empty increasing list, got {edges}")
    index = np.searchsorted(bounds, values, side="right")
    index = np.where(values > bounds[-1], bounds.size + 1, index)
    counts = np.bincount(index, minlength=bounds.size + 2).astype(float)
    return counts / values.size if values.size else counts


def ecdf_points(values: np.ndarray, points: int = ECDF_POINTS) -> tuple[list, list]:
    """(values, cumulative shares) of the empirical CDF of ``values`` (float64, no NaN).

    Every distinct value is kept when there are at most ``points`` of them; otherwise
    the values where the cumulative share first reaches each multiple of 1/points,
    so the CDF between two kept values is off by at most 1/points.
    """
    distinct, counts = np.unique(values, return_counts=True)
    cumulative = np.cumsum(counts) / values.size
    if distinct.size > points:
        keep = np.unique(np.searchsorted(cumulative, np.arange(1, points + 1) / points - 1e-12))
        distinct, cumulative = distinct[keep], cumulative[keep]
    return distinct.tolist(), cumulative.tolist()


def _numeric(values: np.ndarray) -> dict:
    if values.size == 0:
        return {"kind": "numeric", "count": 0}
    edges = np.unique(np.quantile(values, QUANTILE_LEVELS, method="inverted_cdf"))
    ecdf_values, ecdf_cum = ecdf_points(values)
    quartiles = np.quantile(values, [0.25, 0.5, 0.75])
    return {
        "kind": "numeric",
        "count": int(values.size),
        "mean": float(values.mean()),
        "std": float(values.std()),
        "min": float(values.min()),
        "max": float(values.max()),
        **{name: float(q) for name, q in zip(("p25", "p50", "p75"), quartiles, strict=True)},
        "edges": edges.tolist(),
        "shares": bin_shares(values, edges.tolist()).tolist(),
        "ecdf": {"values": ecdf_values, "cum": ecdf_cum},
    }


def _categorical(values: pd.Series) -> dict:
    present = values.dropna().astype(str)
    shares = present.value_counts(normalize=True)
    kept = shares.iloc[:MAX_CATEGORIES].to_dict()
    rest = float(shares.iloc[MAX_CATEGORIES:].sum())
    if rest:
        kept[OTHER] = rest
    return {"kind": "categorical", "count": int(present.size), "shares": kept}


def build_profile(frame: pd.DataFrame, predictions, categorical: list[str] | None = None) -> dict:
    """The profile (JSON-ready dict) of ``frame`` and the model's ``predictions`` on it.

    ``frame``: the training rows, one column per model input (the ``categorical``
    ones strings, the rest numeric, nulls allowed; ``categorical`` None: the columns
    whose dtype is not numeric). ``predictions``: one number per
    row of ``frame`` (the model's output). Out: ``format``, ``rows`` and ``columns`` (column
    name -> figures, see the module doc; ``prediction`` last).
    """
    data = frame.assign(prediction=np.asarray(predictions, dtype=float))
    if categorical is None:
        categorical = [
            c for c, dtype in frame.dtypes.items() if not pd.api.types.is_numeric_dtype(dtype)
        ]
    columns = {}
    for column in data.columns:
        series = data[column]
        if column in categorical:
            figures = _categorical(series)
        else:
            figures = _numeric(numeric_values(series))
        figures["null_share"] = float(series.isna().mean()) if len(series) else 0.0
        columns[column] = figures
    return {"format": PROFILE_FORMAT, "rows": int(len(data)), "columns": columns}


def log_data_profile(
    frame: pd.DataFrame, predictions, categorical: list[str] | None = None
) -> dict:
    """Log :func:`build_profile` of ``frame`` and ``predictions`` in the active MLflow run.

    The artifact is ``data_profile.json`` of the run. Returns the profile.
    """
    profile = build_profile(frame, predictions, categorical)
    mlflow.log_dict(profile, PROFILE_ARTIFACT)
    return profile
