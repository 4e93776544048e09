"""Step 2, features: compute the feature tables from bronze and store them with Delta MERGE.

Feature rows are keyed by their primary keys and timestamp key
(``contract.feature_tables``); a rerun updates rows in place and adds no duplicates.
What else is stored (declared keys, or a prepared model-input table) is decided in
:mod:`..features.model_inputs`.
"""

from __future__ import annotations

from ..checks import check_inputs
from ..features.model_inputs import write_features
from ..runtime.context import Context


def run(ctx: Context) -> dict:
    """Read the bronze tables and write the feature tables. Returns row counts per table."""
    check_inputs(ctx, "features")
    return {"rows": write_features(ctx)}
