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

from datetime import datetime

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

{% if not cookiecutter.include_feature_store -%}
from ..checks import table_keys
{% endif -%}
from ..config import Window, instant_sql
from ..runtime.context import Context
from .definitions import (
    airport_hourly_features,
    flight_spine,
{%- if not cookiecutter.include_feature_store %}
    model_input,
{%- endif %}
    weather_hourly_features,
)
{%- if cookiecutter.include_feature_store %}
from .store import lookup_features, write_feature_table

# Tables build_model_input reads (keys of ``tables``), checked before train and scoring.
MODEL_INPUT_TABLES = ("flights_bronze", "airport_features", "weather_features")
{%- else %}

# The table build_model_input reads (a key of ``tables``), checked before train and scoring.
MODEL_INPUT_TABLES = ("model_input",)
{%- endif %}


def window_predicate(column: str, window: Window) -> str:
    """SQL predicate: timestamp ``column`` within the half-open ``window``, bounds as instants.

    The one place window conditions are written: Delta ``replaceWhere`` takes this
    string and :func:`window_filter` wraps it, so the two cannot disagree.
    """
    return window.predicate(column)


def window_filter(column: str, window: Window) -> Column:
    """:func:`window_predicate` as a Column, for ``DataFrame.where``."""
    return F.expr(window_predicate(column, window))


def before(column: str, instant: datetime) -> Column:
    """Column predicate: timestamp ``column`` is before ``instant`` (an as-of date).

    Built like :func:`window_predicate`, with the instant's UTC offset in the literal.
    """
    return F.expr(f"`{column}` < {instant_sql(instant)}")


def known_flights(ctx: Context) -> DataFrame:
    """Bronze flights scheduled before the as-of instant (``settings.as_of``)."""
    flights = ctx.tables.read(ctx.settings.table("flights_bronze"), "the ingest step")
    return flights.where(before("sched_dep_ts", ctx.settings.as_of))


def _feature_frames(ctx: Context) -> dict[str, DataFrame]:
    """Both feature tables from bronze rows before the as-of instant.

    Feature rows stamped at or after it are left out: as of that instant they are
    not known yet (an airport row counts flights by their actual departure).
    """
    settings, tables = ctx.settings, ctx.tables
    weather = tables.read(settings.table("weather_bronze"), "the ingest step")
    windows = list(settings.features["delay_windows_hours"])
    frames = {
        "airport_features": airport_hourly_features(known_flights(ctx), windows),
        "weather_features": weather_hourly_features(
            weather.where(before("obs_ts", settings.as_of))
        ),
    }
    return {key: frame.where(before("feature_ts", settings.as_of)) for key, frame in frames.items()}
{%- if cookiecutter.include_feature_store %}


def write_features(ctx: Context) -> dict[str, int]:
    """Compute both feature tables from bronze (rows before ``settings.as_of``) and MERGE
    them, keys declared.

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

    ``model_input`` holds every bronze flight scheduled before ``settings.as_of`` once
    (key: flight_id) with its features at prediction time (columns: see
    :func:`build_model_input`); it is recomputed and replaced in one commit on each
    run. The feature tables are written first: when the ``model_input`` write fails,
    they hold the new rows and ``model_input`` its previous version, and a rerun
    recomputes ``model_input`` from them (the MERGE of the same rows changes nothing).
    Returns {full table name: row count}.
    Raises MissingTableError when a bronze table does not exist.
    """
    settings, tables = ctx.settings, ctx.tables
    out = {}
    for key, frame in _feature_frames(ctx).items():
        name = settings.table(key)
        # One row per (origin, feature_ts) by construction; the upsert still ranks any
        # duplicate deterministically and the input checks refuse one.
        tables.upsert(frame, name, table_keys(key))
        out[name] = tables.count(name)
    prepared = model_input_of(ctx, known_flights(ctx))
    name = settings.table("model_input")
    tables.overwrite(prepared, name, table_keys("model_input"))
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
