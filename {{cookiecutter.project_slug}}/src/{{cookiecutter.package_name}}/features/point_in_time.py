"""Point-in-time (as-of) lookup of feature rows for a spine of events."""

from __future__ import annotations

from datetime import timedelta

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from ..contract import Contract, FeatureTable


def point_in_time_lookup(
    spine: DataFrame,
    features: DataFrame,
    *,
    spine_id: str | list[str],
    spine_ts: str,
    entity_keys: list[str],
    feature_ts: str,
    tolerance: timedelta,
) -> DataFrame:
    """For each spine row, attach the latest feature row known at ``spine_ts``.

    In: ``spine`` with unique ``spine_id`` column(s), the ``entity_keys`` and a
    timestamp ``spine_ts``; ``features`` keyed by ``entity_keys`` and the timestamp
    ``feature_ts`` (the time from which the row's values are known).
    Out: the spine's rows, with the feature columns of the newest feature row
    whose ``feature_ts`` lies in ``(spine_ts - tolerance, spine_ts]``, or nulls when
    there is none. No feature row stamped after ``spine_ts`` is ever joined. Out has one
    row per ``spine_id`` value: of spine rows that share one, a single row is kept (the
    one that joined the newest feature row; any of them on a tie) and the others are
    dropped without an error, so callers check the ids on the spine
    (:func:`.spine.check_unique_events`).

    The join is bucketed by ``tolerance`` so that it stays an equi-join on the
    entity keys plus a time bucket, not a cross product per entity.
    """
    seconds = int(tolerance.total_seconds())
    if seconds <= 0:
        raise ValueError("tolerance: must be a positive duration")
    value_columns = [c for c in features.columns if c not in (*entity_keys, feature_ts)]
    clash = [c for c in value_columns if c in spine.columns]
    if clash:
        raise ValueError(f"features: columns {clash} already exist in the spine")
    bucket = F.floor(F.unix_timestamp(spine_ts) / seconds)
    left = spine.withColumn("_pit_bucket", F.explode(F.array(bucket, bucket - 1)))
    right = features.select(
        *[F.col(k).alias(f"_pit_key_{k}") for k in entity_keys],
        F.col(feature_ts).alias("_pit_ts"),
        F.floor(F.unix_timestamp(feature_ts) / seconds).alias("_pit_fbucket"),
        *value_columns,
    )
    condition = [left[k] == right[f"_pit_key_{k}"] for k in entity_keys] + [
        left["_pit_bucket"] == right["_pit_fbucket"],
        right["_pit_ts"] <= left[spine_ts],
        right["_pit_ts"] > left[spine_ts] - F.expr(f"INTERVAL {seconds} SECONDS"),
    ]
    joined = left.join(right, condition, "left")
    ids = [spine_id] if isinstance(spine_id, str) else list(spine_id)
    newest = Window.partitionBy(*ids).orderBy(F.col("_pit_ts").desc_nulls_last())
    return (
        joined.withColumn("_pit_rank", F.row_number().over(newest))
        .where(F.col("_pit_rank") == 1)
        .drop(
            "_pit_rank",
            "_pit_bucket",
            "_pit_fbucket",
            "_pit_ts",
            *[f"_pit_key_{k}" for k in entity_keys],
        )
    )


def lookup_feature_tables(
    spine: DataFrame,
    tables: list[tuple[FeatureTable, DataFrame]],
    contract: Contract,
    tolerance: timedelta,
) -> DataFrame:
    """The spine with the value columns of every feature table as of ``lookup_timestamp``.

    In: a spine from the example module (the contract's entity keys, lookup timestamp
    and each table's primary keys), and per feature table its declaration and rows.
    Out: the spine's columns plus each table's ``features`` (null where no row was
    known within ``tolerance``), in contract order.
    """
    out = spine
    for table, frame in tables:
        out = point_in_time_lookup(
            out,
            frame.select(*table.primary_keys, table.timestamp_key, *table.features),
            spine_id=contract.entity_keys,
            spine_ts=contract.lookup_timestamp,
            entity_keys=list(table.primary_keys),
            feature_ts=table.timestamp_key,
            tolerance=tolerance,
        )
    return out
