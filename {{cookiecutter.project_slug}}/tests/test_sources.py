"""Source kinds beside the example: ``table`` and ``files``, mapped onto the data contract.

A source that lacks a contract column, or holds it with another kind of type, is
refused at ingest in one line naming the source, the column, the expected and the
found type, before any bronze table is written.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from {{ cookiecutter.package_name }} import sources
from {{ cookiecutter.package_name }}.checks import DataCheckError
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.settings_schema import SourceSpec
from {{ cookiecutter.package_name }}.steps import ingest

from .conftest import CONTRACT

pytestmark = pytest.mark.spark

WEATHER_DDL = ", ".join(
    f"{column} {'STRING' if kind == 'string' else 'DOUBLE'}"
    for column, kind in CONTRACT.bronze("weather_bronze").columns.items()
)


def _with_sources(ctx: Context, **specs) -> Context:
    sources = {
        **ctx.settings.sources,
        **{k: SourceSpec.model_validate(v) for k, v in specs.items()},
    }
    return Context(replace(ctx.settings, sources=sources))


def _files(ctx, tmp_path, synthetic):
    """Flights as parquet with ``carrier`` renamed ``airline``; weather as CSV with a header."""
    flights, weather = synthetic
    spark = ctx.spark
    spark.createDataFrame(flights.rename(columns={"carrier": "airline"})).write.parquet(
        str(tmp_path / "flights")
    )
    columns = list(CONTRACT.bronze("weather_bronze").columns)
    weather[columns].to_csv(tmp_path / "weather.csv", index=False)
    flights_ddl = spark.createDataFrame(flights).schema.simpleString()[len("struct<") : -1]
    flights_ddl = flights_ddl.replace("carrier:", "airline:").replace(":", " ")
    return {
        "flights_bronze": {
            "kind": "files",
            "path": str(tmp_path / "flights"),
            "format": "parquet",
            "schema": flights_ddl,
            "columns": {"carrier": "airline"},
        },
        "weather_bronze": {
            "kind": "files",
            "path": str(tmp_path / "weather.csv"),
            "format": "csv",
            "schema": WEATHER_DDL,
            "options": {"header": "true"},
        },
    }


def test_files_and_table_sources_fill_bronze_like_the_example(ctx, tmp_path, synthetic):
    flights, weather = synthetic
    specs = _files(ctx, tmp_path, synthetic)
    result = ingest.run(_with_sources(ctx, **specs))
    names = ctx.settings.table("flights_bronze"), ctx.settings.table("weather_bronze")
    assert result["rows"] == {names[0]: len(flights), names[1]: len(weather)}
    bronze = ctx.tables.read(names[0])
    assert {r["carrier"] for r in bronze.select("carrier").distinct().collect()} == set(
        flights.carrier
    )
    # The same weather, now from a Delta table by name: nothing new to append.
    raw_name = f"{ctx.settings.catalog}.raw.weather_observations"
    ctx.tables.overwrite(
        ctx.spark.createDataFrame(weather[list(CONTRACT.bronze("weather_bronze").columns)]),
        raw_name,
    )
    again = ingest.run(
        _with_sources(ctx, **{**specs, "weather_bronze": {"kind": "table", "name": raw_name}})
    )
    assert again["appended"] == {names[0]: 0, names[1]: 0}


def test_a_source_lacking_a_contract_column_is_refused_naming_it(ctx, tmp_path, synthetic):
    specs = _files(ctx, tmp_path, synthetic)
    specs["flights_bronze"]["columns"] = {}  # the file calls the carrier "airline"
    with pytest.raises(DataCheckError) as error:
        ingest.run(_with_sources(ctx, **specs))
    assert str(error.value) == (
        f"sources.flights_bronze (files {tmp_path / 'flights'}): "
        "column carrier: expected string, found missing"
    )
    assert not ctx.tables.exists(ctx.settings.table("flights_bronze"))
    assert not ctx.tables.exists(ctx.settings.table("weather_bronze"))


def test_a_source_column_of_the_wrong_type_is_refused_naming_both_types(ctx, tmp_path, synthetic):
    specs = _files(ctx, tmp_path, synthetic)
    specs["weather_bronze"]["schema"] = WEATHER_DDL.replace("temp DOUBLE", "temp STRING")
    with pytest.raises(DataCheckError) as error:
        ingest.run(_with_sources(ctx, **specs))
    assert str(error.value) == (
        f"sources.weather_bronze (files {tmp_path / 'weather.csv'}): "
        "column temp: expected numeric, found string"
    )
    assert not ctx.tables.exists(ctx.settings.table("flights_bronze"))


def test_files_whose_columns_differ_from_the_schema_are_refused_naming_both(
    ctx, tmp_path, synthetic
):
    """Spark reads a schema column the Parquet files lack as nulls, and CSV columns by
    position whatever the header says: both are refused before anything is written."""
    specs = _files(ctx, tmp_path, synthetic)
    columns = list(CONTRACT.bronze("weather_bronze").columns)
    swapped = [columns[1], columns[0], *columns[2:]]  # the header's first two swapped
    synthetic[1][swapped].to_csv(tmp_path / "weather.csv", index=False)
    with pytest.raises(DataCheckError) as error:
        ingest.run(_with_sources(ctx, **specs))
    assert str(error.value) == (
        f"sources.weather_bronze (files {tmp_path / 'weather.csv'}): the schema must list "
        "the CSV header's columns in its order (Spark reads CSV columns by position): "
        f"header {', '.join(swapped)}; schema {', '.join(columns)}"
    )
    specs["flights_bronze"]["schema"] += ", gate STRING"
    with pytest.raises(DataCheckError) as error:
        ingest.run(_with_sources(ctx, **specs))
    assert str(error.value).startswith(
        f"sources.flights_bronze (files {tmp_path / 'flights'}): "
        "schema column gate not in the files (they have year, month, "
    )
    assert not ctx.tables.exists(ctx.settings.table("flights_bronze"))
    assert not ctx.tables.exists(ctx.settings.table("weather_bronze"))


def test_a_csv_value_that_does_not_parse_stops_ingest_before_any_write(ctx, tmp_path, synthetic):
    specs = _files(ctx, tmp_path, synthetic)
    weather = synthetic[1][list(CONTRACT.bronze("weather_bronze").columns)].copy()
    weather["temp"] = weather["temp"].astype(object)
    weather.iloc[len(weather) // 2, weather.columns.get_loc("temp")] = "warm"
    weather.to_csv(tmp_path / "weather.csv", index=False)
    with pytest.raises(DataCheckError) as error:
        ingest.run(_with_sources(ctx, **specs))
    message = str(error.value)
    assert message.startswith(
        f"sources.weather_bronze (files {tmp_path / 'weather.csv'}): a value does not parse "
        'as its schema type (java.lang.NumberFormatException: For input string: "warm") '
        "in the record [JFK,"
    )
    assert message.endswith(
        "; fix the files, or set options.mode PERMISSIVE to read such values as null"
    )
    assert "\n" not in message
    assert not ctx.tables.exists(ctx.settings.table("flights_bronze"))  # checked first
    assert not ctx.tables.exists(ctx.settings.table("weather_bronze"))
    # The same file read as Spark's default (PERMISSIVE) would have written "warm" as null.
    specs["weather_bronze"]["options"] = {"header": "true", "mode": "PERMISSIVE"}
    ingest.run(_with_sources(ctx, **specs))
    bronze = ctx.tables.read(ctx.settings.table("weather_bronze"))
    assert bronze.where("temp IS NULL").count() == weather["temp"].isna().sum() + 1


def test_the_example_source_reaches_spark_in_at_most_two_partitions(ctx):
    # A month of real flights is three 10,000-row Arrow batches, so createDataFrame
    # alone would make three partitions, and a Delta write three files.
    january = Context(replace(ctx.settings, source={"start": "2013-01-01", "end": "2013-02-01"}))
    rows = sources.load_flights(january.settings).num_rows
    frame = sources.load(january, "flights_bronze")
    assert rows > 20_000
    assert frame.count() == rows
    assert frame.rdd.getNumPartitions() == sources.EXAMPLE_PARTITIONS == 2
