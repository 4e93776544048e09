"""Delta tables by their ``<catalog>.<schema>.<table>`` names, locally and on Databricks.

Locally a name maps to a folder ``<local_root>/warehouse/<catalog>/<schema>/<table>``;
on Databricks it is the Unity Catalog table of that name. Every write is atomic
(one Delta commit), so a failed step leaves the previous table version readable.
"""

from __future__ import annotations

from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from ..config import Settings


class MissingTableError(LookupError):
    """An input table does not exist yet; the message names it and the step that writes it."""


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
        """Replace the whole table (schema included) with ``df`` in one commit."""
        self._save(self._writer(df, "overwrite").option("overwriteSchema", "true"), name)

    def replace_where(self, df: DataFrame, name: str, predicate: str) -> None:
        """Replace the rows matching the SQL ``predicate`` with ``df`` in one commit.

        Every row of ``df`` must match the predicate (Delta checks it). A rerun with
        the same window replaces rather than appends. New columns are added.
        """
        if not self.exists(name):
            self._save(self._writer(df, "overwrite"), name)
            return
        writer = self._writer(df, "overwrite").option("replaceWhere", predicate)
        self._save(writer.option("mergeSchema", "true"), name)

    def upsert(self, df: DataFrame, name: str, keys: list[str]) -> None:
        """MERGE ``df`` into ``name`` on the ``keys`` columns: update matches, insert the rest.

        Creates the table on the first run. New columns evolve the table's schema.
        Rows of ``df`` must be unique on ``keys`` (Delta raises otherwise).
        """
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

    def count(self, name: str) -> int:
        """Number of rows of table ``name`` (0 when it does not exist)."""
        return self.read(name).count() if self.exists(name) else 0
