"""Delta tables by their ``<catalog>.<schema>.<table>`` names, locally and on Databricks.

Locally a name maps to a folder ``<local_root>/warehouse/<catalog>/<schema>/<table>``;
on Databricks it is the Unity Catalog table of that name. Every write is atomic
(one Delta commit), so a failed step leaves the previous table version readable.
Writes given the table's keys refuse a batch with a duplicated key before writing
(:class:`..unique_keys.DataCheckError`); upserts first keep one row per key, the latest.
Upserts are SQL ``MERGE INTO`` statements, which also run over Spark Connect
(Databricks serverless), where the ``DeltaTable`` Python API does not.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import Window as SparkWindow
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, DataType, MapType, NullType, StructType

from ..settings_file import RuntimeSettings
from ..unique_keys import check_unique
from .errors import MissingTableError
from .spark import is_connect

AUTO_MERGE = "spark.databricks.delta.schema.autoMerge.enabled"
# Delta's names of the commits a DataFrame write (``save``, ``saveAsTable``) makes, whose
# ``numOutputRows`` metric is the rows written (:meth:`Tables.rows_written`).
WRITE_OPERATIONS = frozenset(
    {
        "WRITE",
        "CREATE TABLE AS SELECT",
        "REPLACE TABLE AS SELECT",
        "CREATE OR REPLACE TABLE AS SELECT",
    }
)


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


def latest_per_key(df: DataFrame, keys: Sequence[str], order_by: Sequence[str]) -> DataFrame:
    """``df`` with one row per ``keys`` value: the latest by ``order_by``.

    Rows of one key are ranked by the ``order_by`` columns, greatest first (nulls
    last): the event time, then the stated tie-breaker. Rows still equal there are
    ranked by the remaining columns in column order, so the choice never depends
    on partitioning. Out: the columns of ``df``, unchanged.
    """
    rest = [c for c in df.columns if c not in (*keys, *order_by)]
    ranking = [F.col(c).desc_nulls_last() for c in order_by] + [
        F.col(c).asc_nulls_last() for c in rest
    ]
    rank = F.row_number().over(SparkWindow.partitionBy(*keys).orderBy(*ranking))
    return df.withColumn("_key_rank", rank).where("_key_rank = 1").drop("_key_rank")


def computes_once(df: DataFrame, keys: Sequence[str]) -> bool:
    """True when :func:`computed_once` gives ``df`` (a DataFrame) with ``keys`` (key column
    names) computed once for every job of its block: keys are given and the session is
    classic Spark, not Spark Connect (:func:`.spark.is_connect`)."""
    return bool(keys) and not is_connect(df.sparkSession)


def deterministic(df: DataFrame) -> bool:
    """True when Spark's analysed plan of ``df`` (a DataFrame) says it is deterministic: no
    ``rand``, ``uuid``, ``shuffle`` or UDF marked nondeterministic. Spark's flag, not a
    proof: it also counts ``current_timestamp()`` (a new value in each query) and Python
    UDFs not marked nondeterministic as deterministic, and says nothing of which row
    ``dropDuplicates`` or a ``row_number`` over tied rows keeps, so a caller relying on two
    jobs computing the same rows must also rule those out (ingest relies on it only for the
    example's batches, :func:`..sources.held_in_memory`, built by
    ``features.definitions.to_bronze``, whose one ``row_number``, :func:`latest_per_key`,
    ranks tied rows by every column, and which uses none of the others). Classic Spark only:
    False over Spark Connect (:func:`.spark.is_connect`), whose plan Python cannot inspect."""
    if is_connect(df.sparkSession):
        return False
    return bool(df._jdf.queryExecution().analyzed().deterministic())


@contextmanager
def computed_once(df: DataFrame, keys: Sequence[str]) -> Iterator[DataFrame]:
    """``df`` persisted while the block runs when ``keys`` are given, else ``df`` itself.

    A keyed write runs two Spark jobs on the batch, the key check and the write; the
    persisted batch is computed by the first and read back by the second instead of
    being computed twice (a point-in-time lookup, say). Unpersisted on leaving.
    Over Spark Connect (:func:`.spark.is_connect`, as on Databricks serverless, whose
    environments before version 5 refuse PERSIST) ``df`` itself, computed twice. A ``df``
    the caller persisted already is used as it is, and stays persisted.
    """
    if not computes_once(df, keys) or df.is_cached:
        yield df
        return
    persisted = df.persist()
    try:
        yield persisted
    finally:
        persisted.unpersist()


class Tables:
    """Reads and writes the pipeline's Delta tables for one environment."""

    def __init__(self, spark: SparkSession, settings: RuntimeSettings):
        self.spark = spark
        self.settings = settings

    def path(self, name: str) -> Path:
        """Local folder of table ``name`` (local runtime only)."""
        if self.settings.local_root is None:
            raise RuntimeError(f"{name}: tables have no local path on Databricks")
        return self.settings.local_root.joinpath("warehouse", *name.split("."))

    def sql_name(self, name: str) -> str:
        """``name`` quoted for SQL: ``delta.`<folder>``` locally, `` `c`.`s`.`t` `` elsewhere."""
        if self.settings.runtime == "local":
            return f"delta.`{self.path(name)}`"
        return ".".join(f"`{part}`" for part in name.split("."))

    def version(self, name: str) -> int:
        """The current Delta version (commit number) of table ``name``."""
        self.require(name)
        return int(self._newest_history(name)["version"])

    def _newest_history(self, name: str):
        """The ``DESCRIBE HISTORY`` row of the newest commit of table ``name``."""
        return self.spark.sql(f"DESCRIBE HISTORY {self.sql_name(name)} LIMIT 1").first()

    def commit_stamp(self, name: str) -> tuple[int, str]:
        """(version, commit identity) of the current Delta version of table ``name``.

        Locally the newest commit file of ``_delta_log`` (``<20 digits>.json``) gives
        both without Spark: its number, and the SHA-256 digest of its bytes in place of
        the time. A commit file is written once and holds its commit's own ``txnId``,
        so a table dropped and written again gets a new stamp at the same version
        number, however coarse the file system's modification times. Elsewhere
        ``DESCRIBE HISTORY``.
        Raises MissingTableError when the table does not exist.
        """
        return self.newest_commit(name)[0]

    def newest_commit(self, name: str) -> tuple[tuple[int, str], int | None]:
        """(:meth:`commit_stamp`, :meth:`rows_written`) of the newest commit of table ``name``,
        both from one read of that commit: one commit file locally, one ``DESCRIBE HISTORY``
        elsewhere, so both describe the same commit even when another writer commits
        meanwhile. Raises MissingTableError when the table does not exist.
        """
        self.require(name)
        if self.settings.runtime == "local":
            newest = self._newest_commit_file(name)
            text = newest.read_bytes()
            stamp = (int(newest.stem), hashlib.sha256(text).hexdigest())
            return stamp, _rows_of(*_operation(text.decode()))
        row = self._newest_history(name)
        stamp = (int(row["version"]), str(row["timestamp"]))
        return stamp, _rows_of(row["operation"], row["operationMetrics"] or {})

    def _newest_commit_file(self, name: str) -> Path:
        commits = (self.path(name) / "_delta_log").glob("[0-9]" * 20 + ".json")
        return max(commits, key=lambda f: int(f.stem))

    def rows_written(self, name: str) -> int | None:
        """Rows of the DataFrame the newest commit of table ``name`` wrote, if it was a write.

        Delta records them in the commit's ``operationMetrics``: ``numOutputRows`` less
        ``numCopiedRows``, the rows outside a ``replaceWhere`` predicate that shared a file
        with rows inside it and stay in the table (copied to a new file, or kept in place
        with a deletion vector). Locally read from the newest commit file without Spark,
        elsewhere from ``DESCRIBE HISTORY``. None when the newest commit is not a write
        (:data:`WRITE_OPERATIONS`; a MERGE, say) or records no row counts
        (``spark.databricks.delta.history.metricsEnabled`` off, or a ``replaceWhere`` on a
        table whose files carry no statistics): count the rows then.
        Call it right after the write: a commit another writer makes in between is the
        newest one. Raises MissingTableError when the table does not exist.
        """
        return self.newest_commit(name)[1]

    def exists(self, name: str) -> bool:
        """True when the Delta table ``name`` exists (locally: its log holds a commit).

        Locally the folder is looked at directly: no Spark call, and the same over
        Spark Connect, where ``DeltaTable`` is not available.
        """
        if self.settings.runtime == "local":
            log = self.path(name) / "_delta_log"
            return log.is_dir() and any(
                f.suffix == ".json" or ".checkpoint" in f.name for f in log.iterdir()
            )
        return self.spark.catalog.tableExists(name)

    def delta(self, name: str) -> DeltaTable:
        """The DeltaTable handle of ``name`` (not over Spark Connect); raises MissingTableError
        when it does not exist."""
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

    def overwrite(self, df: DataFrame, name: str, keys: Sequence[str] = ()) -> None:
        """Replace the whole table (schema included) with ``df`` in one commit.

        ``df`` is computed once for the key check and the write on classic Spark, twice
        over Spark Connect (:func:`computed_once`).

        Raises ValueError naming the column when ``df`` has a void (NullType) column,
        DataCheckError naming the key and the count when ``keys`` are given and two
        rows of ``df`` share a key. Nothing is written then.
        """
        refuse_void_columns(df, name)
        with computed_once(df, keys) as batch:
            check_unique(batch, name, keys)
            self._save(self._writer(batch, "overwrite").option("overwriteSchema", "true"), name)

    def replace_where(
        self, df: DataFrame, name: str, predicate: str, keys: Sequence[str] = ()
    ) -> None:
        """Replace the rows matching the SQL ``predicate`` with ``df`` in one commit.

        Every row of ``df`` must match the predicate (Delta checks it). A rerun with
        the same window replaces rather than appends. New columns are added.
        Raises ValueError naming the column when ``df`` has a void (NullType) column,
        DataCheckError when ``keys`` are given and two rows of ``df`` share a key.
        """
        refuse_void_columns(df, name)
        with computed_once(df, keys) as batch:
            check_unique(batch, name, keys)
            if not self.exists(name):
                self._save(self._writer(batch, "overwrite"), name)
                return
            writer = self._writer(batch, "overwrite").option("replaceWhere", predicate)
            self._save(writer.option("mergeSchema", "true"), name)

    def upsert(
        self, df: DataFrame, name: str, keys: Sequence[str], order_by: Sequence[str] = ()
    ) -> None:
        """MERGE ``df`` into ``name`` on the ``keys`` columns: update matches, insert the rest.

        The batch is first reduced to one row per key (:func:`latest_per_key`): the
        row with the greatest ``order_by`` values (event time first, then the
        tie-breaker column) wins, so a rerun of the same batch writes the same rows.
        Creates the table on the first run. New columns of ``df`` evolve the table's
        schema (``MERGE WITH SCHEMA EVOLUTION``): they are added, never dropped; rows
        already in the table get null there. Raises ValueError naming the column when
        ``df`` has a void (NullType) column: cast it to its type first.
        """
        refuse_void_columns(df, name)
        batch = latest_per_key(df, keys, order_by)
        if not self.exists(name):
            self._save(self._writer(batch, "overwrite"), name)
            return
        self._merge(
            batch,
            name,
            keys,
            "WHEN MATCHED THEN UPDATE SET * WHEN NOT MATCHED THEN INSERT *",
            evolve=True,
        )

    def _merge(self, df: DataFrame, name: str, keys: Sequence[str], clauses: str, evolve: bool):
        """Run ``MERGE INTO name USING df ON keys <clauses>``; return the row of metrics
        Delta Lake's MERGE returns (``num_inserted_rows``, ...).

        Rows match when every key is equal or both are null. ``df`` is a temporary view
        while the MERGE runs (dropped after it, also when it raises). With ``evolve``
        (``MERGE WITH SCHEMA EVOLUTION``) new columns of ``df`` are added to the table;
        without, ``INSERT *`` leaves them out.
        """
        view = f"merge_source_{uuid.uuid4().hex}"
        df.createOrReplaceTempView(view)
        condition = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
        # Databricks evolves the schema on WITH SCHEMA EVOLUTION; open-source Delta 4.2
        # parses the clause but evolves only with the session setting, set here locally.
        auto_merge = evolve and self.settings.runtime == "local"
        if auto_merge:
            self.spark.conf.set(AUTO_MERGE, "true")
        evolution = " WITH SCHEMA EVOLUTION" if evolve else ""
        try:
            return self.spark.sql(
                f"MERGE{evolution} INTO {self.sql_name(name)} AS t "
                f"USING {view} AS s ON {condition} {clauses}"
            ).first()
        finally:
            if auto_merge:
                self.spark.conf.unset(AUTO_MERGE)
            self.spark.catalog.dropTempView(view)

    def insert_new(self, df: DataFrame, name: str, keys: list[str], evolve: bool = False) -> int:
        """Append the rows of ``df`` whose ``keys`` are not in ``name`` yet; return how many.

        One SQL ``MERGE INTO ... WHEN NOT MATCHED THEN INSERT *`` commit, which adds files
        and removes none, so a Structured Streaming query reading ``name`` sees only the
        new rows. Rows already in the table are never changed. Creates the table on the
        first run. Rows of ``df`` must be unique on ``keys``. With ``evolve``, new columns
        of ``df`` are added to the table (rows already there get null; that commit also
        changes the table's metadata, which a stream reading it stops on); without, they
        are left out. Raises ValueError naming the column when ``df`` has a void
        (NullType) column.

        The count is the MERGE's own ``num_inserted_rows`` (a column of the row Delta
        Lake's MERGE returns), not a difference of two table counts, which would count
        rows another writer committed in between as this call's.
        """
        refuse_void_columns(df, name)
        if not self.exists(name):
            self._save(self._writer(df, "overwrite"), name)
            written = self.rows_written(name)
            return self.count(name) if written is None else written
        merged = self._merge(df, name, keys, "WHEN NOT MATCHED THEN INSERT *", evolve)
        return int(merged["num_inserted_rows"])

    def count(self, name: str) -> int:
        """Number of rows of table ``name`` (0 when it does not exist).

        Locally, a table whose newest commit is its first (version 0) and a write holds
        exactly the rows that write recorded (:meth:`rows_written`), read from the commit
        file without a Spark job, as after a step's first run; otherwise Spark counts.
        """
        if not self.exists(name):
            return 0
        if self.settings.runtime == "local":
            (version, _), written = self.newest_commit(name)  # one commit, read once
            if version == 0 and written is not None:
                return written
        return self.read(name).count()


def _operation(commit: str) -> tuple[str | None, dict]:
    """(operation, operationMetrics) of a local Delta commit file's text ``commit``, from its
    ``commitInfo`` action ((None, {}) without one)."""
    actions = map(json.loads, commit.splitlines())
    info = next((a["commitInfo"] for a in actions if "commitInfo" in a), {})
    return info.get("operation"), info.get("operationMetrics") or {}


def _rows_of(operation: str | None, metrics: dict) -> int | None:
    """Rows a commit of ``operation`` with ``metrics`` wrote (see :meth:`Tables.rows_written`),
    None when it is no write or records no row counts."""
    if operation not in WRITE_OPERATIONS or "numOutputRows" not in metrics:
        return None
    return int(metrics["numOutputRows"]) - int(metrics.get("numCopiedRows", 0))
