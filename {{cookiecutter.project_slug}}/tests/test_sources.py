"""Source kinds beside the example: ``table`` and ``files``, mapped onto the data contract.

A source that lacks a contract column, or holds it with another kind of type, is
refused at ingest in one line naming the source, the column, the expected and the
found type, before any bronze table is written; so are files Spark cannot read as
their schema says (a value that does not parse, a Parquet column of another type, a
timestamp in another pattern, a JSON key no record has).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import sources
from {{ cookiecutter.package_name }}.checks import DataCheckError, check_inputs
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.settings_schema import SourceSpec
from {{ cookiecutter.package_name }}.steps import ingest

from .conftest import CONTRACT, changed_contract
from .test_ingest import counting_flight_keys, tables_checked

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


def _checked_last(ctx: Context, table_key: str) -> Context:
    """``ctx`` whose contract lists bronze table ``table_key`` last, so ingest checks (and
    would write) the other tables first."""
    contract = ctx.settings.contract
    tables = contract.model_dump()["bronze_tables"]
    tables = {**{k: v for k, v in tables.items() if k != table_key}, table_key: tables[table_key]}
    return Context(replace(ctx.settings, contract=changed_contract(contract, bronze_tables=tables)))


def _bad_csv(tmp_path, specs, table_key, frame, column, value) -> Path:
    """Make ``table_key``'s source in ``specs`` a CSV file with a header holding ``frame``,
    with ``value`` in ``column`` of its middle row; return the file's path."""
    frame = frame.copy()
    frame[column] = frame[column].astype(object)
    frame.iloc[len(frame) // 2, frame.columns.get_loc(column)] = value
    path = tmp_path / f"{table_key}.csv"
    frame.to_csv(path, index=False)
    specs[table_key] = {
        **specs[table_key],
        "path": str(path),
        "format": "csv",
        "options": {"header": "true"},
    }
    return path


def _refused(ctx: Context, specs: dict, checked_last: str | None = None) -> str:
    """The DataCheckError message of ingesting the sources ``specs`` (``checked_last``:
    that table's source is checked after the others), checked to be one line and to come
    before any bronze table was written."""
    run = _with_sources(ctx, **specs)
    with pytest.raises(DataCheckError) as error:
        ingest.run(_checked_last(run, checked_last) if checked_last else run)
    message = str(error.value)
    assert "\n" not in message
    assert not any(ctx.tables.exists(ctx.settings.table(k)) for k in CONTRACT.bronze_tables)
    return message


@pytest.fixture(scope="module")
def flights_parquet(spark, tmp_path_factory, synthetic) -> Path:
    """A folder of Parquet files Spark wrote holding the synthetic flights with ``carrier``
    renamed ``airline``, written once for the module: :func:`_files` copies it (the tests
    read the files and change only their specs). Measured in one session (2 cores, load
    about 6): a write 0.46 to 0.67 s, a copy under 1 ms, for each of 13 tests."""
    folder = tmp_path_factory.mktemp("flights-parquet") / "flights"
    flights = synthetic[0].rename(columns={"carrier": "airline"})
    spark.createDataFrame(flights).write.parquet(str(folder))
    return folder


def _files(ctx, tmp_path, synthetic, flights_parquet):
    """Flights as parquet with ``carrier`` renamed ``airline`` (a copy of
    ``flights_parquet``); weather as CSV with a header."""
    flights, weather = synthetic
    spark = ctx.spark
    shutil.copytree(flights_parquet, tmp_path / "flights")
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


def test_a_files_sources_batch_is_computed_once_and_its_new_table_not_checked_again(
    ctx, monkeypatch, tmp_path, synthetic, flights_parquet
):
    """A files source's batch is persisted for ingest's checks and write: its rows are
    computed once (a Python UDF on the flights' key counts them), and the features step
    does not check again the tables ingest created from it."""
    computed = counting_flight_keys(ctx, monkeypatch)
    run = _with_sources(ctx, **_files(ctx, tmp_path, synthetic, flights_parquet))
    ingest.run(run)
    assert computed.value == len(synthetic[0])
    read = tables_checked(monkeypatch)
    check_inputs(run, "features")
    assert read == []


# Spark reads Arrow data smaller than this many bytes (48 MB by default) as one local
# relation, whose partitions follow spark.sql.leafNodeDefaultParallelism, not its batches.
ARROW_LOCAL_RELATION = "spark.sql.execution.arrow.localRelationThreshold"


def test_files_and_table_sources_fill_bronze_like_the_example(
    ctx, tmp_path, synthetic, flights_parquet
):
    flights, weather = synthetic
    specs = _files(ctx, tmp_path, synthetic, flights_parquet)
    result = ingest.run(_with_sources(ctx, **specs))
    names = ctx.settings.table("flights_bronze"), ctx.settings.table("weather_bronze")
    assert result["rows"] == {names[0]: len(flights), names[1]: len(weather)}
    bronze = ctx.tables.read(names[0])
    assert {r["carrier"] for r in bronze.select("carrier").distinct().collect()} == set(
        flights.carrier
    )
    from_files = ctx.tables.read(names[1]).toPandas()

    # The same weather from a Delta table by name, its temperature column named otherwise
    # and mapped, into a weather bronze table made anew (its folder removed): the same
    # rows; flights have nothing new to append.
    raw_name = f"{ctx.settings.catalog}.raw.weather_observations"
    raw = weather[list(CONTRACT.bronze("weather_bronze").columns)]
    ctx.tables.overwrite(
        ctx.spark.createDataFrame(raw.rename(columns={"temp": "temperature_f"})), raw_name
    )
    shutil.rmtree(ctx.tables.path(names[1]))
    table = {"kind": "table", "name": raw_name, "columns": {"temp": "temperature_f"}}
    again = ingest.run(_with_sources(ctx, **{**specs, "weather_bronze": table}))
    assert again["appended"] == {names[0]: 0, names[1]: len(weather)}
    keys = list(CONTRACT.bronze("weather_bronze").keys)
    from_table = ctx.tables.read(names[1]).toPandas()
    pd.testing.assert_frame_equal(
        from_table.sort_values(keys).reset_index(drop=True),
        from_files.sort_values(keys).reset_index(drop=True),
    )


def test_a_source_lacking_a_contract_column_is_refused_naming_it(
    ctx, tmp_path, synthetic, flights_parquet
):
    specs = _files(ctx, tmp_path, synthetic, flights_parquet)
    specs["flights_bronze"]["columns"] = {}  # the file calls the carrier "airline"
    with pytest.raises(DataCheckError) as error:
        ingest.run(_with_sources(ctx, **specs))
    assert str(error.value) == (
        f"sources.flights_bronze (files {tmp_path / 'flights'}): "
        "column carrier: expected string, found missing"
    )
    assert not ctx.tables.exists(ctx.settings.table("flights_bronze"))
    assert not ctx.tables.exists(ctx.settings.table("weather_bronze"))


def test_a_source_column_of_the_wrong_type_is_refused_naming_both_types(
    ctx, tmp_path, synthetic, flights_parquet
):
    specs = _files(ctx, tmp_path, synthetic, flights_parquet)
    specs["weather_bronze"]["schema"] = WEATHER_DDL.replace("temp DOUBLE", "temp STRING")
    with pytest.raises(DataCheckError) as error:
        ingest.run(_with_sources(ctx, **specs))
    assert str(error.value) == (
        f"sources.weather_bronze (files {tmp_path / 'weather.csv'}): "
        "column temp: expected numeric, found string"
    )
    assert not ctx.tables.exists(ctx.settings.table("flights_bronze"))


def test_files_whose_columns_differ_from_the_schema_are_refused_naming_both(
    ctx, tmp_path, synthetic, flights_parquet
):
    """Spark reads a schema column the Parquet files lack as nulls, and CSV columns by
    position whatever the header says: both are refused before anything is written."""
    specs = _files(ctx, tmp_path, synthetic, flights_parquet)
    columns = list(CONTRACT.bronze("weather_bronze").columns)
    swapped = [columns[1], columns[0], *columns[2:]]  # the header's first two swapped
    synthetic[1][swapped].to_csv(tmp_path / "weather.csv", index=False)
    specs["weather_bronze"]["options"] = {"Header": "true"}  # Spark reads keys without case
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


def test_a_csv_value_that_does_not_parse_stops_ingest_before_any_write(
    ctx, tmp_path, synthetic, flights_parquet
):
    specs = _files(ctx, tmp_path, synthetic, flights_parquet)
    weather = synthetic[1][list(CONTRACT.bronze("weather_bronze").columns)]
    path = _bad_csv(tmp_path, specs, "weather_bronze", weather, "temp", "warm")
    message = _refused(ctx, specs)  # flights_bronze unwritten too: all are checked first
    assert message.startswith(
        f"sources.weather_bronze (files {path}): a value does not parse "
        'as its schema type (java.lang.NumberFormatException: For input string: "warm") '
        "in the record [JFK,"
    )
    # Spark does not name the column: the message names those null in the record, the
    # bad value's and those of the row that are empty in the file.
    row = weather.iloc[len(weather) // 2]
    nulls = [c for c in weather.columns if c == "temp" or pd.isna(row[c])]
    assert message.endswith(
        f" (it may be in one of the columns null there: {', '.join(nulls)}); fix the files, or "
        "set options.mode PERMISSIVE to read such values as null"
    )
    # The same file read as Spark's default (PERMISSIVE) would have written "warm" as null;
    # the option keys are read without case, as Spark reads them.
    specs["weather_bronze"]["options"] = {"HEADER": "true", "Mode": "PERMISSIVE"}
    ingest.run(_with_sources(ctx, **specs))
    bronze = ctx.tables.read(ctx.settings.table("weather_bronze"))
    assert bronze.where("temp IS NULL").count() == weather["temp"].isna().sum() + 1


@pytest.mark.parametrize(
    ("table_key", "column", "value"),
    [("weather_bronze", "dewp", "damp"), ("flights_bronze", "day", "Tuesday")],
)
def test_a_value_of_a_column_no_check_reads_stops_ingest_before_any_write(
    ctx, tmp_path, synthetic, flights_parquet, table_key, column, value
):
    """``dewp`` and ``day`` have no rule (no range, not a key). The bad source is checked
    last, after the other one, which would be written first if the write were the first
    to parse the column: for ``day`` it would be if the checks did not read every column
    (the flights' rules read no ``day``); ``dewp`` is also read by the weather's key
    check, which ranks an observation's repeated rows by every column."""
    specs = _files(ctx, tmp_path, synthetic, flights_parquet)
    flights, weather = synthetic
    frame = {
        "flights_bronze": flights.rename(columns={"carrier": "airline"}),
        "weather_bronze": weather[list(CONTRACT.bronze("weather_bronze").columns)],
    }[table_key]
    path = _bad_csv(tmp_path, specs, table_key, frame, column, value)
    assert _refused(ctx, specs, checked_last=table_key).startswith(
        f"sources.{table_key} (files {path}): a value does not parse as its schema type "
        f'(java.lang.NumberFormatException: For input string: "{value}") in the record ['
    )


def test_the_example_source_reaches_spark_in_at_most_two_partitions(ctx):
    # A month of real flights is three 10,000-row Arrow batches. A source above
    # spark.sql.execution.arrow.localRelationThreshold (48 MB by default, as the full
    # year's flights are) reaches Spark in one partition per batch, so createDataFrame
    # alone would make three partitions, and a Delta write three files. The threshold is
    # 0 here so that a month is read that way too.
    january = Context(replace(ctx.settings, source={"start": "2013-01-01", "end": "2013-02-01"}))
    flights = sources.load_flights(january.settings)  # each read parses the year's file
    rows = flights.num_rows
    assert rows > 20_000
    ctx.spark.conf.set(ARROW_LOCAL_RELATION, "0")
    try:
        frame = sources.load(january, "flights_bronze")
        unbounded = ctx.spark.createDataFrame(flights)
        assert unbounded.rdd.getNumPartitions() == 3
        assert frame.count() == rows
        assert frame.rdd.getNumPartitions() == sources.EXAMPLE_PARTITIONS == 2
    finally:
        ctx.spark.conf.unset(ARROW_LOCAL_RELATION)


def _weather_json(tmp_path, synthetic, keep=lambda i, column: True) -> Path:
    """The synthetic weather as JSON lines, each record holding the contract columns for
    which ``keep(row number, column)`` is true."""
    weather = synthetic[1][list(CONTRACT.bronze("weather_bronze").columns)]
    records = weather.astype(object).where(weather.notna(), None).to_dict(orient="records")
    path = tmp_path / "weather.json"
    path.write_text(
        "".join(
            json.dumps({c: v for c, v in record.items() if keep(i, c)}) + "\n"
            for i, record in enumerate(records)
        )
    )
    return path


def _json_source(path) -> dict:
    return {"kind": "files", "path": str(path), "format": "json", "schema": WEATHER_DDL}


def test_a_schema_column_no_json_record_has_is_refused_naming_it(
    ctx, tmp_path, synthetic, flights_parquet
):
    """Spark reads a JSON key no record has as nulls, and matches keys with their case."""
    specs = _files(ctx, tmp_path, synthetic, flights_parquet)
    path = _weather_json(tmp_path, synthetic, keep=lambda i, c: c != "dewp")
    specs["weather_bronze"] = _json_source(path)
    others = sorted(c for c in CONTRACT.bronze("weather_bronze").columns if c != "dewp")
    assert _refused(ctx, specs) == (
        f"sources.weather_bronze (files {path}): schema column dewp not in the files "
        f"(they have {', '.join(others)})"
    )
    path.write_text(path.read_text().replace('"temp":', '"Temp":'))
    cased = sorted(["Temp", *(c for c in others if c != "temp")])  # Spark sorts the keys
    assert _refused(ctx, specs) == (
        f"sources.weather_bronze (files {path}): schema column temp, dewp not in the files "
        f"(they have {', '.join(cased)}); Spark matches JSON keys with "
        "their case"
    )
    # Both spellings in one record: Spark's key inference cannot keep them apart.
    lines = path.read_text().splitlines()
    lines[7] = lines[7].replace('"Temp":', '"temp": 1.0, "Temp":')
    path.write_text("\n".join(lines) + "\n")
    assert _refused(ctx, specs) == (
        f"sources.weather_bronze (files {path}): JSON records hold two keys named temp in "
        "different case, which Spark cannot read as two columns: rename one in the files"
    )


def test_a_long_column_list_is_cut_after_thirty_names():
    found = [f"c{i}" for i in range(45)]
    assert sources.file_columns_problem(["temp"], found, "json") == (
        f"schema column temp not in the files (they have {', '.join(found[:30])} and 15 more)"
    )
    assert sources.file_columns_problem(["c44"], found, "json") is None


def test_a_json_key_of_one_record_is_found_beyond_the_sample(
    ctx, tmp_path, synthetic, flights_parquet
):
    """The keys are first read from a sample of the records; ``dewp`` is in one record of
    792, which the sample misses, and ingest then reads every record's keys."""
    specs = _files(ctx, tmp_path, synthetic, flights_parquet)
    path = _weather_json(tmp_path, synthetic, keep=lambda i, c: c != "dewp" or i == 400)
    weather = synthetic[1]
    sampled = ctx.spark.read.option("samplingRatio", sources.JSON_SAMPLE).json(str(path))
    assert "dewp" not in sampled.columns
    json_ctx = _with_sources(ctx, weather_bronze=_json_source(path))
    spec = json_ctx.settings.sources["weather_bronze"]
    assert "dewp" in sources.file_columns(json_ctx, spec, ["dewp"])
    specs["weather_bronze"] = _json_source(path)
    result = ingest.run(_with_sources(ctx, **specs))
    name = ctx.settings.table("weather_bronze")
    assert result["rows"][name] == len(weather)
    dewp = ctx.tables.read(name).where("dewp IS NOT NULL").collect()
    assert [row["dewp"] for row in dewp] == [weather["dewp"].iloc[400]]


def test_the_json_parse_error_is_bounded(ctx, tmp_path, synthetic, flights_parquet):
    """Spark's message for a JSON string that is not a number quotes the whole string: the
    cause is cut to 300 characters, the record to 200."""
    specs = _files(ctx, tmp_path, synthetic, flights_parquet)
    path = _weather_json(tmp_path, synthetic)
    lines = path.read_text().splitlines()
    temp = json.loads(lines[100])["temp"]
    lines[100] = lines[100].replace(f'"temp": {temp}', f'"temp": "{"9" * 5000}"')
    path.write_text("\n".join(lines) + "\n")
    specs["weather_bronze"] = _json_source(path)
    message = _refused(ctx, specs)
    prefix = f"sources.weather_bronze (files {path}): a value does not parse as its schema type ("
    assert message.startswith(prefix)
    rest = message[len(prefix) :]
    cause = rest[: rest.index("9...)") + len("9...")]  # Spark's message holds the 5,000 9s
    assert cause.startswith("org.apache.spark.SparkRuntimeException: [MALFORMED_RECORD_IN_")
    assert len(cause) == 300
    assert message.endswith(
        "; fix the files, or set options.mode PERMISSIVE to read such values as null"
    )
    assert len(message) < len(prefix) + 300 + 200 + 100


SEEN = "01/02/2013 05:00"  # in a pattern Spark does not read by default


@pytest.mark.parametrize(
    ("kind", "value", "option", "pattern", "read"),
    [
        ("TIMESTAMP", SEEN, "timestampFormat", "MM/dd/yyyy HH:mm", datetime(2013, 1, 2, 5)),
        ("TIMESTAMP_NTZ", SEEN, "timestampNTZFormat", "MM/dd/yyyy HH:mm", datetime(2013, 1, 2, 5)),
        ("DATE", SEEN[:10], "dateFormat", "MM/dd/yyyy", date(2013, 1, 2)),
    ],
)
def test_dates_and_times_in_another_pattern_name_the_option_that_reads_them(
    ctx, tmp_path, synthetic, flights_parquet, kind, value, option, pattern, read
):
    """The schema's columns of the type are named as Spark parses the schema (the words of
    a column's COMMENT are not columns), and only those null in the failed record:
    ``since``, a TIMESTAMP in Spark's default pattern, parses and is not named, nor is its
    option (for DATE, Spark's error does not say the type)."""
    specs = _files(ctx, tmp_path, synthetic, flights_parquet)
    weather = synthetic[1][list(CONTRACT.bronze("weather_bronze").columns)].copy()
    weather["seen"] = value
    weather["since"] = "2013-01-02 05:00:00"
    path = tmp_path / "weather.csv"
    weather.to_csv(path, index=False)
    specs["weather_bronze"]["schema"] = (
        f"{WEATHER_DDL}, seen {kind} COMMENT 'first seen, a {kind.lower()} from the gate', "
        "since TIMESTAMP"
    )
    message = _refused(ctx, specs)
    prefix = f"sources.weather_bronze (files {path}): a value does not parse as its schema type ("
    assert message.startswith(prefix)
    assert f"'{value}'" in message[len(prefix) :].split(")")[0]  # Spark's cause quotes it
    example = "MM/dd/yyyy" if kind == "DATE" else "MM/dd/yyyy HH:mm"
    assert message.endswith(
        f"; schema {kind} column seen: set options.{option} to the files' pattern "
        f"(e.g. {example}), or fix the files, or set options.mode PERMISSIVE to read "
        "such values as null"
    )
    assert message.count("set options.") == 2  # this hint and PERMISSIVE's
    # The option the message names reads them.
    specs["weather_bronze"]["options"] = {"header": "true", option: pattern}
    rows = sources.load(_with_sources(ctx, **specs), "weather_bronze").select("seen")
    assert {row["seen"] for row in rows.distinct().collect()} == {read}


def test_a_string_timestamp_to_bronze_cannot_convert_is_one_line(
    ctx, tmp_path, synthetic, flights_parquet
):
    """``time_hour`` is a string column of the contract, made a timestamp by the example
    module's to_bronze (``to_timestamp``, ISO-8601)."""
    specs = _files(ctx, tmp_path, synthetic, flights_parquet)
    weather = synthetic[1][list(CONTRACT.bronze("weather_bronze").columns)]
    path = _bad_csv(tmp_path, specs, "weather_bronze", weather, "time_hour", "01/02/2013 05:00")
    assert _refused(ctx, specs) == (
        f"sources.weather_bronze (files {path}): a source value does not convert "
        "([CAST_INVALID_INPUT] The value '01/02/2013 05:00' of the type \"STRING\" cannot be "
        'cast to "TIMESTAMP" because it is malformed. Correct the value as per the syntax, '
        "or change its target type. Use `try_cast` to tolerate malformed input and return "
        "NULL instead. SQLSTATE: 22018); the example module's to_bronze "
        "(features/definitions.py) converts source columns: give the values in the format it "
        "reads (to_timestamp with no pattern: ISO-8601, e.g. 2013-01-01T05:00:00Z) or convert "
        "the source's format there"
    )


def test_parquet_files_with_nanosecond_timestamps_are_refused_in_one_line(
    ctx, tmp_path, synthetic, flights_parquet
):
    """pandas writes a nanosecond column's timestamps in nanoseconds, a Parquet type Spark
    does not read, even in a column the schema leaves out (Spark reads the files' whole
    schema)."""
    specs = _files(ctx, tmp_path, synthetic, flights_parquet)
    path = tmp_path / "flights-by-pandas.parquet"
    flights = synthetic[0].rename(columns={"carrier": "airline"})
    logged = pd.to_datetime(["2013-01-01 05:00"] * len(flights), utc=True).as_unit("ns")
    flights.assign(logged_at=logged).to_parquet(path)
    specs["flights_bronze"]["path"] = str(path)
    assert _refused(ctx, specs, checked_last="flights_bronze") == (
        f"sources.flights_bronze (files {path}): the Parquet files hold a column of a type "
        "Spark cannot read ([PARQUET_TYPE_ILLEGAL] Illegal Parquet type: INT64 "
        "(TIMESTAMP(NANOS,true)). SQLSTATE: 42846): write timestamps in microseconds "
        '(pandas: to_parquet(..., coerce_timestamps="us"))'
    )


def test_a_parquet_column_of_a_wider_type_names_the_type_to_declare(
    ctx, tmp_path, synthetic, flights_parquet
):
    """``day`` is INT64 in the files (pandas int64); the schema says INT, which Spark
    cannot read it as. ``day`` has no rule, and flights are checked last."""
    specs = _files(ctx, tmp_path, synthetic, flights_parquet)
    assert "day bigint" in specs["flights_bronze"]["schema"]
    specs["flights_bronze"]["schema"] = specs["flights_bronze"]["schema"].replace(
        "day bigint", "day INT"
    )
    assert _refused(ctx, specs, checked_last="flights_bronze") == (
        f"sources.flights_bronze (files {tmp_path / 'flights'}): column day is int in the "
        "schema but INT64 in the Parquet files: declare it BIGINT in schema"
    )


def test_a_failing_ingest_prints_one_line_and_no_java_stack(
    ctx, tmp_path, synthetic, flights_parquet
):
    """The ingest console script in its own process (its own JVM and stderr): neither the
    failed Spark task's Java stack trace, which the executor logs, nor PySpark's JSON log
    of an error raised at a DataFrame call (``to_bronze``'s timestamp cast), with its
    Python stack, is printed before the error."""
    specs = _files(ctx, tmp_path, synthetic, flights_parquet)
    weather = synthetic[1][list(CONTRACT.bronze("weather_bronze").columns)]
    path = _bad_csv(tmp_path, specs, "weather_bronze", weather, "time_hour", "01/02/2013 05:00")
    override = tmp_path / "sources.yml"
    override.write_text(json.dumps({"sources": specs}))  # JSON is YAML
    script = Path(sys.executable).parent / "ingest"
    done = subprocess.run(
        [str(script), "--env", "local", "--config", str(override)],
        capture_output=True,
        text=True,
        env={**os.environ, "MLOPS_LOCAL_ROOT": str(tmp_path / "run")},
        timeout=600,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    err = done.stderr.splitlines()
    assert err[-1].startswith(
        f"error: sources.weather_bronze (files {path}): a source value does not convert "
        "([CAST_INVALID_INPUT] The value '01/02/2013 05:00'"
    )
    assert not [line for line in err if line.startswith("\tat ") or "at org.apache" in line]
    assert not [line for line in err if " ERROR " in line or '"ERROR"' in line], err
    assert not [line for line in err if line.startswith("Traceback")], err
    assert done.stdout == ""
