"""Writing the feature tables, in both ways model inputs are made: every frame checked
against the data contract (``contract.feature_tables``) before the first MERGE.

A frame that lacks a key column or a declared feature, or holds a null key, is refused
before any feature table is written, so a bad frame leaves every feature table as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame

from ..contract import Contract, FeatureTable
from ..runtime.tables import computed_once

if TYPE_CHECKING:
    from ..runtime.context import Context


def spec_for(contract: Contract, table_key: str) -> FeatureTable:
    """The declaration of the feature table ``tables.<table_key>`` in ``contract``.

    Raises KeyError naming the key when it is not a feature table of the contract.
    """
    if table_key not in contract.feature_tables:
        known = ", ".join(contract.feature_tables)
        raise KeyError(f"{table_key}: not a feature table (known: {known})")
    return contract.feature_tables[table_key]


def check_feature_frame(ctx: Context, table_key: str, frame: DataFrame) -> tuple[FeatureTable, str]:
    """Refuse ``frame`` for the feature table ``tables.<table_key>`` unless it has the
    spec's key columns (primary keys and timestamp key) without nulls and its features.

    Returns the table's declaration (:func:`spec_for`) and full name. Raises KeyError when
    ``table_key`` is not a feature table, ValueError naming the table and the column
    when a key column or a feature (``contract.feature_tables.<table_key>.features``)
    is missing, or the table and its key columns when one holds a null (one Spark job).
    """
    spec = spec_for(ctx.settings.contract, table_key)
    name = ctx.settings.table(table_key)
    for key in spec.key_columns:
        if key not in frame.columns:
            raise ValueError(f"{name}: key column {key} is missing")
    lacking = [column for column in spec.features if column not in frame.columns]
    if lacking:
        raise ValueError(
            f"{name}: feature column {', '.join(lacking)} "
            f"(contract.feature_tables.{table_key}.features) is missing"
        )
    null_keys = frame.where(" OR ".join(f"`{k}` IS NULL" for k in spec.key_columns))
    if null_keys.limit(1).count():
        raise ValueError(f"{name}: key columns {', '.join(spec.key_columns)} must not be null")
    return spec, name


def merge_feature_tables(
    ctx: Context,
    frames: dict[str, DataFrame],
    after_merge: Callable[[FeatureTable, str], None] | None = None,
) -> dict[str, int]:
    """MERGE each frame of ``frames`` ({table key: rows}) into its feature table on the
    table's key columns, after every frame has passed :func:`check_feature_frame`.

    ``after_merge(spec, name)``, when given, runs after each table's MERGE with the
    table's declaration and full name (the feature store declares the keys there).
    On classic Spark each frame is computed once, for its check and its MERGE
    (:func:`..runtime.tables.computed_once`).
    Returns {full table name: row count}, counted right after the table's MERGE (the
    ``after_merge`` statements change no row): on a table the MERGE created, read from
    its first commit without a Spark job (:meth:`..runtime.tables.Tables.count`). Raises
    the errors of :func:`check_feature_frame` before any table is written.
    """
    features = ctx.settings.contract.feature_tables
    out = {}
    with ExitStack() as stack:
        # Computed once for the check and the MERGE (classic Spark: computed_once).
        frames = {
            key: stack.enter_context(
                computed_once(frame, features[key].key_columns if key in features else ())
            )
            for key, frame in frames.items()
        }
        checked = {key: check_feature_frame(ctx, key, frame) for key, frame in frames.items()}
        for table_key, frame in frames.items():
            spec, name = checked[table_key]
            # One row per key by construction; the upsert still ranks any duplicate
            # deterministically.
            ctx.tables.upsert(frame, name, spec.key_columns)
            out[name] = ctx.tables.count(name)
            if after_merge is not None:
                after_merge(spec, name)
    return out
