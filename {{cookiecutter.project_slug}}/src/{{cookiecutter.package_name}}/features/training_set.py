"""Where model inputs come from: the one place that knows how features are stored.

{%- if cookiecutter.include_feature_store %}

Feature-store variant: the features step writes feature tables with declared keys
(:mod:`.store`); model inputs are flights looked up against them at prediction
time, by Spark or by Databricks Feature Engineering as ``features.lookup`` says.
{%- else %}

Prepared-table variant: the features step computes the feature tables, joins every
flight to them at its prediction time and stores the result as the ``model_input``
table (keyed by flight_id); training and scoring read that table by window.
{%- endif %}
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ..config import Window
from ..runtime.context import Context
from .definitions import (
{%- if not cookiecutter.include_feature_store %}
    FEATURE_KEYS,
{%- endif %}
    airport_hourly_features,
    flight_spine,
{%- if not cookiecutter.include_feature_store %}
    model_input,
{%- endif %}
    weather_hourly_features,
)
{%- if cookiecutter.include_feature_store %}
from .store import lookup_features, write_feature_table
{%- endif %}


def window_filter(column: str, window: Window):
    """SQL-style predicate: ``column`` within the half-open ``window``."""
    return (F.col(column) >= F.lit(window.start)) & (F.col(column) < F.lit(window.end))


def window_predicate(column: str, window: Window) -> str:
    """The same predicate as a SQL string, for Delta ``replaceWhere``."""
    fmt = "%Y-%m-%d %H:%M:%S"
    return (
        f"{column} >= TIMESTAMP '{window.start.strftime(fmt)}' "
        f"AND {column} < TIMESTAMP '{window.end.strftime(fmt)}'"
    )


def _feature_frames(ctx: Context) -> dict[str, DataFrame]:
    settings, tables = ctx.settings, ctx.tables
    flights = tables.read(settings.table("flights_bronze"), "the ingest step")
    weather = tables.read(settings.table("weather_bronze"), "the ingest step")
    windows = list(settings.features["delay_windows_hours"])
    return {
        "airport_features": airport_hourly_features(flights, windows),
        "weather_features": weather_hourly_features(weather),
    }
{%- if cookiecutter.include_feature_store %}


def write_features(ctx: Context) -> dict[str, int]:
    """Compute both feature tables from bronze and MERGE them, keys declared.

    Returns {full table name: row count}. Raises MissingTableError when a bronze
    table does not exist.
    """
    out = {}
    for key, frame in _feature_frames(ctx).items():
        name = write_feature_table(ctx, key, frame)
        out[name] = ctx.tables.count(name)
    return out


def model_input_of(ctx: Context, flights: DataFrame) -> DataFrame:
    """The given bronze ``flights`` with their features at prediction time.

    In: rows of the bronze flights table (any subset, e.g. a streaming micro-batch).
    Columns out: see :func:`definitions.flight_spine` and :func:`definitions.model_input`.
    Raises MissingTableError when the feature tables do not exist.
    """
    spine = flight_spine(flights, int(ctx.settings.features["prediction_lead_minutes"]))
    return lookup_features(ctx, spine)


def build_model_input(ctx: Context, window: Window) -> DataFrame:
    """Flights scheduled to depart in ``window`` with their features at prediction time.

    Columns: see :func:`definitions.flight_spine` and :func:`definitions.model_input`.
    Raises MissingTableError when the bronze or feature tables do not exist.
    """
    flights = ctx.tables.read(ctx.settings.table("flights_bronze"), "the ingest step")
    return model_input_of(ctx, flights.where(window_filter("sched_dep_ts", window)))
{%- else %}


def write_features(ctx: Context) -> dict[str, int]:
    """Compute both feature tables, MERGE them, and prepare ``model_input`` from them.

    ``model_input`` holds every bronze flight once (key: flight_id) with its features
    at prediction time (columns: see :func:`build_model_input`); it is recomputed and
    replaced in one commit on each run. Returns {full table name: row count}.
    Raises MissingTableError when a bronze table does not exist.
    """
    settings, tables = ctx.settings, ctx.tables
    out = {}
    for key, frame in _feature_frames(ctx).items():
        name = settings.table(key)
        tables.upsert(frame, name, FEATURE_KEYS)
        out[name] = tables.count(name)
    prepared = model_input_of(ctx, tables.read(settings.table("flights_bronze"), "the ingest step"))
    name = settings.table("model_input")
    tables.overwrite(prepared, name)
    out[name] = tables.count(name)
    return out


def model_input_of(ctx: Context, flights: DataFrame) -> DataFrame:
    """The given bronze ``flights`` with their features at prediction time.

    In: rows of the bronze flights table (any subset, e.g. a streaming micro-batch),
    looked up in the feature tables as the features step prepares ``model_input``,
    so rows that arrived after the features step ran are not missed.
    Columns out: see :func:`build_model_input`. Raises MissingTableError when the
    feature tables do not exist.
    """
    settings, tables = ctx.settings, ctx.tables
    return model_input(
        flight_spine(flights, int(settings.features["prediction_lead_minutes"])),
        tables.read(settings.table("airport_features"), "the features step"),
        tables.read(settings.table("weather_features"), "the features step"),
        int(settings.features["lookup_tolerance_hours"]),
    )


def build_model_input(ctx: Context, window: Window) -> DataFrame:
    """Rows of the prepared ``model_input`` table for flights scheduled in ``window``.

    Columns: see :func:`definitions.flight_spine` and :func:`definitions.model_input`.
    Raises MissingTableError when ``model_input`` does not exist (run the features step).
    """
    prepared = ctx.tables.read(ctx.settings.table("model_input"), "the features step")
    return prepared.where(window_filter("sched_dep_ts", window))
{%- endif %}
