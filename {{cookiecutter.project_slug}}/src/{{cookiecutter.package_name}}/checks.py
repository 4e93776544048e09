"""Input data checks: what each step expects of the tables it reads.

Every table a step reads has expectations derived from the data contract
(:func:`expectations`): columns
that must exist with a kind of type (``string``, ``numeric``, ``timestamp``),
columns that must not be null (keys), value ranges (nulls pass a range check;
declare the column in ``not_null`` to forbid them) and the table's keys, unique
per row. :func:`check_inputs` runs at the start of a step and checks all its input
tables, in one pass over each table's rows. A failure raises
:class:`DataCheckError` with one line per table naming the table, the column or
key, the rule and the number of failing rows. Writes check the keys too
(:func:`.unique_keys.check_unique`, called by :class:`.runtime.tables.Tables`).

The checks are plain Spark aggregations rather than pandera: ``pandera.pyspark``
runs on PySpark 4.1 but starts one Spark job per check and reports which checks
failed without the count of failing rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from .runtime.side_by_side import each_at_once

# DataCheckError and check_unique live in unique_keys.py (both use cases); named here too
# for the steps and tests that import them with the other checks.
from .unique_keys import DataCheckError as DataCheckError
from .unique_keys import check_unique as check_unique
from .unique_keys import counts_and_shared_keys, duplicate_message

if TYPE_CHECKING:  # for annotations only
    from .contract import Contract
    from .runtime.context import Context

KINDS = {
    "string": (T.StringType,),
    "numeric": (T.NumericType,),
    "timestamp": (T.TimestampType, T.TimestampNTZType),
}


@dataclass(frozen=True)
class Expectation:
    """What one table must satisfy.

    columns: column name -> kind (``string``, ``numeric`` or ``timestamp``).
    not_null: columns without nulls (keys and columns every row needs).
    ranges: column -> (low, high), inclusive; None leaves that side open.
    keys: the columns that identify a row; no two rows may share their values.
    """

    columns: dict[str, str]
    not_null: tuple[str, ...] = ()
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    keys: tuple[str, ...] = ()


def expectations(contract: Contract) -> dict[str, Expectation]:
    """The expectations of every table a step reads, derived from the data contract.

    Bronze tables (``contract.bronze_tables``): keys unique and not null, the
    timestamp a timestamp, source columns that are categorical model inputs strings
    without nulls, and the value ranges of the example module
    (:data:`.features.definitions.BRONZE_RANGES`). Feature tables: primary keys and
    timestamp key not null and unique. ``model_input``, ``training_set`` and
    ``predictions``: one row per entity, event timestamp, model inputs by kind, the
    label (numeric; 0..1 for binary classification) and the columns each step adds.
    """
    from .features.definitions import BRONZE_RANGES  # the example module

    out: dict[str, Expectation] = {}
    label_range = {}
    for key, table in contract.bronze_tables.items():
        ranges = dict(BRONZE_RANGES.get(key, {}))
        categorical = [c for c in table.columns if contract.features.get(c) == "categorical"]
        columns = {table.timestamp: "timestamp"}
        for column, kind in table.columns.items():
            if column in ranges or column in categorical:
                columns[column] = "numeric" if column in ranges else kind
        out[key] = Expectation(
            columns=columns,
            not_null=tuple(dict.fromkeys([*table.keys, table.timestamp, *categorical])),
            ranges=ranges,
            keys=tuple(table.keys),
        )
        if contract.label in ranges:
            label_range = {contract.label: ranges[contract.label]}
    if contract.is_classification:
        label_range = {contract.label: (0.0, 1.0)}
    for key, table in contract.feature_tables.items():
        out[key] = Expectation(
            columns={table.timestamp_key: "timestamp"},
            not_null=tuple(table.key_columns),
            keys=tuple(table.key_columns),
        )
    entity = tuple(contract.entity_keys)
    event = contract.event_timestamp
    kinds = {c: "string" if k == "categorical" else "numeric" for c, k in contract.features.items()}
    spine_columns = [c for c in contract.features if c not in _looked_up(contract)]
    out["model_input"] = Expectation(
        columns={
            event: "timestamp",
            contract.lookup_timestamp: "timestamp",
            **{c: kinds[c] for c in spine_columns},
            contract.label: "numeric",
        },
        not_null=(*entity, event, contract.lookup_timestamp, *contract.categorical),
        ranges=label_range,
        keys=entity,
    )
    out["training_set"] = Expectation(
        columns={event: "timestamp", contract.label: "numeric", "split": "string"},
        not_null=(*entity, event, contract.label, "split"),
        ranges=label_range,
        keys=entity,
    )
    out["predictions"] = Expectation(
        columns={event: "timestamp", "prediction": "numeric", "model_version": "string"},
        not_null=(*entity, event, "prediction", "model_version"),
        keys=entity,
    )
    return out


def _looked_up(contract: Contract) -> set[str]:
    return {c for table in contract.feature_tables.values() for c in table.features}


# Tables each step reads, checked before it runs. BRONZE stands for the contract's
# bronze tables, MODEL_INPUT for the tables the model input is built from.
BRONZE = "<bronze tables>"
MODEL_INPUT = "<model input>"
STEP_INPUTS: dict[str, tuple[str, ...]] = {
    "features": (BRONZE,),
    "train": (MODEL_INPUT,),
    "batch_inference": (MODEL_INPUT,),
}


def written_by(contract: Contract, table_key: str) -> str:
    """The step that writes table ``table_key``, for a missing-table message."""
    if table_key in contract.bronze_tables:
        return "the ingest step"
    if table_key in contract.feature_tables or table_key == "model_input":
        return "the features step"
    return {"training_set": "the train step", "predictions": "the batch-inference step"}.get(
        table_key, "an earlier step"
    )


def table_keys(contract: Contract, table_key: str) -> tuple[str, ...]:
    """The key columns of the table configured under ``tables.<table_key>`` (() if none)."""
    expectation = expectations(contract).get(table_key)
    return expectation.keys if expectation else ()


def step_inputs(contract: Contract, step: str) -> tuple[str, ...]:
    """Table keys ``step`` reads: :data:`STEP_INPUTS`, with the bronze tables and the model
    input resolved to the tables of this contract and project
    (:func:`..features.model_inputs.model_input_tables`)."""
    from .features.model_inputs import model_input_tables  # imports Spark code, so late

    inputs: list[str] = []
    for key in STEP_INPUTS.get(step, ()):
        if key == MODEL_INPUT:
            inputs += model_input_tables(contract)
        elif key == BRONZE:
            inputs += contract.bronze_tables
        else:
            inputs.append(key)
    return tuple(inputs)


def _range_rule(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"outside [{low:g}, {high:g}]"
    return f"below {low:g}" if low is not None else f"above {high:g}"


def failures(df: DataFrame, expectation: Expectation, read_every_column: bool = False) -> list[str]:
    """Broken expectations of ``df``, as ``column: rule (n rows)`` strings; empty when clean.

    Schema problems (missing column, wrong kind of type) are reported without
    running Spark; the null and range counts and the shared keys (``key <cols>: n values
    are shared by m rows``) come from one Spark query, one pass over the rows of ``df``.
    With ``read_every_column`` the query also hashes every column of ``df``, so Spark
    reads each of them (a file source's values are parsed there, not first by a write);
    errors Spark raises reading them pass unchanged.
    """
    fields = {f.name: f.dataType for f in df.schema.fields}
    problems = []
    for column, kind in expectation.columns.items():
        if column not in fields:
            problems.append(f"column {column}: missing (expected {kind})")
        elif not isinstance(fields[column], KINDS[kind]):
            problems.append(
                f"column {column}: type {fields[column].simpleString()}, expected {kind}"
            )
    if problems:
        return problems
    counts, rules = [], []
    for column in expectation.not_null:
        counts.append(F.count_if(F.col(column).isNull()))
        rules.append((column, "null"))
    for column, (low, high) in expectation.ranges.items():
        value = F.col(column).cast("double")
        bad = F.lit(False)
        if low is not None:
            bad = bad | (value < low)
        if high is not None:
            bad = bad | (value > high)
        counts.append(F.count_if(F.coalesce(bad, F.lit(False))))
        rules.append((column, _range_rule(low, high)))
    # One hash of every column, counted where it is 0, makes Spark read (parse) each
    # column; the count is not used. Unlike a count per column, it adds one number per
    # key value to the query, whatever the number of columns.
    read = []
    if read_every_column:
        read.append(F.count_if(F.xxhash64(*[F.col(f"`{c}`") for c in df.columns]) == 0))
    if not (counts or read or expectation.keys):
        return []
    totals, (shared, rows, example) = counts_and_shared_keys(df, counts + read, expectation.keys)
    found = [
        f"column {column}: {totals[i]:,} row{'' if totals[i] == 1 else 's'} {rule}"
        for i, (column, rule) in enumerate(rules)
        if totals[i]
    ]
    if shared:
        found.append(duplicate_message(expectation.keys, shared, rows, example))
    return found


def check_frame(df: DataFrame, table: str, expectation: Expectation) -> None:
    """Raise DataCheckError when ``df`` (read from ``table``) breaks ``expectation``.

    The one-line message reads e.g.
    ``input table local.s.orders_bronze: column amount: 3 rows below 0``.
    """
    problems = failures(df, expectation)
    if problems:
        raise DataCheckError(f"input table {table}: " + "; ".join(problems))


def check_inputs(ctx: Context, step: str) -> None:
    """Check every input table of ``step`` (see :func:`step_inputs`) before it runs.

    A table version that passed the same expectation earlier in this process
    (``ctx.checked``, keyed by the table's location and commit stamp,
    :meth:`..runtime.tables.Tables.commit_stamp`) is not checked again, so the steps
    of one process (``run-all``) check a table version once. A new version is always
    checked.
    Raises MissingTableError when an input table does not exist, DataCheckError
    when one breaks its expectations. Steps without declared inputs pass.
    """
    check_tables(ctx, step_inputs(ctx.settings.contract, step))


def check_tables(ctx: Context, keys: Sequence[str]) -> None:
    """Check the tables configured under ``tables.<key>``, for each of ``keys`` (tables
    :func:`expectations` declares), as :func:`check_inputs` checks a step's inputs:
    a table version that passed earlier in this process is not checked again. The tables
    are checked side by side (:func:`.runtime.side_by_side.each_at_once`); of several
    failing, the error of the first in ``keys`` is raised, with a note per other failing
    table (its key and its error).
    Raises MissingTableError when a table does not exist, DataCheckError when one breaks
    its expectations.
    """
    contract = ctx.settings.contract
    declared = expectations(contract)

    def check(key: str, name: str) -> None:
        ctx.tables.require(name, written_by(contract, key))
        passed = _passed(ctx, name, ctx.tables.commit_stamp(name), declared[key])
        if passed not in ctx.checked:
            check_frame(ctx.tables.read(name), name, declared[key])
            ctx.checked.add(passed)

    tables = {key: ctx.settings.table(key) for key in keys}
    if tables:  # a step without inputs needs no Spark session here
        each_at_once(tables, check, ctx.spark)


def _passed(ctx: Context, name: str, stamp: tuple, expectation: Expectation) -> tuple:
    """The ``ctx.checked`` entry of table ``name`` at commit ``stamp`` (from
    :meth:`..runtime.tables.Tables.commit_stamp`) having passed ``expectation``."""
    return (ctx.tables.sql_name(name), stamp, repr(expectation))


def record_passed(ctx: Context, key: str, rows: int) -> bool:
    """Record the current version of the table ``tables.<key>`` as having passed its
    expectations (:func:`expectations`) when it is the table's first version (version 0)
    and that commit wrote ``rows`` rows (:meth:`..runtime.tables.Tables.rows_written`), both
    read from that commit at once (:meth:`..runtime.tables.Tables.newest_commit`).

    For a caller that has just created the table by writing a batch of ``rows`` rows that
    passed :func:`failures` against the same expectation, computed once for the check and
    the write (:func:`..runtime.tables.computes_once`) or computed again by a deterministic
    plan from rows Spark holds (:func:`..runtime.tables.deterministic`,
    :func:`..sources.held_in_memory`): that version holds exactly those
    rows, so :func:`check_tables` in this process does not check it again. Nothing is
    recorded when the newest version is a later one (it also holds rows of earlier
    writes), or when version 0 wrote another number of rows or records none (another
    writer created the table first, and this caller's MERGE added nothing). Returns
    whether it recorded. Raises MissingTableError when the table does not exist.
    """
    name = ctx.settings.table(key)
    stamp, written = ctx.tables.newest_commit(name)  # one read: both of the same commit
    if stamp[0] != 0 or written != rows:
        return False
    ctx.checked.add(_passed(ctx, name, stamp, expectations(ctx.settings.contract)[key]))
    return True
