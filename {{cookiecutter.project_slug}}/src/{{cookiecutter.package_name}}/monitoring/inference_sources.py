"""Predictions of the ways of serving other than batch, for the monitor.

Each source is a DataFrame with the batch predictions table's columns (the contract's
entity keys and event timestamp, the model inputs, prediction, model_version, scored_at), so the
monitor computes the same figures per source and model version.
"""

from __future__ import annotations

from pyspark.sql import DataFrame

from ..parts import function, merged
from ..runtime.context import Context


def inference_sources(ctx: Context) -> dict[str, DataFrame]:
    """Predictions by source name, for each prediction source whose table exists.

    The sources are the ``PREDICTION_SOURCES`` that the optional parts of the project
    declare (see :mod:`..parts`): none in a project that serves by batch only.
    A source whose table does not exist yet (never run, nothing served) is left
    out, so the monitor never fails for a way of serving not in use.
    """
    out = {}
    for source, (table_key, target) in merged("PREDICTION_SOURCES").items():
        if ctx.tables.exists(ctx.settings.table(table_key)):
            out[source] = function(target)(ctx)
    return out
