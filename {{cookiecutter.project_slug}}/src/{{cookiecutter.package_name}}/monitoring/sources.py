"""Where the monitor reads predictions: one entry per way of serving the model."""

from __future__ import annotations

from pyspark.sql import DataFrame

from ..runtime.context import Context
from .inference_sources import inference_sources
from .settings import BATCH_SOURCE


def prediction_sources(ctx: Context) -> dict[str, DataFrame]:
    """Prediction tables by source name (the ``source`` column of the metrics table).

    Each DataFrame has the columns of the batch predictions table: the contract's
    entity keys and event timestamp (UTC), the model inputs, ``prediction`` (double:
    the estimate, or the positive-class probability), ``model_version`` (string, the
    version that produced the row) and ``scored_at`` (timestamp UTC). The monitor
    filters them to its window: ``batch`` (the batch-inference step's table), then
    the other ways of serving this project has whose tables exist (see
    :func:`.inference_sources.inference_sources`). Raises MissingTableError when the
    batch predictions table does not exist yet.
    """
    return {
        BATCH_SOURCE: ctx.tables.read(
            ctx.settings.table("predictions"), "the batch-inference step"
        ),
        **inference_sources(ctx),
    }
