"""Model inputs, prepared-table variant: computed once by the features step, read by window.

The features step computes the feature tables, joins every spine row (the contract's
events) to them at its lookup timestamp and stores the result as the ``model_input``
table (keyed by the contract's entity keys); training and scoring read that table by
window. A project with the feature store has the feature-store variant of this module
instead (same functions).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame

from ..checks import check_unique, table_keys
from ..config import Window
from ..contract import Contract
from .feature_tables import merge_feature_tables
from .point_in_time import lookup_feature_tables
from .spine import check_event_keys, check_unique_events, checked_spine
from .training_set import known_feature_frames, known_spine, window_filter

if TYPE_CHECKING:
    from ..runtime.context import Context


def model_input_tables(contract: Contract) -> tuple[str, ...]:
    """Tables build_model_input reads (keys of ``tables``), checked before train and scoring."""
    return ("model_input",)


def checked_feature_settings(features: dict, runtime: str) -> dict:
    """The ``features`` section as given: this variant has no setting of its own to check."""
    return features


def write_features(ctx: Context) -> dict[str, int]:
    """Compute the feature tables, MERGE them, and prepare ``model_input`` from them.

    ``model_input`` holds every entity-table row stamped before ``settings.as_of`` once
    (key: the contract's entity keys) with its features at prediction time (columns: see
    :func:`build_model_input`); it is recomputed and replaced in one commit on each
    run. The feature tables are written first: when the ``model_input`` write fails,
    they hold the new rows and ``model_input`` its previous version, and a rerun
    recomputes ``model_input`` from them (the MERGE of the same rows changes nothing).
    Returns {full table name: row count}.
    Raises, before any table is written: MissingTableError when a bronze table does not
    exist, ConfigError when the spine lacks a column the contract needs (:mod:`.spine`),
    DataCheckError naming ``model_input``, the key and the counts when two spine rows
    share the contract's entity keys (:func:`.spine.check_unique_events`: the lookup would
    keep one of them without an error), ValueError naming the table and column when a
    feature frame lacks a key column or a declared feature or holds a null key
    (:mod:`.feature_tables`).
    """
    settings, tables = ctx.settings, ctx.tables
    name = settings.table("model_input")
    # Checked before the first MERGE; looked up once the feature tables are written.
    spine = known_spine(ctx)
    check_unique_events(spine, settings.contract, name)
    out = merge_feature_tables(ctx, known_feature_frames(ctx))
    prepared = _looked_up(ctx, spine)
    tables.overwrite(prepared, name, table_keys(settings.contract, "model_input"))
    out[name] = tables.count(name)
    return out


def model_input_of(ctx: Context, rows: DataFrame) -> DataFrame:
    """The given rows of the entity table with their features at the lookup timestamp.

    In: rows of the contract's entity table (any subset, e.g. a streaming micro-batch),
    looked up in the feature tables as the features step prepares ``model_input``,
    so rows that arrived after the features step ran are not missed.
    Columns out: the spine's (:func:`.definitions.spine`) plus the feature tables'
    value columns. Raises MissingTableError when the feature tables do not exist,
    ConfigError when the spine lacks a column the contract needs (:mod:`.spine`).
    """
    return _looked_up(ctx, checked_spine(rows, ctx.settings.contract))


def _looked_up(ctx: Context, spine: DataFrame) -> DataFrame:
    """``spine`` (checked) with the feature tables' values at its lookup timestamp."""
    settings, tables = ctx.settings, ctx.tables
    contract = settings.contract
    return lookup_feature_tables(
        spine,
        [
            (spec, tables.read(settings.table(key), "the features step"))
            for key, spec in contract.feature_tables.items()
        ],
        contract,
        timedelta(hours=int(settings.features["lookup_tolerance_hours"])),
    )


def build_model_input(ctx: Context, window: Window) -> DataFrame:
    """Rows of the prepared ``model_input`` table whose event timestamp lies in ``window``.

    Columns: see :func:`model_input_of`.
    Raises MissingTableError when ``model_input`` does not exist (run the features step).
    """
    prepared = ctx.tables.read(ctx.settings.table("model_input"), "the features step")
    return prepared.where(window_filter(ctx.settings.contract.event_timestamp, window))


def check_input_keys(ctx: Context, rows: DataFrame, target: str) -> None:
    """:func:`.spine.check_event_keys` of ``rows`` for ``target``, on the spine alone: the
    lookup keeps one row per key (:func:`.point_in_time.point_in_time_lookup`). Raises
    DataCheckError naming ``target``, the key and the counts; ConfigError when the spine
    lacks a column the contract needs.
    """
    check_event_keys(rows, ctx.settings.contract, target)


def check_training_events(ctx: Context, window: Window, target: str) -> None:
    """Nothing to check here: train reads ``model_input`` by window, whose keys
    :func:`..checks.check_inputs` has checked in the whole table, and the features step
    refused a spine with two events of one key before writing it. (The feature-store
    variant checks the window's spine here.) Arguments as that variant's."""


def check_window_keys(ctx: Context, window: Window, target: str) -> None:
    """Raise DataCheckError when two rows of :func:`build_model_input` for ``window``
    share the predictions' keys, naming ``target``, the key and the counts.

    Reads the key columns of the prepared ``model_input`` table. Raises MissingTableError
    when it does not exist (run the features step).
    """
    keys = table_keys(ctx.settings.contract, "predictions")
    check_unique(build_model_input(ctx, window).select(*keys), target, keys)
