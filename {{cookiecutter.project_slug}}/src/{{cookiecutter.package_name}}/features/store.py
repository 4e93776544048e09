"""Feature tables with declared keys, and the lookup that builds model inputs from them.

Each feature table declares its primary keys (the entity) and a timestamp key (the
time from which a row's values are known) in the data contract
(``contract.feature_tables``).
The declaration is kept with the table:

- locally, as Delta table properties ``feature.primary_keys`` and
  ``feature.timestamp_key``;
- on Databricks, additionally as a Unity Catalog primary key constraint with the
  timestamp key marked ``TIMESERIES``, which makes the Delta table a feature table
  that Databricks Feature Engineering can look up.

The lookup is chosen by the setting ``features.lookup``, not by code:
``spark`` runs the point-in-time join of :mod:`.point_in_time`;
``databricks_feature_store`` asks ``databricks-feature-engineering`` for a training
set (``FeatureLookup`` per table, ``create_training_set``). That package exists only
on Databricks (or with the project's ``databricks`` extra), so it is imported there only.
"""

from __future__ import annotations

from datetime import timedelta

from pyspark.sql import DataFrame

from ..contract import FeatureTable
from .feature_tables import merge_feature_tables
from .point_in_time import lookup_feature_tables

PRIMARY_KEYS_PROPERTY = "feature.primary_keys"
TIMESTAMP_KEY_PROPERTY = "feature.timestamp_key"


def key_statements(spec: FeatureTable, sql_name: str, runtime: str) -> list[str]:
    """SQL that declares the keys of ``spec`` on the table ``sql_name`` (a quoted SQL name).

    Always sets the table properties; on ``runtime`` ``databricks`` it also makes the
    key columns NOT NULL and adds the Unity Catalog primary key constraint
    ``<table>_pk`` with the timestamp key marked TIMESERIES. Returns the statements in order.
    """
    statements = []
    if runtime == "databricks":
        short = sql_name.rsplit(".", 1)[-1].strip("`")
        statements += [
            f"ALTER TABLE {sql_name} ALTER COLUMN `{k}` SET NOT NULL" for k in spec.key_columns
        ]
        pk = ", ".join(
            [*(f"`{k}`" for k in spec.primary_keys), f"`{spec.timestamp_key}` TIMESERIES"]
        )
        statements.append(f"ALTER TABLE {sql_name} ADD CONSTRAINT `{short}_pk` PRIMARY KEY ({pk})")
    statements.append(
        f"ALTER TABLE {sql_name} SET TBLPROPERTIES ("
        f"'{PRIMARY_KEYS_PROPERTY}' = '{','.join(spec.primary_keys)}', "
        f"'{TIMESTAMP_KEY_PROPERTY}' = '{spec.timestamp_key}')"
    )
    return statements


def declared_keys(ctx, table_key: str) -> tuple[list[str], str] | None:
    """(primary keys, timestamp key) recorded on the table, or None when none are recorded.

    Raises MissingTableError when the table does not exist.
    """
    name = ctx.settings.table(table_key)
    ctx.tables.require(name, "the features step")
    return _recorded_keys(ctx, name)


def _recorded_keys(ctx, name: str) -> tuple[list[str], str] | None:
    """:func:`declared_keys` of the existing table ``name`` (its full name)."""
    rows = ctx.spark.sql(f"SHOW TBLPROPERTIES {ctx.tables.sql_name(name)}").collect()
    props = {row["key"]: row["value"] for row in rows}
    if PRIMARY_KEYS_PROPERTY not in props:
        return None
    return props[PRIMARY_KEYS_PROPERTY].split(","), props[TIMESTAMP_KEY_PROPERTY]


def write_feature_tables(ctx, frames: dict[str, DataFrame]) -> dict[str, int]:
    """MERGE each frame of ``frames`` ({table key: rows}) into its feature table and
    declare the table's keys (once, when none are recorded yet).

    Every frame is checked (:func:`.feature_tables.check_feature_frame`) before the
    first is written, so a bad frame leaves every feature table as it was. Returns
    {full table name: row count}. Raises ValueError naming the table and column when a
    key column or a declared feature is missing, or a key column holds nulls.
    """

    def declare_keys(spec: FeatureTable, name: str) -> None:
        if _recorded_keys(ctx, name) is None:
            for statement in key_statements(spec, ctx.tables.sql_name(name), ctx.settings.runtime):
                ctx.spark.sql(statement)

    return merge_feature_tables(ctx, frames, declare_keys)


def _feature_engineering():
    try:
        from databricks import feature_engineering
    except ImportError as err:
        raise ImportError(
            "features.lookup: databricks_feature_store needs the package "
            "databricks-feature-engineering (install the project's `databricks` extra, "
            "or set features.lookup: spark)"
        ) from err
    return feature_engineering


def one_row_per_key(settings) -> bool:
    """Whether the lookup ``features.lookup`` of ``settings`` returns one row per value of
    the contract's entity keys, whatever spine it is given.

    True for ``spark``: the point-in-time join keeps one row per key
    (:func:`.point_in_time.point_in_time_lookup`), so a unique spine is a unique output.
    False for ``databricks_feature_store``: the training set is
    databricks-feature-engineering's join, whose rows this project does not control, so
    its output is checked as well.
    """
    return lookup_of(settings) == "spark"


def lookup_of(settings) -> str:
    """``features.lookup`` of ``settings`` (``spark`` when unset): how feature values are
    looked up, :func:`lookup_features`."""
    return settings.features.get("lookup", "spark")


def lookup_features(ctx, spine: DataFrame) -> DataFrame:
    """The spine with every feature table's values as of each row's lookup timestamp.

    In: a spine from the example module's :func:`.definitions.spine` (entity keys,
    ``contract.lookup_timestamp``, the feature tables' primary keys, ..., the label).
    Out: the spine's columns plus the feature tables' value columns, in contract
    order (null where no row was known within ``features.lookup_tolerance_hours``).
    ``features.lookup`` chooses how: ``spark`` (point-in-time join) or
    ``databricks_feature_store`` (FeatureLookup + create_training_set, label from the
    contract). Raises MissingTableError (spark) when a feature table is missing,
    ImportError when databricks-feature-engineering is not installed, ValueError for an
    unknown lookup.
    """
    settings = ctx.settings
    contract = settings.contract
    lookup = lookup_of(settings)
    tolerance = timedelta(hours=int(settings.features["lookup_tolerance_hours"]))
    if lookup == "spark":
        tables = [
            (spec, ctx.tables.read(settings.table(key), "the features step"))
            for key, spec in contract.feature_tables.items()
        ]
        return lookup_feature_tables(spine, tables, contract, tolerance)
    if lookup != "databricks_feature_store":
        raise ValueError(f"features.lookup: {lookup!r} is not spark or databricks_feature_store")
    fe = _feature_engineering()
    lookups = [
        fe.FeatureLookup(
            table_name=settings.table(key),
            lookup_key=list(spec.primary_keys),
            timestamp_lookup_key=contract.lookup_timestamp,
            feature_names=list(spec.features),
            lookback_window=tolerance,
        )
        for key, spec in contract.feature_tables.items()
    ]
    training_set = fe.FeatureEngineeringClient().create_training_set(
        df=spine,
        feature_lookups=lookups,
        label=contract.label,
        exclude_columns=[],
    )
    frame = training_set.load_df()
    # The Spark join keeps the spine's column order; so does this path.
    value_columns = [c for spec in contract.feature_tables.values() for c in spec.features]
    return frame.select(*spine.columns, *value_columns)
