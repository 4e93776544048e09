"""Model input for a time window, built from the bronze flights and the feature tables."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ..config import Window
from ..runtime.context import Context
from .definitions import flight_spine, model_input


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


def build_model_input(ctx: Context, window: Window) -> DataFrame:
    """Flights scheduled to depart in ``window`` with their features at prediction time.

    Columns: see :func:`definitions.flight_spine` and :func:`definitions.model_input`.
    Raises MissingTableError when the bronze or feature tables do not exist.
    """
    settings, tables = ctx.settings, ctx.tables
    flights = tables.read(settings.table("flights_bronze"), "the ingest step")
    spine = flight_spine(
        flights.where(window_filter("sched_dep_ts", window)),
        int(settings.features["prediction_lead_minutes"]),
    )
    return model_input(
        spine,
        tables.read(settings.table("airport_features"), "the features step"),
        tables.read(settings.table("weather_features"), "the features step"),
        int(settings.features["lookup_tolerance_hours"]),
    )
