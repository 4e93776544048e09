"""Feature tables evolve their schema for new columns; untyped (void) columns are refused."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

pytestmark = pytest.mark.spark

KEYS = ["origin", "hour"]


def table_name(ctx, short: str) -> str:
    """A table name in the catalog and schema of ``ctx``."""
    return f"{ctx.settings.catalog}.{ctx.settings.schema}.{short}"


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

    assert ctx.tables.delta(name).history().count() == 1  # only the creating commit
    table = ctx.tables.read(name)
    assert table.columns == ["origin", "hour", "value"]
    assert [r["value"] for r in table.collect()] == [1.0]


def test_a_void_field_inside_a_struct_is_named(ctx):
    name = table_name(ctx, "nested")
    nested = batch(ctx.spark, [("EWR", 1, 1.0)], {"info": F.struct(F.lit(None).alias("note"))})
    with pytest.raises(ValueError, match="column info.note has no type"):
        ctx.tables.overwrite(nested, name)
    assert not ctx.tables.exists(name)
