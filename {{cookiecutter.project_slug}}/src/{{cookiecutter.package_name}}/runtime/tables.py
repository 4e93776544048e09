"""Delta tables by their ``<catalog>.<schema>.<table>`` names, locally and on Databricks.

Locally a name maps to a folder ``<local_root>/warehouse/<catalog>/<schema>/<table>``;
on Databricks it is the Unity Catalog table of that name. Every write is atomic
(one Delta commit), so a failed step leaves the previous table version readable.
"""

from __future__ import annotations

from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import ArrayType, DataType, MapType, NullType, StructType

from ..config import Settings


class MissingTableError(LookupError):
    """An input table does not exist yet; the message names it and the step that writes it."""


def _void_columns(data_type: DataType, prefix: str = "") -> list[str]:
    """Paths of the fields of ``data_type`` whose type is NullType (``void``)."""
    if isinstance(data_type, NullType):
        return [prefix or "<value>"]
    if isinstance(data_type, StructType):
        return [
            path
            for field in data_type.fields
            for path in _void_columns(field.dataType, f"{prefix}.{field.name}".lstrip("."))
        ]
    if isinstance(data_type, ArrayType):
        return _void_columns(data_type.elementType, f"{prefix}[]")
    if isinstance(data_type, MapType):
        return _void_columns(data_type.keyType, f"{prefix}.key") + _void_columns(
            data_type.valueType, f"{prefix}.value"
        )
    return []


def refuse_void_columns(df: DataFrame, name: str) -> None:
    """Raise ValueError when a column of ``df`` (nested fields included) has type NullType.

    A ``void`` column (``F.lit(None)`` without a cast) carries no type, so Delta could
    neither store it nor evolve the schema of table ``name`` with it later.
    """
    void = _void_columns(df.schema)
    if void:
        raise ValueError(
            f"table {name}: column {', '.join(void)} has no type (void, e.g. F.lit(None)): "
            "cast it to its type before writing"
        )


class Tables:
    """Reads and writes the pipeline's Delta tables for one environment."""

    def __init__(self, spark: SparkSession, settings: Settings):
        self.spark = spark
        self.settings = settings

    def path(self, name: str) -> Path:
        """Local folder of table ``name`` (local runtime only)."""
        if self.settings.local_root is None:
            raise RuntimeError(f"{name}: tables have no local path on Databricks")
        return self.settings.local_root.joinpath("warehouse", *name.split("."))

    def exists(self, name: str) -> bool:
        """True when the Delta table ``name`` exists."""
        if self.settings.runtime == "local":
            return DeltaTable.isDeltaTable(self.spark, str(self.path(name)))
        return self.spark.catalog.tableExists(name)

    def delta(self, name: str) -> DeltaTable:
        """The DeltaTable handle of ``name``; raises MissingTableError when it does not exist."""
        self.require(name)
        if self.settings.runtime == "local":
            return DeltaTable.forPath(self.spark, str(self.path(name)))
        return DeltaTable.forName(self.spark, name)

    def require(self, name: str, written_by: str = "an earlier step") -> None:
        """Raise MissingTableError unless table ``name`` exists."""
        if not self.exists(name):
            raise MissingTableError(f"input table {name} does not exist: run {written_by} first")

    def read(self, name: str, written_by: str = "an earlier step") -> DataFrame:
        """The current version of table ``name``; raises MissingTableError when it is missing."""
        self.require(name, written_by)
        if self.settings.runtime == "local":
            return self.spark.read.format("delta").load(str(self.path(name)))
        return self.spark.read.table(name)

    def _writer(self, df: DataFrame, mode: str):
        return df.write.format("delta").mode(mode)

    def _save(self, writer, name: str) -> None:
        if self.settings.runtime == "local":
            writer.save(str(self.path(name)))
        else:
            writer.saveAsTable(name)

    def overwrite(self, df: DataFrame, name: str) -> None:
        """Replace the whole table (schema included) with ``df`` in one commit.

        Raises ValueError naming the column when ``df`` has a void (NullType) column.
        """
        refuse_void_columns(df, name)
        self._save(self._writer(df, "overwrite").option("overwriteSchema", "true"), name)

    def replace_where(self, df: DataFrame, name: str, predicate: str) -> None:
        """Replace the rows matching the SQL ``predicate`` with ``df`` in one commit.

        Every row of ``df`` must match the predicate (Delta checks it). A rerun with
        the same window replaces rather than appends. New columns are added.
        Raises ValueError naming the column when ``df`` has a void (NullType) column.
        """
        refuse_void_columns(df, name)
        if not self.exists(name):
            self._save(self._writer(df, "overwrite"), name)
            return
        writer = self._writer(df, "overwrite").option("replaceWhere", predicate)
        self._save(writer.option("mergeSchema", "true"), name)

    def upsert(self, df: DataFrame, name: str, keys: list[str]) -> None:
        """MERGE ``df`` into ``name`` on the ``keys`` columns: update matches, insert the rest.

        Creates the table on the first run. New columns of ``df`` evolve the table's
        schema (MERGE with schema evolution): they are added, never dropped; rows
        already in the table get null there. Rows of ``df`` must be unique on
        ``keys`` (Delta raises otherwise). Raises ValueError naming the column when
        ``df`` has a void (NullType) column: cast it to its type first.
        """
        refuse_void_columns(df, name)
        if not self.exists(name):
            self._save(self._writer(df, "overwrite"), name)
            return
        condition = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
        (
            self.delta(name)
            .alias("t")
            .merge(df.alias("s"), condition)
            .withSchemaEvolution()
            .whenMatchedUpdateAll()
            .whenNotMatchedInsertAll()
            .execute()
        )

    def insert_new(self, df: DataFrame, name: str, keys: list[str]) -> int:
        """Append the rows of ``df`` whose ``keys`` are not in ``name`` yet; return how many.

        One SQL ``MERGE INTO ... WHEN NOT MATCHED THEN INSERT *`` commit, which adds files
        and removes none, so a Structured Streaming query reading ``name`` sees only the
        new rows. Rows already in the table are never changed. Creates the table on the
        first run. Rows of ``df`` must be unique on ``keys``. Raises ValueError naming the
        column when ``df`` has a void (NullType) column.
        """
        refuse_void_columns(df, name)
        if not self.exists(name):
            self._save(self._writer(df, "overwrite"), name)
            return self.count(name)
        before = self.count(name)
        view = f"_insert_new_{name.replace('.', '_')}"
        df.createOrReplaceTempView(view)
        target = (
            f"delta.`{self.path(name)}`"
            if self.settings.runtime == "local"
            else ".".join(f"`{part}`" for part in name.split("."))
        )
        condition = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
        self.spark.sql(
            f"MERGE INTO {target} t USING {view} s ON {condition} WHEN NOT MATCHED THEN INSERT *"
        )
        self.spark.catalog.dropTempView(view)
        return self.count(name) - before

    def count(self, name: str) -> int:
        """Number of rows of table ``name`` (0 when it does not exist)."""
        return self.read(name).count() if self.exists(name) else 0
