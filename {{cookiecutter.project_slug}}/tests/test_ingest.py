"""Ingest writes bronze tables with UTC timestamps; a rerun does not duplicate rows."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from pyspark.sql import functions as F

from {{ cookiecutter.package_name }} import checks
from {{ cookiecutter.package_name }}.checks import check_inputs
from {{ cookiecutter.package_name }}.features import definitions
from {{ cookiecutter.package_name }}.runtime import tables as tables_module
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


def tables_checked(monkeypatch) -> list[str]:
    """The names of the tables :func:`checks.check_frame` reads from now on (until
    ``monkeypatch`` is undone), in order: a list that grows as it is called."""
    read, check_frame = [], checks.check_frame

    def counted_check(df, table, expectation):
        read.append(table)
        return check_frame(df, table, expectation)

    monkeypatch.setattr(checks, "check_frame", counted_check)
    return read


def counting_flight_keys(ctx, monkeypatch, deterministic: bool = True):
    """Make the example module's ``to_bronze`` pass the flights' key through a Python UDF
    (marked nondeterministic unless ``deterministic``) that counts the rows it computes;
    return the counter (a Spark accumulator)."""
    computed = ctx.spark.sparkContext.accumulator(0)

    def counted(value):
        computed.add(1)
        return value

    udf = F.udf(counted, "string")
    udf = udf if deterministic else udf.asNondeterministic()
    to_bronze = definitions.to_bronze

    def counting(table_key, raw):
        frame = to_bronze(table_key, raw)
        if table_key != "flights_bronze":
            return frame
        return frame.withColumn("flight_id", udf("flight_id"))

    monkeypatch.setattr(definitions, "to_bronze", counting)
    return computed


def test_ingest_computes_the_examples_batches_again_and_its_new_tables_are_not_checked_again(
    ctx, monkeypatch, use_synthetic_source
):
    """The example's batches, whose rows Spark holds, are not persisted: the checks and the
    write each compute them (a Python UDF on the flights' key counts the rows), and the
    features step's input check does not read again the tables ingest created from
    batches that passed the same expectations, since a deterministic plan computes the
    same rows twice; a table a later ingest appended to (a MERGE, version 1) is checked
    again. Whether a batch's plan is deterministic is asked for a table the write creates
    only."""
    flights, weather = use_synthetic_source
    to_bronze = definitions.to_bronze
    computed = counting_flight_keys(ctx, monkeypatch)
    asked, deterministic = [], ingest.deterministic

    def counted_deterministic(frame):
        asked.append(frame)
        return deterministic(frame)

    monkeypatch.setattr(ingest, "deterministic", counted_deterministic)
    names = [ctx.settings.table(key) for key in ("flights_bronze", "weather_bronze")]
    assert ingest.run(ctx)["appended"] == {names[0]: len(flights), names[1]: len(weather)}
    assert computed.value == 2 * len(flights)
    assert len(asked) == 2  # both tables created

    read = tables_checked(monkeypatch)
    check_inputs(ctx, "features")
    assert read == []

    monkeypatch.setattr(definitions, "to_bronze", to_bronze)
    later = flights.assign(flight=flights.flight + 10_000)  # new keys: a MERGE appends them
    monkeypatch.setattr(ingest.sources, "load_flights", lambda s: pa.Table.from_pandas(later))
    assert ingest.run(ctx)["appended"] == {names[0]: len(flights), names[1]: 0}
    assert len(asked) == 2  # both tables existed: no plan inspected
    check_inputs(ctx, "features")
    assert read == [names[0]]
    # Recorded only for a first version that wrote exactly the batch's rows: not for the
    # flights' version 1, nor for the weather's version 0 when the batch is said to hold
    # another number of rows (another writer's table, to which a MERGE added none).
    before = set(ctx.checked)
    assert not checks.record_passed(ctx, "flights_bronze", len(flights))
    assert not checks.record_passed(ctx, "weather_bronze", 0)
    assert checks.record_passed(ctx, "weather_bronze", len(weather))
    assert ctx.checked == before


def test_a_new_table_from_a_nondeterministic_batch_of_the_example_is_checked_again(
    ctx, monkeypatch, use_synthetic_source
):
    """A batch of the example whose plan is not deterministic (here a UDF marked so) may
    give the write other rows than the checks saw: the features step checks that table,
    not the weather's."""
    counting_flight_keys(ctx, monkeypatch, deterministic=False)
    ingest.run(ctx)
    read = tables_checked(monkeypatch)
    check_inputs(ctx, "features")
    assert read == [ctx.settings.table("flights_bronze")]


def test_tables_ingest_created_from_a_batch_computed_again_are_checked_again(
    ctx, monkeypatch, use_synthetic_source
):
    """Over Spark Connect (here a classic session said to be one) the write computes the
    batch anew, which may hold rows the check did not see (a source appended to in
    between): ingest records nothing, and the features step checks both new tables."""
    monkeypatch.setattr(tables_module, "is_connect", lambda spark: True)
    ingest.run(ctx)
    read = tables_checked(monkeypatch)
    check_inputs(ctx, "features")
    names = [ctx.settings.table(key) for key in ("flights_bronze", "weather_bronze")]
    assert sorted(read) == sorted(names)
