"""Distribution drift between a baseline sample and a current sample.

PSI (population stability index) with bins from the baseline's quantiles, and the
two-sample Kolmogorov-Smirnov test from SciPy. Both take plain arrays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

EPSILON = 1e-4


def psi_numeric(baseline: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """PSI of a numeric column; bins are the baseline's quantiles, nulls (NaN) are dropped.

    Returns 0.0 when either sample is empty after dropping NaN. Conventional reading:
    below 0.1 stable, 0.1 to 0.2 moderate shift, above 0.2 significant shift.
    """
    base = np.asarray(baseline, dtype=float)
    cur = np.asarray(current, dtype=float)
    base, cur = base[~np.isnan(base)], cur[~np.isnan(cur)]
    if base.size == 0 or cur.size == 0:
        return 0.0
    inner = np.unique(np.quantile(base, np.linspace(0, 1, bins + 1)[1:-1]))
    edges = np.concatenate(([-np.inf], inner, [np.inf]))
    expected = np.histogram(base, edges)[0] / base.size
    actual = np.histogram(cur, edges)[0] / cur.size
    return _psi(expected, actual)


def psi_categorical(baseline: pd.Series, current: pd.Series) -> float:
    """PSI of a categorical column over the union of categories (nulls count as a category)."""
    base = baseline.fillna("<null>").value_counts(normalize=True)
    cur = current.fillna("<null>").value_counts(normalize=True)
    categories = base.index.union(cur.index)
    return _psi(
        base.reindex(categories, fill_value=0).to_numpy(),
        cur.reindex(categories, fill_value=0).to_numpy(),
    )


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    expected = np.clip(expected, EPSILON, None)
    actual = np.clip(actual, EPSILON, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def ks_test(baseline: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value, NaN dropped; (0.0, 1.0) when empty."""
    base = np.asarray(baseline, dtype=float)
    cur = np.asarray(current, dtype=float)
    base, cur = base[~np.isnan(base)], cur[~np.isnan(cur)]
    if base.size == 0 or cur.size == 0:
        return 0.0, 1.0
    result = stats.ks_2samp(base, cur)
    return float(result.statistic), float(result.pvalue)
