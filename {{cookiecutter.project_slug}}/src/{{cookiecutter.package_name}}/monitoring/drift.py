"""Distribution drift of a window's values against a version's training-data profile.

PSI (population stability index) is computed on the bins stored in the profile
(see ``data_profile.py``), so the window and the baseline always share the same
bins. The Kolmogorov-Smirnov statistic (largest gap between the two empirical
CDFs, 0..1) is read against the profile's stored CDF. Both are effect sizes: on
tens of thousands of rows the KS test's p-value is tiny for any difference at
all, so it would flag every column and is not used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data_profile import OTHER, bin_shares, numeric_values

EPSILON = 1e-4  # share given to an empty bin before renormalising


def smooth(shares) -> np.ndarray:
    """``shares`` (fractions per bin) with every 0 replaced by EPSILON, renormalised to sum to 1."""
    array = np.where(np.asarray(shares, dtype=float) == 0, EPSILON, shares)
    return array / array.sum()


def psi(expected, actual) -> float:
    """PSI of two share vectors over the same bins: sum of (a - e) * ln(a / e).

    Both are smoothed first (:func:`smooth`), so empty bins give a large but finite
    value. Identical vectors give 0. Conventional reading: below 0.1 stable, 0.1 to
    0.2 a moderate shift, above 0.2 a significant shift.
    """
    e, a = smooth(expected), smooth(actual)
    return float(np.sum((a - e) * np.log(a / e)))


def ks_statistic(ecdf_values, ecdf_cum, values: np.ndarray) -> float:
    """Largest absolute gap between the baseline CDF and the CDF of ``values``.

    ``ecdf_values`` (increasing) and ``ecdf_cum`` (the baseline's cumulative share
    at each) come from the profile; ``values`` are the window's non-null values
    (float64). Both CDFs are right-continuous step functions; the gap is taken at
    every baseline point and every window value. Raises ValueError when
    ``values`` is empty.
    """
    if values.size == 0:
        raise ValueError("KS statistic: the window has no values")
    base_x = np.asarray(ecdf_values, dtype=float)
    base_f = np.asarray(ecdf_cum, dtype=float)
    window = np.sort(values)
    points = np.union1d(base_x, window)
    at = np.searchsorted(base_x, points, side="right") - 1
    baseline_cdf = np.where(at >= 0, base_f[np.clip(at, 0, None)], 0.0)
    window_cdf = np.searchsorted(window, points, side="right") / window.size
    return float(np.max(np.abs(baseline_cdf - window_cdf)))


def bin_labels(edges: list[float]) -> list[str]:
    """Names of the bins of ``edges``: ``< e0``, ``[e0, e1)``, ..., ``= em``, ``> em``."""
    fmt = "{:.4g}".format
    inner = [f"[{fmt(a)}, {fmt(b)})" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    return [f"< {fmt(edges[0])}", *inner, f"= {fmt(edges[-1])}", f"> {fmt(edges[-1])}"]


@dataclass(frozen=True)
class Comparison:
    """One column of a window against its profile, on shared bins.

    labels: bin or category names; baseline, window: shares per bin (sum to 1);
    count: non-null values in the window; psi; ks_statistic (None for categorical
    columns, where it is not defined).
    """

    labels: list[str]
    baseline: list[float]
    window: list[float]
    count: int
    psi: float
    ks_statistic: float | None


def compare(profile_column: dict, values: pd.Series) -> Comparison:
    """Compare the window's ``values`` of one column with its profile entry.

    ``profile_column`` is ``profile["columns"][name]`` with at least one value
    (``count`` > 0); ``values`` holds the window's values (nulls are skipped) and
    at least one non-null. Numeric columns use the profile's bins and CDF;
    categorical columns its categories, with unseen ones under ``<other>``.
    Raises ValueError when the window has no non-null value.
    """
    if profile_column["kind"] == "categorical":
        present = values.dropna().astype(str)
        if present.empty:
            raise ValueError("compare: the window has no values")
        known = profile_column["shares"]
        labels = [*known, *([OTHER] if OTHER not in known else [])]
        mapped = present.where(present.isin(known.keys()), OTHER)
        window = mapped.value_counts(normalize=True).reindex(labels, fill_value=0.0)
        baseline = [known.get(label, 0.0) for label in labels]
        shares = window.to_numpy(dtype=float)
        return Comparison(
            labels, baseline, shares.tolist(), int(present.size), psi(baseline, shares), None
        )
    array = numeric_values(values)
    if array.size == 0:
        raise ValueError("compare: the window has no values")
    edges = profile_column["edges"]
    shares = bin_shares(array, edges)
    ecdf = profile_column["ecdf"]
    return Comparison(
        labels=bin_labels(edges),
        baseline=list(profile_column["shares"]),
        window=shares.tolist(),
        count=int(array.size),
        psi=psi(profile_column["shares"], shares),
        ks_statistic=ks_statistic(ecdf["values"], ecdf["cum"], array),
    )
