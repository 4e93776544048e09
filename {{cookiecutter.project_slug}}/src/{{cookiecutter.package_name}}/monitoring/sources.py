"""Where the monitor reads predictions: one entry per way of serving the model."""

from __future__ import annotations

from pyspark.sql import DataFrame

from ..runtime.context import Context


def prediction_sources(ctx: Context) -> dict[str, DataFrame]:
    """Prediction tables by source name (the ``source`` column of the metrics table).

    Each DataFrame has the columns of the batch predictions table: ``flight_id``
    (string, entity key), ``sched_dep_ts`` (timestamp UTC, event time), the model
    inputs, ``prediction`` (double, minutes), ``model_version`` (string, the
    version that produced the row) and ``scored_at`` (timestamp UTC). The monitor
    filters them to its window. Today: ``batch`` (the batch-inference step's table).
    Raises MissingTableError when a table does not exist yet.
    """
    return {
        "batch": ctx.tables.read(ctx.settings.table("predictions"), "the batch-inference step"),
    }
