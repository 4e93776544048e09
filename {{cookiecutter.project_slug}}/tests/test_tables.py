"""Table writes: deterministic upserts, unique keys, schema evolution, no untyped columns."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import replace
from types import SimpleNamespace

import pytest
from pyspark.sql import functions as F
from pyspark.sql.connect.dataframe import DataFrame as ConnectDataFrame
from pyspark.sql.connect.session import SparkSession as ConnectSession

from {{ cookiecutter.package_name }}.checks import DataCheckError
from {{ cookiecutter.package_name }}.runtime.tables import MissingTableError, Tables, computed_once

from .conftest import history_metrics_off, spark_jobs, table_name, utc

pytestmark = pytest.mark.spark

KEYS = ["origin", "hour"]


def batch(spark, rows, extra: dict | None = None):
    """Rows (origin, hour, value) as a DataFrame, plus ``extra`` columns (name -> Column)."""
    frame = spark.createDataFrame(rows, "origin string, hour int, value double")
    return frame.withColumns(extra or {})


def test_a_column_that_starts_all_null_is_added_then_filled_by_merge(ctx):
    name = table_name(ctx, "evolving")
    spark = ctx.spark
    ctx.tables.upsert(batch(spark, [("EWR", 1, 1.0), ("JFK", 1, 2.0)]), name, KEYS)

    first = batch(spark, [("EWR", 2, 3.0)], {"new_col": F.lit(None).cast("double")})
    ctx.tables.upsert(first, name, KEYS)
    table = ctx.tables.read(name)
    assert dict(table.dtypes)["new_col"] == "double"
    assert table.where("new_col IS NOT NULL").count() == 0
    assert table.count() == 3

    second = spark.createDataFrame(
        [("EWR", 2, 3.0, 0.5), ("LGA", 2, 4.0, 1.5)],
        "origin string, hour int, value double, new_col double",
    )
    ctx.tables.upsert(second, name, KEYS)
    values = {(r["origin"], r["hour"]): r["new_col"] for r in ctx.tables.read(name).collect()}
    assert values == {("EWR", 1): None, ("JFK", 1): None, ("EWR", 2): 0.5, ("LGA", 2): 1.5}


def test_a_new_double_column_evolves_the_schema(ctx):
    name = table_name(ctx, "widening")
    spark = ctx.spark
    ctx.tables.upsert(batch(spark, [("EWR", 1, 1.0)]), name, KEYS)

    ctx.tables.upsert(batch(spark, [("JFK", 1, 2.0)], {"gusts": F.lit(7.5)}), name, KEYS)

    table = ctx.tables.read(name)
    assert table.columns == ["origin", "hour", "value", "gusts"]
    assert dict(table.dtypes)["gusts"] == "double"
    assert {r["origin"]: r["gusts"] for r in table.collect()} == {"EWR": None, "JFK": 7.5}


def test_insert_new_adds_a_new_column_only_when_asked_to_evolve(ctx):
    """Bronze keeps its columns (ingest: a source column the table lacks is left out); the
    stream's predictions table takes a new model input (``evolve=True``)."""
    spark = ctx.spark
    kept, evolved = table_name(ctx, "kept"), table_name(ctx, "evolved")
    for name in (kept, evolved):
        ctx.tables.insert_new(batch(spark, [("EWR", 1, 1.0)]), name, KEYS)
    wider = batch(spark, [("JFK", 1, 2.0)], {"gusts": F.lit(7.5)})
    assert ctx.tables.insert_new(wider, kept, KEYS) == 1
    assert ctx.tables.insert_new(wider, evolved, KEYS, evolve=True) == 1
    assert ctx.tables.read(kept).columns == ["origin", "hour", "value"]
    table = ctx.tables.read(evolved)
    assert table.columns == ["origin", "hour", "value", "gusts"]
    assert {r["origin"]: r["gusts"] for r in table.collect()} == {"EWR": None, "JFK": 7.5}


def test_a_void_column_is_refused_by_every_write_and_the_table_is_unchanged(ctx):
    name = table_name(ctx, "guarded")
    spark = ctx.spark
    ctx.tables.upsert(batch(spark, [("EWR", 1, 1.0)]), name, KEYS)
    untyped = batch(spark, [("EWR", 1, 9.0)], {"new_col": F.lit(None)})
    writes = {
        "upsert": lambda: ctx.tables.upsert(untyped, name, KEYS),
        "overwrite": lambda: ctx.tables.overwrite(untyped, name),
        "replace_where": lambda: ctx.tables.replace_where(untyped, name, "hour = 1"),
    }
    for write in writes.values():
        with pytest.raises(ValueError, match=f"table {name}: column new_col has no type") as err:
            write()
        assert "cast it to its type" in str(err.value)

    assert ctx.tables.version(name) == 0  # only the creating commit
    table = ctx.tables.read(name)
    assert table.columns == ["origin", "hour", "value"]
    assert [r["value"] for r in table.collect()] == [1.0]


def test_a_void_field_inside_a_struct_is_named(ctx):
    name = table_name(ctx, "nested")
    nested = batch(ctx.spark, [("EWR", 1, 1.0)], {"info": F.struct(F.lit(None).alias("note"))})
    with pytest.raises(ValueError, match="column info.note has no type"):
        ctx.tables.overwrite(nested, name)
    assert not ctx.tables.exists(name)


EVENTS = "origin string, hour int, value double, event_ts timestamp, seq int"


def test_two_rows_for_one_key_upserted_twice_leave_one_row_with_the_later_values(ctx):
    name = table_name(ctx, "deduplicated")
    early, late = utc(2013, 1, 1, 10), utc(2013, 1, 1, 11)
    rows = [
        ("EWR", 1, 9.0, late, 1),  # the later event wins, whatever its position
        ("EWR", 1, 1.0, early, 2),
        ("LGA", 1, 3.0, early, 1),  # same event time: the higher seq (the tie-breaker) wins
        ("LGA", 1, 4.0, early, 2),
        ("JFK", 1, 5.0, early, 1),
    ]
    for batch_rows in (rows, rows[::-1]):  # twice, the second time in the opposite order
        frame = ctx.spark.createDataFrame(batch_rows, EVENTS)
        ctx.tables.upsert(frame, name, KEYS, order_by=["event_ts", "seq"])
        table = ctx.tables.read(name)
        assert table.count() == 3
        values = {(r["origin"], r["hour"]): r["value"] for r in table.collect()}
        assert values == {("EWR", 1): 9.0, ("LGA", 1): 4.0, ("JFK", 1): 5.0}


def test_rows_tied_on_order_by_keep_the_first_by_the_other_columns_in_column_order(ctx):
    """No ``order_by`` (the example's weather, features/definitions.py) or a tie on it: of
    the rows of one key, the first by the remaining columns in column order, ascending,
    nulls last, whatever the order and partitioning of the batch."""
    name = table_name(ctx, "tied")
    early, late = utc(2013, 1, 1, 10), utc(2013, 1, 1, 11)
    rows = [
        ("EWR", 1, 5.0, early, 1),
        ("EWR", 1, None, early, 1),
        ("EWR", 1, 2.0, late, 1),
        ("EWR", 1, 2.0, early, 1),
        ("EWR", 1, 1.0, late, 1),  # value comes before event_ts: the smallest value wins
        ("JFK", 1, None, late, 1),
        ("JFK", 1, None, early, 1),  # value null in both: the earlier event_ts
    ]
    for order_by, batch_rows in (([], rows), (["seq"], rows[::-1])):
        frame = ctx.spark.createDataFrame(batch_rows, EVENTS).repartition(3)
        ctx.tables.upsert(frame, name, KEYS, order_by=order_by)
        kept = {r["origin"]: (r["value"], r["event_ts"]) for r in ctx.tables.read(name).collect()}
        naive = {t: t.replace(tzinfo=None) for t in (early, late)}  # collect(): naive UTC
        assert kept == {"EWR": (1.0, naive[late]), "JFK": (None, naive[early])}


def test_a_duplicated_key_is_refused_by_overwrite_and_replace_where_before_writing(ctx):
    name = table_name(ctx, "keyed")
    spark = ctx.spark
    ctx.tables.overwrite(batch(spark, [("EWR", 1, 1.0)]), name, KEYS)
    version = ctx.tables.version(name)
    twice = batch(spark, [("EWR", 2, 1.0), ("EWR", 2, 2.0), ("EWR", 2, 3.0), ("JFK", 2, 1.0)])
    message = (
        f"table {name}: key origin, hour: 1 value is shared by 3 rows (e.g. origin=EWR, hour=2)"
    )
    with pytest.raises(DataCheckError) as err:
        ctx.tables.overwrite(twice, name, KEYS)
    assert str(err.value) == message
    with pytest.raises(DataCheckError, match="1 value is shared by 3 rows"):
        ctx.tables.replace_where(twice, name, "hour = 2", KEYS)
    assert ctx.tables.version(name) == version
    assert [r["value"] for r in ctx.tables.read(name).collect()] == [1.0]


def counted_keys(spark, rows: int):
    """(DataFrame with ``key`` computed by a Python UDF, accumulator of the UDF's calls)."""
    calls = spark.sparkContext.accumulator(0)

    @F.udf("string")
    def key(n):
        calls.add(1)
        return f"k{n}"

    return spark.range(rows).withColumn("key", key("id")), calls


def test_insert_new_counts_its_own_rows_not_those_another_writer_commits_meanwhile(
    ctx, monkeypatch
):
    name = table_name(ctx, "appended")
    spark, tables = ctx.spark, ctx.tables
    assert tables.insert_new(batch(spark, [("EWR", 1, 1.0)]), name, KEYS) == 1
    new_rows = batch(spark, [("EWR", 1, 1.0), ("JFK", 1, 2.0)])
    other_writer = batch(spark, [("LGA", 5, 9.0)])
    register = type(new_rows).createOrReplaceTempView

    def another_commit_first(frame, view):
        """Another writer appends a row as this call starts its MERGE."""
        if frame is new_rows:
            other_writer.write.format("delta").mode("append").save(str(tables.path(name)))
        return register(frame, view)

    monkeypatch.setattr(type(new_rows), "createOrReplaceTempView", another_commit_first)
    assert tables.insert_new(new_rows, name, KEYS) == 1  # JFK; LGA is the other writer's
    monkeypatch.undo()
    held = sorted((r.origin, r.hour) for r in tables.read(name).collect())
    assert held == [("EWR", 1), ("JFK", 1), ("LGA", 5)]


def test_a_keyed_overwrite_computes_its_batch_once(ctx):
    spark = ctx.spark
    plain, plain_calls = counted_keys(spark, 6)
    plain.select("key").collect()
    plain.select("key").collect()
    assert plain_calls.value == 12  # the counter sees a recomputation

    with computed_once(plain, ["key"]) as batch:
        batch.select("key").collect()
        batch.select("key").collect()
        assert batch.is_cached
    assert plain_calls.value == 12 + 6
    assert not batch.is_cached  # released on leaving

    name = table_name(ctx, "computed_once")
    keyed, keyed_calls = counted_keys(spark, 6)
    ctx.tables.overwrite(keyed, name, ["key"])  # the key check, then the write
    assert keyed_calls.value == 6
    assert sorted(r["key"] for r in ctx.tables.read(name).collect()) == [f"k{n}" for n in range(6)]


def test_a_batch_persisted_by_the_caller_stays_persisted_through_a_keyed_overwrite(ctx):
    # train computes its rows once for its splits, the key check and the write: the
    # overwrite's own computed_once must use them as they are, not release them under it.
    frame, calls = counted_keys(ctx.spark, 5)
    with computed_once(frame, ["key"]) as held:
        held.select("key").collect()
        ctx.tables.overwrite(held, table_name(ctx, "held"), ["key"])
        assert held.is_cached
        held.select("key").collect()
    assert calls.value == 5
    assert not held.is_cached


def test_over_spark_connect_a_keyed_batch_is_not_persisted(monkeypatch):
    """Serverless environments before version 5 refuse PERSIST: over Connect the batch
    is the DataFrame itself. No server is needed, a Connect DataFrame is a lazy plan."""
    session = ConnectSession(connection="sc://127.0.0.1:1")  # no server there
    session.client.set_retry_policies([])  # a call to the server fails at once, not retried

    def refused(self, *args):
        raise RuntimeError("PERSIST is refused (serverless before environment version 5)")

    for method in ("persist", "cache", "unpersist"):
        monkeypatch.setattr(ConnectDataFrame, method, refused)
    frame = session.range(3).selectExpr("CAST(id AS STRING) AS key")

    with computed_once(frame, ["key"]) as batch:
        assert batch is frame


# A table name as Databricks quotes it for SQL (Tables.sql_name): `catalog`.`schema`.`table`.
UNITY_CATALOG_NAME = re.compile(r"`([^`.]+)`\.`([^`.]+)`\.`([^`.]+)`")


class UnityCatalogSession:
    """The local session in the role of a Databricks one, for the tables of ``local``:
    ``catalog.tableExists`` and SQL naming `c`.`s`.`t` reach the local Delta tables."""

    def __init__(self, local: Tables):
        self.local = local
        self.catalog = SimpleNamespace(tableExists=local.exists)

    def sql(self, query: str):
        def local_name(match: re.Match) -> str:
            return self.local.sql_name(".".join(match.groups()))

        return self.local.spark.sql(UNITY_CATALOG_NAME.sub(local_name, query))


def as_on_databricks(ctx) -> Tables:
    """The Tables of ``ctx`` as a Databricks job has them: no local path, SQL names
    `c`.`s`.`t`, reaching the same local Delta tables (:class:`UnityCatalogSession`)."""
    settings = replace(ctx.settings, runtime="databricks", local_root=None)
    return Tables(UnityCatalogSession(ctx.tables), settings)


def test_locally_a_table_written_again_gets_a_new_stamp_at_the_same_version_and_time(ctx):
    name = table_name(ctx, "restamped")
    ctx.tables.overwrite(batch(ctx.spark, [("EWR", 1, 1.0)]), name, KEYS)
    created = ctx.tables.commit_stamp(name)
    assert ctx.tables.read(name).count() == 1  # a read commits nothing
    assert ctx.tables.commit_stamp(name) == created
    commit = ctx.tables.path(name) / "_delta_log" / f"{0:020d}.json"
    written_at = commit.stat().st_mtime_ns

    # Dropped and written again with the same row; the new commit file is given the first
    # one's modification time, as on a file system whose times tick in seconds.
    shutil.rmtree(ctx.tables.path(name))
    ctx.tables.overwrite(batch(ctx.spark, [("EWR", 1, 1.0)]), name, KEYS)
    os.utime(commit, ns=(written_at, written_at))
    recreated = ctx.tables.commit_stamp(name)
    assert recreated[0] == created[0] == 0
    assert recreated[1] != created[1]

    ctx.tables.upsert(batch(ctx.spark, [("JFK", 1, 2.0)]), name, KEYS)
    updated = ctx.tables.commit_stamp(name)
    assert updated[0] == ctx.tables.version(name) == 1
    assert updated[1] not in {created[1], recreated[1]}


def test_on_databricks_the_commit_stamp_changes_with_each_commit_only(ctx):
    name = table_name(ctx, "stamped")
    databricks = as_on_databricks(ctx)
    with pytest.raises(MissingTableError, match=f"input table {name} does not exist"):
        databricks.commit_stamp(name)

    ctx.tables.overwrite(batch(ctx.spark, [("EWR", 1, 1.0)]), name, KEYS)
    created = databricks.commit_stamp(name)
    assert ctx.tables.read(name).count() == 1  # a read commits nothing
    assert databricks.commit_stamp(name) == created
    assert created[0] == 0

    ctx.tables.upsert(batch(ctx.spark, [("JFK", 1, 2.0)]), name, KEYS)
    updated = databricks.commit_stamp(name)
    assert updated[0] == ctx.tables.version(name) == 1
    assert updated[1] != created[1]
    assert databricks.commit_stamp(name) == updated

    # Dropped and created again: version 0 again, at another commit time.
    shutil.rmtree(ctx.tables.path(name))
    ctx.tables.overwrite(batch(ctx.spark, [("LGA", 1, 3.0)]), name, KEYS)
    recreated = databricks.commit_stamp(name)
    assert recreated[0] == 0
    assert recreated != created


def test_rows_written_come_from_the_newest_write_commit_locally_and_on_databricks(ctx):
    name = table_name(ctx, "counted")
    spark = ctx.spark
    both = (ctx.tables, as_on_databricks(ctx))
    for tables in both:
        with pytest.raises(MissingTableError, match=f"input table {name} does not exist"):
            tables.rows_written(name)

    # One file: replacing EWR's row rewrites JFK's and LGA's (Delta's numCopiedRows), which
    # are not rows of that write.
    three = batch(spark, [("EWR", 1, 1.0), ("JFK", 1, 2.0), ("LGA", 1, 3.0)]).coalesce(1)
    ctx.tables.overwrite(three, name, KEYS)
    assert [tables.rows_written(name) for tables in both] == [3, 3]
    ctx.tables.replace_where(batch(spark, [("EWR", 1, 5.0)]), name, "origin = 'EWR'", KEYS)
    assert [tables.rows_written(name) for tables in both] == [1, 1]
    ctx.tables.replace_where(batch(spark, []), name, "origin = 'JFK'")  # removes JFK's row
    assert [tables.rows_written(name) for tables in both] == [0, 0]
    assert sorted(r.origin for r in ctx.tables.read(name).collect()) == ["EWR", "LGA"]

    ctx.tables.upsert(batch(spark, [("LGA", 2, 4.0)]), name, KEYS)  # a MERGE, no write
    assert [tables.rows_written(name) for tables in both] == [None, None]
    with history_metrics_off(spark):
        ctx.tables.overwrite(three, name, KEYS)
    assert [tables.rows_written(name) for tables in both] == [None, None]
    assert ctx.tables.count(name) == 3


def test_rows_written_by_sql_table_writes_and_with_deletion_vectors(ctx):
    """The CREATE / REPLACE TABLE AS SELECT commits (what saveAsTable makes on Databricks)
    count too; with deletion vectors a replaceWhere write keeps the other rows of the file
    it replaces in place, and rows_written is still the rows of the written DataFrame."""
    name = table_name(ctx, "sql_written")
    both = (ctx.tables, as_on_databricks(ctx))
    target = ctx.tables.sql_name(name)
    rows = "VALUES ('EWR', 1, 1.0D), ('JFK', 1, 2.0D), ('LGA', 1, 3.0D) AS t(origin, hour, value)"
    # The last statement also turns deletion vectors on (a table property, in that commit).
    deletion_vectors = "TBLPROPERTIES ('delta.enableDeletionVectors' = true)"
    for statement, count, properties in (
        ("CREATE", 3, ""),
        ("REPLACE", 2, ""),
        ("CREATE OR REPLACE", 3, deletion_vectors),
    ):
        ctx.spark.sql(
            f"{statement} TABLE {target} USING DELTA {properties} AS SELECT /*+ COALESCE(1) */ * "
            f"FROM {rows} LIMIT {count}"
        )
        assert [tables.rows_written(name) for tables in both] == [count, count], statement

    ctx.tables.replace_where(batch(ctx.spark, [("EWR", 1, 5.0)]), name, "origin = 'EWR'", KEYS)
    assert [tables.rows_written(name) for tables in both] == [1, 1]
    held = {r.origin: r.value for r in ctx.tables.read(name).collect()}
    assert held == {"EWR": 5.0, "JFK": 2.0, "LGA": 3.0}


def test_insert_new_creating_the_table_counts_its_rows_with_or_without_commit_metrics(ctx):
    spark = ctx.spark
    rows = batch(spark, [("EWR", 1, 1.0), ("JFK", 1, 2.0)])
    assert ctx.tables.insert_new(rows, table_name(ctx, "with_metrics"), KEYS) == 2
    with history_metrics_off(spark):
        assert ctx.tables.insert_new(rows, table_name(ctx, "without_metrics"), KEYS) == 2
    assert ctx.tables.rows_written(table_name(ctx, "without_metrics")) is None


def test_a_table_holding_its_first_write_is_counted_from_that_commit_without_a_spark_job(ctx):
    spark, tables = ctx.spark, ctx.tables
    name, bare = table_name(ctx, "counted_first"), table_name(ctx, "counted_bare")
    tables.overwrite(batch(spark, [("EWR", 1, 1.0), ("JFK", 1, 2.0)]), name, KEYS)
    with spark_jobs(spark) as first:
        assert tables.count(name) == 2
    assert first == []
    tables.replace_where(batch(spark, [("LGA", 5, 9.0)]), name, "origin = 'LGA'", KEYS)
    with spark_jobs(spark) as later:  # version 1: Spark counts
        assert tables.count(name) == 3
    assert later
    with history_metrics_off(spark):  # a first commit without row counts: Spark counts
        tables.overwrite(batch(spark, [("EWR", 1, 1.0)]), bare, KEYS)
    assert tables.rows_written(bare) is None and tables.count(bare) == 1
