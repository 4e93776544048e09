"""Predictions of the ways of serving other than batch, for the monitor.

Each source is a DataFrame with the batch predictions table's columns (the contract's
entity keys and event timestamp, the model inputs, prediction, model_version, scored_at), so the
monitor computes the same figures per source and model version.
"""

from __future__ import annotations

from importlib import import_module

from pyspark.sql import DataFrame

from ..runtime.context import Context

# (source name, table key, module, function returning the source's predictions)
INFERENCE_SOURCES = (
{%- if cookiecutter.include_streaming_inference %}
    ("streaming", "stream_predictions", "steps.stream_inference", "stream_predictions"),
{%- endif %}
{%- if cookiecutter.include_online_serving %}
    ("online", "inference_table", "serving.online_predictions", "online_predictions"),
{%- endif %}
{%- if not (cookiecutter.include_streaming_inference or cookiecutter.include_online_serving) %}
    # none: this project serves by batch only
{%- endif %}
)


def inference_sources(ctx: Context) -> dict[str, DataFrame]:
    """Predictions by source name, for each of INFERENCE_SOURCES whose table exists.

    A source whose table does not exist yet (never run, nothing served) is left
    out, so the monitor never fails for a way of serving not in use.
    """
    out = {}
    package = __package__.rsplit(".", 1)[0]
    for source, table_key, module, function in INFERENCE_SOURCES:
        if ctx.tables.exists(ctx.settings.table(table_key)):
            out[source] = getattr(import_module(f"{package}.{module}"), function)(ctx)
    return out
