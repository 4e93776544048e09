"""The example module: what is specific to the flights example, in one place.

With the ``contract`` section of conf/config.yml this module is the data contract
(see :mod:`..contract`). Replace both to bring your own use case; the generic steps
use only the names below and read everything else from the contract:

- :func:`to_bronze`: source rows (contract columns, checked) -> bronze rows of one
  bronze table, with its keys and UTC timestamp;
- :func:`feature_frames`: bronze tables -> the feature tables of the contract, keyed
  by their primary keys and timestamp key;
- :func:`spine`: rows of the entity table -> one row per event to predict: entity keys,
  event timestamp, lookup timestamp, the primary keys of the feature tables, the model
  inputs not held in a feature table, and the label;
- :data:`BRONZE_RANGES`: value ranges the data checks hold bronze columns to;
- :class:`Parameters` (optional): the ``contract.parameters`` this module reads, checked
  when the settings are loaded (a module without it takes no parameters).

The flights example: feature tables are keyed by ``origin`` (airport code) and
``feature_ts`` (UTC timestamp from which the row's values are known):

- airport hourly features: departures and mean departure delay (minutes) at the
  origin over the past N hours, counting only flights that had actually departed
  before ``feature_ts``;
- weather hourly features: the observation at the origin for that hour.

A spine row is a flight at its prediction time, ``prediction_lead_minutes`` before
scheduled departure (``contract.parameters``).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from ..contract import Contract
from ..runtime.tables import latest_per_key

WEATHER_COLUMNS = [
    "temp",
    "dewp",
    "humid",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
]


class Parameters(BaseModel):
    """``contract.parameters`` of the flights example (unknown or mistyped ones are refused)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    prediction_lead_minutes: NonNegativeInt  # predict this long before scheduled departure
    delay_windows_hours: list[PositiveInt] = Field(min_length=1)  # rolling departure delays


_DELAY_RANGE = (-1440.0, 1440.0)  # minutes; a flight is never a day early or late in the source
BRONZE_RANGES: dict[str, dict[str, tuple[float | None, float | None]]] = {
    "flights_bronze": {
        "distance": (0.0, None),
        "dep_delay": _DELAY_RANGE,
        "arr_delay": _DELAY_RANGE,
    },
    "weather_bronze": {
        "temp": (-80.0, 140.0),  # °F
        "humid": (0.0, 100.0),  # %
        "precip": (0.0, None),  # inches
        "wind_speed": (0.0, None),  # mph; the source has one 1,048 mph reading, kept
        "visib": (0.0, None),  # miles
    },
}


def to_bronze(table_key: str, raw: DataFrame) -> DataFrame:
    """Bronze rows of ``table_key`` from its source rows (the contract's columns, checked).

    flights_bronze: adds ``sched_dep_ts`` (timestamp, UTC scheduled departure:
    ``time_hour`` plus ``minute``) and ``flight_id`` (string: carrier, flight number,
    origin, scheduled departure), unique per flight; drops ``time_hour``.
    weather_bronze: ``obs_ts`` (timestamp, UTC hour of observation) instead of
    ``time_hour``, one row per origin and hour (of repeated rows the same one is
    always kept: :func:`..runtime.tables.latest_per_key`, ranked by their values).
    Raises KeyError for another table key.
    """
    if table_key == "flights_bronze":
        return bronze_flights(raw)
    if table_key == "weather_bronze":
        return bronze_weather(raw)
    raise KeyError(f"{table_key}: not a bronze table of the flights example")


def bronze_flights(raw: DataFrame) -> DataFrame:
    """Flights with ``sched_dep_ts`` and ``flight_id`` added (see :func:`to_bronze`)."""
    hour = F.to_timestamp("time_hour")
    sched = F.timestamp_seconds(F.unix_timestamp(hour) + F.col("minute").cast("long") * 60)
    return (
        raw.withColumn("sched_dep_ts", sched)
        .withColumn(
            "flight_id",
            F.concat_ws(
                "-",
                "carrier",
                F.col("flight").cast("string"),
                "origin",
                F.date_format("sched_dep_ts", "yyyyMMdd'T'HHmm"),
            ),
        )
        .drop("time_hour")
    )


def bronze_weather(raw: DataFrame) -> DataFrame:
    """Weather with ``obs_ts`` instead of ``time_hour``, one row per origin and hour."""
    stamped = raw.withColumn("obs_ts", F.to_timestamp("time_hour")).drop("time_hour")
    return latest_per_key(stamped, ["origin", "obs_ts"], order_by=())


def feature_frames(bronze: Mapping[str, DataFrame], contract: Contract) -> dict[str, DataFrame]:
    """The contract's feature tables from the bronze tables (rows before the as-of cut).

    ``bronze`` maps bronze table key -> DataFrame. Returns feature table key -> frame
    with the table's primary keys, timestamp key and value columns.
    """
    windows = list(contract.parameters["delay_windows_hours"])
    return {
        "airport_features": airport_hourly_features(bronze["flights_bronze"], windows),
        "weather_features": weather_hourly_features(bronze["weather_bronze"]),
    }


def spine(entity_rows: DataFrame, contract: Contract) -> DataFrame:
    """Flights as lookup events: what is known of each flight before it departs.

    In: bronze flights. Out: flight_id, sched_dep_ts, prediction_ts (timestamp,
    ``prediction_lead_minutes`` before scheduled departure), origin, dest, carrier
    (strings), sched_hour_local, day_of_week (1 = Sunday), distance (double), and
    arr_delay (double minutes, the label; null for cancelled or diverted flights).
    """
    lead_minutes = int(contract.parameters["prediction_lead_minutes"])
    return entity_rows.select(
        "flight_id",
        "sched_dep_ts",
        F.timestamp_seconds(F.unix_timestamp("sched_dep_ts") - lead_minutes * 60).alias(
            "prediction_ts"
        ),
        "origin",
        "dest",
        "carrier",
        F.col("hour").cast("double").alias("sched_hour_local"),
        F.dayofweek(F.make_date("year", "month", "day")).cast("double").alias("day_of_week"),
        F.col("distance").cast("double").alias("distance"),
        F.col(contract.label).cast("double").alias(contract.label),
    )


def airport_hourly_features(flights: DataFrame, windows_hours: list[int]) -> DataFrame:
    """Rolling departure aggregates per origin and hour.

    In: bronze flights (origin, sched_dep_ts timestamp, dep_delay double minutes).
    Out: one row per origin and UTC hour from the first to one past the last
    departure hour: origin, feature_ts, and per window N hours
    ``departures_{N}h`` (double, count of flights that actually departed in
    ``[feature_ts - N h, feature_ts)``) and ``dep_delay_mean_{N}h`` (double, their
    mean departure delay in minutes, null when none departed).
    """
    departed = flights.where(F.col("dep_delay").isNotNull()).withColumn(
        "hour_ts",
        F.date_trunc(
            "hour",
            F.timestamp_seconds(F.unix_timestamp("sched_dep_ts") + F.col("dep_delay") * 60),
        ),
    )
    per_hour = departed.groupBy("origin", "hour_ts").agg(
        F.count("*").alias("n"), F.sum("dep_delay").alias("delay_sum")
    )
    bounds = per_hour.groupBy("origin").agg(
        F.min("hour_ts").alias("first"), F.max("hour_ts").alias("last")
    )
    grid = bounds.select(
        "origin",
        F.explode(
            F.sequence(
                "first", F.col("last") + F.expr("INTERVAL 1 HOUR"), F.expr("INTERVAL 1 HOUR")
            )
        ).alias("feature_ts"),
    )
    hourly = grid.join(
        per_hour.withColumnRenamed("hour_ts", "feature_ts"), ["origin", "feature_ts"], "left"
    ).fillna(0, ["n", "delay_sum"])
    ordered = Window.partitionBy("origin").orderBy("feature_ts")
    columns = []
    for hours in windows_hours:
        past = ordered.rowsBetween(-hours, -1)
        count = F.sum("n").over(past)
        columns += [
            F.coalesce(count, F.lit(0)).cast("double").alias(f"departures_{hours}h"),
            F.when(count > 0, F.sum("delay_sum").over(past) / count)
            .cast("double")
            .alias(f"dep_delay_mean_{hours}h"),
        ]
    return hourly.select("origin", "feature_ts", *columns)


def weather_hourly_features(weather: DataFrame) -> DataFrame:
    """Weather per origin and hour: origin, feature_ts (UTC), and WEATHER_COLUMNS as double.

    In: bronze weather, one row per (origin, obs_ts) (its key, checked on every write).
    """
    return weather.select(
        "origin",
        F.col("obs_ts").alias("feature_ts"),
        *[F.col(c).cast("double").alias(c) for c in WEATHER_COLUMNS],
    )
