"""Model inputs, feature-store variant: looked up in the feature tables when they are read.

The features step writes the feature tables with declared keys (:mod:`.store`); model
inputs are spine rows (the contract's events) looked up against them at the lookup
timestamp, by Spark or by Databricks Feature Engineering as ``features.lookup`` says.
A project without the feature store has the prepared-table variant of this module
instead (same functions).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame

from ..config import ConfigError, Window
from ..contract import Contract
from .spine import check_event_keys, checked_spine
from .store import lookup_features, one_row_per_key, write_feature_tables
from .training_set import known_feature_frames, known_spine, window_filter

if TYPE_CHECKING:
    from ..runtime.context import Context

FEATURE_LOOKUPS = ("spark", "databricks_feature_store")


def model_input_tables(contract: Contract) -> tuple[str, ...]:
    """Tables build_model_input reads (keys of ``tables``), checked before train and scoring."""
    return (contract.entity_table, *contract.feature_tables)


def checked_feature_settings(features: dict, runtime: str) -> dict:
    """The ``features`` section with ``lookup`` set (default ``spark``), checked at load.

    Raises ConfigError when ``lookup`` is not one of FEATURE_LOOKUPS, or is
    ``databricks_feature_store`` on a ``runtime`` other than databricks.
    """
    lookup = features.setdefault("lookup", "spark")
    if lookup not in FEATURE_LOOKUPS:
        raise ConfigError(
            f"features.lookup: {lookup!r} must be one of {', '.join(FEATURE_LOOKUPS)}"
        )
    if lookup == "databricks_feature_store" and runtime != "databricks":
        raise ConfigError(
            "features.lookup: databricks_feature_store needs runtime databricks (use spark locally)"
        )
    return features


def write_features(ctx: Context) -> dict[str, int]:
    """Compute both feature tables from bronze (rows before ``settings.as_of``) and MERGE
    them, keys declared.

    Returns {full table name: row count}. Raises, before any table is written:
    MissingTableError when a bronze table does not exist, ConfigError when the spine
    lacks a column the contract needs (:mod:`.spine`; train and scoring build the spine,
    so the contract is refused here first), ValueError naming the table and column when a
    feature frame lacks a key column or a declared feature or holds a null key.
    """
    known_spine(ctx)  # the schema only: a contract the spine cannot fill stops here
    return write_feature_tables(ctx, known_feature_frames(ctx))


def model_input_of(ctx: Context, rows: DataFrame) -> DataFrame:
    """The given rows of the entity table with their features at the lookup timestamp.

    In: rows of the contract's entity table (any subset, e.g. a streaming micro-batch).
    Columns out: the spine's (:func:`.definitions.spine`) plus the feature tables'
    value columns. Raises MissingTableError when the feature tables do not exist,
    ConfigError when the spine lacks a column the contract needs (:mod:`.spine`).
    """
    return lookup_features(ctx, checked_spine(rows, ctx.settings.contract))


def build_model_input(ctx: Context, window: Window) -> DataFrame:
    """Events whose event timestamp lies in ``window``, with their features at lookup time.

    Columns: see :func:`model_input_of`. Raises MissingTableError when the bronze or
    feature tables do not exist, ConfigError when the spine lacks a column the contract
    needs (:mod:`.spine`).
    """
    return model_input_of(ctx, _rows_in(ctx, window))


def check_input_keys(ctx: Context, rows: DataFrame, target: str) -> None:
    """:func:`.spine.check_event_keys` of ``rows`` for ``target``: the spine's keys, and
    the lookup's output's when it may hold more rows per key than the spine
    (:func:`.store.one_row_per_key`). Raises DataCheckError naming ``target``, the key and
    the counts; ConfigError when the spine lacks a column the contract needs; what the
    library's lookup raises when the output is checked.
    """
    lookup = None if one_row_per_key(ctx.settings) else partial(lookup_features, ctx)
    check_event_keys(rows, ctx.settings.contract, target, lookup)


def check_window_keys(ctx: Context, window: Window, target: str) -> None:
    """:func:`check_input_keys` of the rows :func:`build_model_input` builds for ``window``.

    Raises what :func:`check_input_keys` raises, and MissingTableError when the entity
    table does not exist.
    """
    check_input_keys(ctx, _rows_in(ctx, window), target)


def check_training_events(ctx: Context, window: Window, target: str) -> None:
    """Raise DataCheckError when two events of ``window`` (the spine of the entity table's
    rows there) share the contract's entity keys, naming ``target`` (the training set),
    the key and the counts: the Spark lookup keeps one row per key, so the training
    set's own key check, on the lookup's output, could not see them. On the spine alone,
    one pass over its key columns: a library's lookup output is what train writes, so
    that table's key check sees it. Raises MissingTableError when the entity table does
    not exist, ConfigError when the spine lacks a column the contract needs.
    """
    check_event_keys(_rows_in(ctx, window), ctx.settings.contract, target)


def _rows_in(ctx: Context, window: Window) -> DataFrame:
    """Rows of the entity table whose event timestamp lies in ``window``."""
    contract = ctx.settings.contract
    rows = ctx.tables.read(ctx.settings.table(contract.entity_table), "the ingest step")
    return rows.where(window_filter(contract.event_timestamp, window))
