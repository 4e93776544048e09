"""Ingest writes bronze tables with UTC timestamps; a rerun does not duplicate rows."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from pyspark.sql import functions as F

from {{ cookiecutter.package_name }} import checks
from {{ cookiecutter.package_name }}.checks import check_inputs
from {{ cookiecutter.package_name }}.features import definitions
from {{ cookiecutter.package_name }}.steps import ingest

from .conftest import private_copy, utc

pytestmark = pytest.mark.spark


def test_scheduled_departure_is_time_hour_plus_minute(spark):
    raw = spark.createDataFrame(
        pd.DataFrame(
            {
                "carrier": ["UA"],
                "flight": [1545],
                "origin": ["EWR"],
                "minute": [15],
                "time_hour": ["2013-01-01T10:00:00Z"],
            }
        )
    )
    row = definitions.bronze_flights(raw).collect()[0]
    # 05:15 in New York (EST, UTC-5) is 10:15 UTC; the session and the tests run in UTC.
    assert row["sched_dep_ts"] == utc(2013, 1, 1, 10, 15).replace(tzinfo=None)
    assert row["flight_id"] == "UA-1545-EWR-20130101T1015"
    assert "time_hour" not in row.asDict()


def test_ingest_writes_every_source_row_once_and_reruns_cleanly(
    trained, tmp_path, use_synthetic_source
):
    flights, weather = use_synthetic_source
    ctx = private_copy(trained[0], tmp_path / "state")
    first = trained[1]["ingest"]  # the first run, from the same synthetic source
    second = ingest.run(ctx)
    names = ctx.settings.table("flights_bronze"), ctx.settings.table("weather_bronze")
    assert first["rows"] == second["rows"] == {names[0]: len(flights), names[1]: len(weather)}
    bronze = ctx.tables.read(names[0])
    assert bronze.select("flight_id").distinct().count() == len(flights)


def test_ingest_computes_each_source_once_and_its_new_tables_are_not_checked_again(
    ctx, monkeypatch, use_synthetic_source
):
    """The checks and the write of a batch compute its rows once (a Python UDF on the
    flights' key counts them), and the features step's input check does not read again
    the tables ingest created from batches that passed the same expectations; a table a
    later ingest appended to (a MERGE, version 1) is checked again."""
    flights, weather = use_synthetic_source
    computed = ctx.spark.sparkContext.accumulator(0)

    def counted(value):
        computed.add(1)
        return value

    to_bronze = definitions.to_bronze

    def counting(table_key, raw):
        frame = to_bronze(table_key, raw)
        if table_key != "flights_bronze":
            return frame
        return frame.withColumn("flight_id", F.udf(counted, "string")("flight_id"))

    monkeypatch.setattr(definitions, "to_bronze", counting)
    names = [ctx.settings.table(key) for key in ("flights_bronze", "weather_bronze")]
    assert ingest.run(ctx)["appended"] == {names[0]: len(flights), names[1]: len(weather)}
    assert computed.value == len(flights)

    read, check_frame = [], checks.check_frame

    def counted_check(df, table, expectation):
        read.append(table)
        return check_frame(df, table, expectation)

    monkeypatch.setattr(checks, "check_frame", counted_check)
    check_inputs(ctx, "features")
    assert read == []

    monkeypatch.setattr(definitions, "to_bronze", to_bronze)
    later = flights.assign(flight=flights.flight + 10_000)  # new keys: a MERGE appends them
    monkeypatch.setattr(ingest.sources, "load_flights", lambda s: pa.Table.from_pandas(later))
    assert ingest.run(ctx)["appended"] == {names[0]: len(flights), names[1]: 0}
    check_inputs(ctx, "features")
    assert read == [names[0]]
