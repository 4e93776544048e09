"""Windows are instants: filters and replaceWhere agree whatever the session or Python time
zone; every session a step gets is set to UTC (on Databricks:
tests/runtime/test_session_time_zone.py)."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from {{ cookiecutter.package_name }}.config import Window, instant_sql, load_settings
from {{ cookiecutter.package_name }}.features.training_set import (
    before,
    window_filter,
    window_predicate,
)

from .conftest import utc
from .time_zone_checks import check_sessions_get_utc, in_new_york

NOVEMBER = Window(utc(2013, 11, 1), utc(2013, 12, 1))


def test_instant_literals_carry_the_utc_offset():
    assert instant_sql(utc(2013, 11, 1)) == "TIMESTAMP '2013-11-01 00:00:00+00:00'"
    assert window_predicate("ts", NOVEMBER) == (
        "`ts` >= TIMESTAMP '2013-11-01 00:00:00+00:00' "
        "AND `ts` < TIMESTAMP '2013-12-01 00:00:00+00:00'"
    )


@pytest.fixture
def new_york(spark):
    """Python's local time and the Spark session time zone both America/New_York, then
    ``TZ`` as it was and the session in UTC again."""
    with in_new_york(spark):
        yield spark


@pytest.mark.spark
def test_filter_and_replace_where_select_the_same_instants_in_new_york(new_york, ctx):
    spark = new_york
    assert time.localtime(0).tm_hour == 19  # the Python default is not UTC here
    rows = [
        ("oct31", utc(2013, 10, 31, 23, 30), 1.0),  # Oct 31 19:30 in New York
        ("nov1", utc(2013, 11, 1, 0, 30), 1.0),  # Oct 31 20:30 in New York, Nov 1 in UTC
        ("nov30", utc(2013, 11, 30, 23, 59), 1.0),
        ("dec1", utc(2013, 12, 1, 0, 0), 1.0),
    ]
    frame = spark.createDataFrame(rows, "id string, ts timestamp, value double")
    name = f"{ctx.settings.catalog}.{ctx.settings.schema}.instants"
    ctx.tables.overwrite(frame, name, ["id"])
    selected = ctx.tables.read(name).where(window_filter("ts", NOVEMBER))
    assert {r["id"] for r in selected.collect()} == {"nov1", "nov30"}
    assert {r["id"] for r in frame.where(before("ts", utc(2013, 11, 1))).collect()} == {"oct31"}

    # replaceWhere with the same predicate accepts exactly the filtered rows and replaces them.
    rescored = frame.where(window_filter("ts", NOVEMBER)).withColumn("value", frame.value * 2)
    ctx.tables.replace_where(rescored, name, window_predicate("ts", NOVEMBER), ["id"])
    values = {r["id"]: r["value"] for r in ctx.tables.read(name).collect()}
    assert values == {"oct31": 1.0, "nov1": 2.0, "nov30": 2.0, "dec1": 1.0}


@pytest.mark.spark
def test_every_session_a_step_gets_is_utc(spark, tmp_path):
    check_sessions_get_utc(spark, replace(load_settings("local"), local_root=tmp_path))
