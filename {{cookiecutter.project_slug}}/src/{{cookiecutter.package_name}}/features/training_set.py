"""Window conditions and the rows as of the as-of date, shared by the steps and the ways
model inputs are made.

How model inputs are made from the feature tables is in :mod:`.model_inputs`: looked up
in the feature tables with declared keys at read time (the feature-store variant), or
prepared once as the ``model_input`` table (the prepared-table variant); a project has
one of the two.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from ..config import ConfigError, Window, instant_sql
from . import definitions
from .spine import checked_spine

if TYPE_CHECKING:
    from ..runtime.context import Context


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


def known_feature_frames(ctx: Context) -> dict[str, DataFrame]:
    """The contract's feature tables from bronze rows before the as-of instant.

    Computed by the example module (:func:`.definitions.feature_frames`). Feature rows
    stamped at or after the as-of instant are left out: as of then they are not known yet.
    Raises ConfigError naming the tables when the module returns no frame for a feature
    table of the contract.
    """
    contract = ctx.settings.contract
    bronze = {key: known_rows(ctx, key) for key in contract.bronze_tables}
    frames = definitions.feature_frames(bronze, contract)
    missing = [key for key in contract.feature_tables if key not in frames]
    if missing:
        raise ConfigError(
            f"feature_frames of features/definitions.py returns no frame for "
            f"contract.feature_tables {', '.join(missing)}; it returns: {', '.join(frames)}"
        )
    return {
        key: frames[key].where(before(spec.timestamp_key, ctx.settings.as_of))
        for key, spec in contract.feature_tables.items()
    }


def known_spine(ctx: Context) -> DataFrame:
    """The spine (:func:`.spine.checked_spine`) of the entity table's rows before the
    as-of instant: one row per event to predict.

    Reads the entity table's schema only until the frame is used, so the features step
    calls it first to refuse a contract the spine cannot fill before it writes.
    Raises MissingTableError when the entity table does not exist, ConfigError naming
    each column the spine lacks and the contract field that needs it.
    """
    return checked_spine(known_rows(ctx, ctx.settings.contract.entity_table), ctx.settings.contract)
