"""Input data checks: what each step expects of the tables it reads.

Every table a step reads has declared expectations (:data:`EXPECTATIONS`): columns
that must exist with a kind of type (``string``, ``numeric``, ``timestamp``),
columns that must not be null (keys), value ranges (nulls pass a range check;
declare the column in ``not_null`` to forbid them) and the table's keys, unique
per row. :func:`check_inputs` runs at the start of a step and checks all its input
tables, one Spark aggregation per table plus one for the keys. A failure raises
:class:`DataCheckError` with one line per table naming the table, the column or
key, the rule and the number of failing rows. Writes check the keys too
(:func:`check_unique`, called by :class:`.runtime.tables.Tables`).

The checks are plain Spark aggregations rather than pandera: ``pandera.pyspark``
runs on PySpark 4.1 but starts one Spark job per check and reports which checks
failed without the count of failing rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

if TYPE_CHECKING:  # runtime.tables imports this module
    from .runtime.context import Context

KINDS = {
    "string": (T.StringType,),
    "numeric": (T.NumericType,),
    "timestamp": (T.TimestampType, T.TimestampNTZType),
}


class DataCheckError(ValueError):
    """An input table breaks its expectations; the message names table, column and row count."""


@dataclass(frozen=True)
class Expectation:
    """What one table must satisfy.

    columns: column name -> kind (``string``, ``numeric`` or ``timestamp``).
    not_null: columns without nulls (keys and columns every row needs).
    ranges: column -> (low, high), inclusive; None leaves that side open.
    keys: the columns that identify a row; no two rows may share their values.
    """

    columns: dict[str, str]
    not_null: tuple[str, ...] = ()
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    keys: tuple[str, ...] = ()


_DELAY_RANGE = (-1440.0, 1440.0)  # minutes; a flight is never a day early or late in the source
EXPECTATIONS: dict[str, Expectation] = {
    "flights_bronze": Expectation(
        columns={
            "flight_id": "string",
            "sched_dep_ts": "timestamp",
            "origin": "string",
            "dest": "string",
            "carrier": "string",
            "distance": "numeric",
            "dep_delay": "numeric",
            "arr_delay": "numeric",
        },
        not_null=("flight_id", "sched_dep_ts", "origin", "dest", "carrier"),
        ranges={"distance": (0.0, None), "dep_delay": _DELAY_RANGE, "arr_delay": _DELAY_RANGE},
        keys=("flight_id",),
    ),
    "weather_bronze": Expectation(
        columns={
            "origin": "string",
            "obs_ts": "timestamp",
            "temp": "numeric",
            "humid": "numeric",
            "precip": "numeric",
            "wind_speed": "numeric",
            "visib": "numeric",
        },
        not_null=("origin", "obs_ts"),
        keys=("origin", "obs_ts"),
        ranges={
            "temp": (-80.0, 140.0),  # °F
            "humid": (0.0, 100.0),  # %
            "precip": (0.0, None),  # inches
            "wind_speed": (0.0, None),  # mph; the source has one 1,048 mph reading, kept
            "visib": (0.0, None),  # miles
        },
    ),
    "airport_features": Expectation(
        columns={"origin": "string", "feature_ts": "timestamp"},
        not_null=("origin", "feature_ts"),
        keys=("origin", "feature_ts"),
    ),
    "weather_features": Expectation(
        columns={"origin": "string", "feature_ts": "timestamp"},
        not_null=("origin", "feature_ts"),
        keys=("origin", "feature_ts"),
    ),
    # The prepared model input (include_feature_store=false): one row per flight.
    "model_input": Expectation(
        columns={
            "flight_id": "string",
            "sched_dep_ts": "timestamp",
            "prediction_ts": "timestamp",
            "origin": "string",
            "dest": "string",
            "carrier": "string",
            "distance": "numeric",
            "arr_delay": "numeric",
        },
        not_null=("flight_id", "sched_dep_ts", "prediction_ts", "origin", "dest", "carrier"),
        ranges={"distance": (0.0, None), "arr_delay": _DELAY_RANGE},
        keys=("flight_id",),
    ),
    "training_set": Expectation(
        columns={
            "flight_id": "string",
            "sched_dep_ts": "timestamp",
            "arr_delay": "numeric",
            "split": "string",
        },
        not_null=("flight_id", "sched_dep_ts", "arr_delay", "split"),
        ranges={"arr_delay": _DELAY_RANGE},
        keys=("flight_id",),
    ),
    "predictions": Expectation(
        columns={
            "flight_id": "string",
            "sched_dep_ts": "timestamp",
            "prediction": "numeric",
            "model_version": "string",
        },
        not_null=("flight_id", "sched_dep_ts", "prediction", "model_version"),
        keys=("flight_id",),
    ),
}

# Tables (keys of ``tables`` in conf/config.yml) each step reads, checked before it runs.
# MODEL_INPUT stands for the tables the model input is built from: see step_inputs.
MODEL_INPUT = "<model input>"
STEP_INPUTS: dict[str, tuple[str, ...]] = {
    "features": ("flights_bronze", "weather_bronze"),
    "train": (MODEL_INPUT,),
    "batch_inference": (MODEL_INPUT,),
}


WRITTEN_BY = {
    "flights_bronze": "the ingest step",
    "weather_bronze": "the ingest step",
    "airport_features": "the features step",
    "weather_features": "the features step",
    "model_input": "the features step",
    "training_set": "the train step",
    "predictions": "the batch-inference step",
}


def table_keys(table_key: str) -> tuple[str, ...]:
    """The key columns of the table configured under ``tables.<table_key>`` (() if none)."""
    expectation = EXPECTATIONS.get(table_key)
    return expectation.keys if expectation else ()


def step_inputs(step: str) -> tuple[str, ...]:
    """Table keys ``step`` reads: :data:`STEP_INPUTS`, with the model input resolved to the
    tables :func:`..features.training_set.build_model_input` reads in this project."""
    from .features.training_set import MODEL_INPUT_TABLES  # imports the runtime, so late

    inputs: list[str] = []
    for key in STEP_INPUTS.get(step, ()):
        inputs += MODEL_INPUT_TABLES if key == MODEL_INPUT else (key,)
    return tuple(inputs)


def duplicate_keys(df: DataFrame, keys: Sequence[str]) -> tuple[int, int, dict | None]:
    """(key values held by more than one row, rows holding them, one such key as a dict).

    ``(0, 0, None)`` when every row of ``df`` has its own ``keys`` values. Rows with a
    null in a key column are left to the not-null check. One Spark job.
    """
    complete = df.where(" AND ".join(f"`{k}` IS NOT NULL" for k in keys))
    shared = complete.groupBy(*keys).count().where("count > 1")
    row = shared.agg(
        F.count("*").alias("keys"),
        F.sum("count").alias("rows"),
        F.first(F.struct(*keys)).alias("example"),
    ).first()
    if not row["keys"]:
        return 0, 0, None
    return int(row["keys"]), int(row["rows"]), row["example"].asDict()


def _duplicate_message(keys: Sequence[str], shared: int, rows: int, example: dict) -> str:
    sample = ", ".join(f"{k}={v}" for k, v in example.items())
    plural = "value is" if shared == 1 else "values are"
    return f"key {', '.join(keys)}: {shared:,} {plural} shared by {rows:,} rows (e.g. {sample})"


def check_unique(df: DataFrame, table: str, keys: Sequence[str]) -> None:
    """Raise DataCheckError when two rows of ``df``, to be written to ``table``, share ``keys``.

    The message names the table, the key and the counts, e.g. ``table local.s.flights_bronze:
    key flight_id: 1 value is shared by 2 rows (e.g. flight_id=UA-1-EWR-20130101T1000)``.
    No keys: nothing to check.
    """
    if not keys:
        return
    shared, rows, example = duplicate_keys(df, keys)
    if shared:
        raise DataCheckError(f"table {table}: {_duplicate_message(keys, shared, rows, example)}")


def _range_rule(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"outside [{low:g}, {high:g}]"
    return f"below {low:g}" if low is not None else f"above {high:g}"


def failures(df: DataFrame, expectation: Expectation) -> list[str]:
    """Broken expectations of ``df``, as ``column: rule (n rows)`` strings; empty when clean.

    Schema problems (missing column, wrong kind of type) are reported without
    running Spark; the null and range counts come from one aggregation over ``df``,
    shared keys (``key <cols>: n values are shared by m rows``) from one more.
    """
    fields = {f.name: f.dataType for f in df.schema.fields}
    problems = []
    for column, kind in expectation.columns.items():
        if column not in fields:
            problems.append(f"column {column}: missing (expected {kind})")
        elif not isinstance(fields[column], KINDS[kind]):
            problems.append(
                f"column {column}: type {fields[column].simpleString()}, expected {kind}"
            )
    if problems:
        return problems
    counts, rules = [], []
    for column in expectation.not_null:
        counts.append(F.count_if(F.col(column).isNull()))
        rules.append((column, "null"))
    for column, (low, high) in expectation.ranges.items():
        value = F.col(column).cast("double")
        bad = F.lit(False)
        if low is not None:
            bad = bad | (value < low)
        if high is not None:
            bad = bad | (value > high)
        counts.append(F.count_if(F.coalesce(bad, F.lit(False))))
        rules.append((column, _range_rule(low, high)))
    found = []
    if counts:
        row = df.agg(*[c.alias(f"c{i}") for i, c in enumerate(counts)]).first()
        found = [
            f"column {column}: {row[i]:,} row{'' if row[i] == 1 else 's'} {rule}"
            for i, (column, rule) in enumerate(rules)
            if row[i]
        ]
    if expectation.keys:
        shared, rows, example = duplicate_keys(df, expectation.keys)
        if shared:
            found.append(_duplicate_message(expectation.keys, shared, rows, example))
    return found


def check_frame(df: DataFrame, table: str, expectation: Expectation) -> None:
    """Raise DataCheckError when ``df`` (read from ``table``) breaks ``expectation``.

    The one-line message reads e.g.
    ``input table local.s.flights_bronze: column distance: 3 rows below 0``.
    """
    problems = failures(df, expectation)
    if problems:
        raise DataCheckError(f"input table {table}: " + "; ".join(problems))


def check_inputs(ctx: Context, step: str) -> None:
    """Check every input table of ``step`` (see :func:`step_inputs`) before it runs.

    Raises MissingTableError when an input table does not exist, DataCheckError
    when one breaks its expectations. Steps without declared inputs pass.
    """
    for key in step_inputs(step):
        name = ctx.settings.table(key)
        check_frame(ctx.tables.read(name, WRITTEN_BY[key]), name, EXPECTATIONS[key])
