"""Where model inputs come from: the one place that knows how features are stored.

{%- if cookiecutter.include_feature_store %}

Feature-store variant: the features step writes feature tables with declared keys
(:mod:`.store`); model inputs are spine rows (the contract's events) looked up
against them at the lookup timestamp, by Spark or by Databricks Feature Engineering
as ``features.lookup`` says.
{%- else %}

Prepared-table variant: the features step computes the feature tables, joins every
spine row (the contract's events) to them at its lookup timestamp and stores the
result as the ``model_input`` table (keyed by the contract's entity keys); training
and scoring read that table by window.
{%- endif %}
"""

from __future__ import annotations

from datetime import datetime{% if not cookiecutter.include_feature_store %}, timedelta{% endif %}

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

{% if not cookiecutter.include_feature_store -%}
from ..checks import table_keys
{% endif -%}
from ..config import Window, instant_sql
from ..contract import Contract
from ..runtime.context import Context
from . import definitions
{%- if cookiecutter.include_feature_store %}
from .store import lookup_features, write_feature_table
{%- else %}
from .point_in_time import lookup_feature_tables
{%- endif %}


def model_input_tables(contract: Contract) -> tuple[str, ...]:
    """Tables build_model_input reads (keys of ``tables``), checked before train and scoring."""
{%- if cookiecutter.include_feature_store %}
    return (contract.entity_table, *contract.feature_tables)
{%- else %}
    return ("model_input",)
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


def known_rows(ctx: Context, table_key: str) -> DataFrame:
    """Rows of bronze table ``table_key`` stamped before the as-of instant (``settings.as_of``).

    The stamp is the table's ``timestamp`` in the contract.
    """
    frame = ctx.tables.read(ctx.settings.table(table_key), "the ingest step")
    stamp = ctx.settings.contract.bronze(table_key).timestamp
    return frame.where(before(stamp, ctx.settings.as_of))


def _feature_frames(ctx: Context) -> dict[str, DataFrame]:
    """The contract's feature tables from bronze rows before the as-of instant.

    Computed by the example module (:func:`.definitions.feature_frames`). Feature rows
    stamped at or after the as-of instant are left out: as of then they are not known yet.
    """
    contract = ctx.settings.contract
    bronze = {key: known_rows(ctx, key) for key in contract.bronze_tables}
    frames = definitions.feature_frames(bronze, contract)
    return {
        key: frames[key].where(before(spec.timestamp_key, ctx.settings.as_of))
        for key, spec in contract.feature_tables.items()
    }
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


def model_input_of(ctx: Context, rows: DataFrame) -> DataFrame:
    """The given rows of the entity table with their features at the lookup timestamp.

    In: rows of the contract's entity table (any subset, e.g. a streaming micro-batch).
    Columns out: the spine's (:func:`.definitions.spine`) plus the feature tables'
    value columns. Raises MissingTableError when the feature tables do not exist.
    """
    return lookup_features(ctx, definitions.spine(rows, ctx.settings.contract))


def build_model_input(ctx: Context, window: Window) -> DataFrame:
    """Events whose event timestamp lies in ``window``, with their features at lookup time.

    Columns: see :func:`model_input_of`. Raises MissingTableError when the bronze or
    feature tables do not exist.
    """
    contract = ctx.settings.contract
    rows = ctx.tables.read(ctx.settings.table(contract.entity_table), "the ingest step")
    return model_input_of(ctx, rows.where(window_filter(contract.event_timestamp, window)))
{%- else %}


def write_features(ctx: Context) -> dict[str, int]:
    """Compute the feature tables, MERGE them, and prepare ``model_input`` from them.

    ``model_input`` holds every entity-table row stamped before ``settings.as_of`` once
    (key: the contract's entity keys) with its features at prediction time (columns: see
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
        # One row per key by construction; the upsert still ranks any duplicate
        # deterministically and the input checks refuse one.
        tables.upsert(frame, name, table_keys(settings.contract, key))
        out[name] = tables.count(name)
    prepared = model_input_of(ctx, known_rows(ctx, settings.contract.entity_table))
    name = settings.table("model_input")
    tables.overwrite(prepared, name, table_keys(settings.contract, "model_input"))
    out[name] = tables.count(name)
    return out


def model_input_of(ctx: Context, rows: DataFrame) -> DataFrame:
    """The given rows of the entity table with their features at the lookup timestamp.

    In: rows of the contract's entity table (any subset, e.g. a streaming micro-batch),
    looked up in the feature tables as the features step prepares ``model_input``,
    so rows that arrived after the features step ran are not missed.
    Columns out: the spine's (:func:`.definitions.spine`) plus the feature tables'
    value columns. Raises MissingTableError when the feature tables do not exist.
    """
    settings, tables = ctx.settings, ctx.tables
    contract = settings.contract
    return lookup_feature_tables(
        definitions.spine(rows, contract),
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
{%- endif %}
