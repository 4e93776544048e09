"""Unique keys: the check of a table's key columns that writes and input checks share.

:func:`check_unique` refuses a batch to be written with two rows sharing its keys
(:class:`.runtime.tables.Tables` calls it before a keyed write); the input checks of the
tabular steps count shared keys in the same query as their other rules
(:func:`counts_and_shared_keys`). Failures raise :class:`DataCheckError`, one line naming
the table, the key and the counts.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


class DataCheckError(ValueError):
    """A table breaks its expectations: an input table a rule, or a batch to be written its
    keys. The message is one line naming the table, the column or key and the row count."""


def counts_and_shared_keys(
    df: DataFrame, counts: list, keys: Sequence[str]
) -> tuple[list[int], tuple[int, int, dict | None]]:
    """(each of ``counts`` summed over every row of ``df``, :func:`duplicate_keys` of ``keys``)
    from one Spark query, one pass over the rows: the counts are taken per key value, then
    summed as the shared keys are counted. ``counts``: Spark aggregate columns that add up
    over groups (``count_if``, ``count``). No keys: one global aggregation. Key columns
    of any name work, ``_check_rows`` included."""
    if not keys:
        row = df.agg(*[c.alias(f"c{i}") for i, c in enumerate(counts)]).first()
        return [row[i] for i in range(len(counts))], (0, 0, None)
    # The per-key-value columns' names: longer until no key starts with them, in any case
    # (Spark matches column names ignoring case).
    prefix = "_check_"
    while any(key.lower().startswith(prefix) for key in keys):
        prefix += "_"
    groups = df.groupBy(*keys).agg(
        F.count("*").alias(f"{prefix}rows"),
        *[c.alias(f"{prefix}c{i}") for i, c in enumerate(counts)],
    )
    complete = F.lit(True)
    for key in keys:  # rows with a null key are left to the not-null rule
        complete = complete & F.col(f"`{key}`").isNotNull()
    shared = complete & (F.col(f"{prefix}rows") > 1)
    row = groups.agg(
        *[F.sum(f"{prefix}c{i}").alias(f"c{i}") for i in range(len(counts))],
        F.count_if(shared).alias("keys"),
        F.sum(F.when(shared, F.col(f"{prefix}rows"))).alias("rows"),
        F.first(F.when(shared, F.struct(*keys)), ignorenulls=True).alias("example"),
    ).first()
    totals = [row[i] for i in range(len(counts))]  # null when df has no rows
    if not row["keys"]:
        return totals, (0, 0, None)
    return totals, (int(row["keys"]), int(row["rows"]), row["example"].asDict())


def duplicate_keys(df: DataFrame, keys: Sequence[str]) -> tuple[int, int, dict | None]:
    """(key values held by more than one row, rows holding them, one such key as a dict).

    ``(0, 0, None)`` when every row of ``df`` has its own ``keys`` values. Rows with a
    null in a key column are left to the not-null check. One Spark query
    (:func:`counts_and_shared_keys` with no counts).
    """
    return counts_and_shared_keys(df, [], keys)[1]


def duplicate_message(keys: Sequence[str], shared: int, rows: int, example: dict) -> str:
    """The words for ``shared`` key values held by ``rows`` rows, with one such key's
    values ``example``: ``key order_id: 1 value is shared by 2 rows (e.g. order_id=A-17)``."""
    sample = ", ".join(f"{k}={v}" for k, v in example.items())
    plural = "value is" if shared == 1 else "values are"
    return f"key {', '.join(keys)}: {shared:,} {plural} shared by {rows:,} rows (e.g. {sample})"


def check_unique(df: DataFrame, table: str, keys: Sequence[str]) -> None:
    """Raise DataCheckError when two rows of ``df``, to be written to ``table``, share ``keys``.

    The message names the table, the key and the counts, e.g. ``table local.s.orders_bronze:
    key order_id: 1 value is shared by 2 rows (e.g. order_id=A-17)``.
    No keys: nothing to check.
    """
    if not keys:
        return
    shared, rows, example = duplicate_keys(df, keys)
    if shared:
        raise DataCheckError(f"table {table}: {duplicate_message(keys, shared, rows, example)}")
