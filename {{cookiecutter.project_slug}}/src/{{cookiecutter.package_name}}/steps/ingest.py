"""Step 1, ingest: each source into its bronze Delta table (``contract.bronze_tables``).

Bronze is append-only: each run inserts, in one commit per table, the source rows
stamped before the as-of instant (``settings.as_of``, by the table's contract
timestamp) and within ``source.start``/``source.end``, whose key is not in bronze
yet, and changes no row already there, so a rerun duplicates nothing and a
streaming query can follow the entity table. Every source is checked against the
contract (columns and kinds, :func:`..sources.load`) and every batch against its bronze
table's expectations (keys unique and not null, value ranges: :func:`..checks.failures`)
before the first write, so a bad source row never reaches bronze. The tables are
checked side by side, then written side by side (:func:`..runtime.side_by_side.each_at_once`),
in separate commits: if one write fails, the other tables still commit their new rows and
the failed one keeps its previous version; a rerun appends the missing rows, which repairs
it.

On classic Spark the batch of a files or table source is computed once, for its checks
and its write (:func:`..runtime.tables.computed_once`). The example's batches, whose rows
Spark holds already (:func:`..sources.held_in_memory`), are computed again by the write
instead: the same rows when the plan is deterministic (:func:`..runtime.tables.deterministic`),
and faster than persisting them (on the full data, 2 cores, load about 10, alternating
runs in one session: 12.3 s against 15.2 s for both tables' checks and writes). A table
this run creates holds exactly the batch that passed its expectations, so that version is
recorded as checked (:func:`..checks.record_passed`): the later steps of the process
(``run-all``) do not check it again. Over Spark Connect nothing is recorded and the
features step checks the table: the write computes a files or table source's batch anew
from its source, which may have changed, and the plan of the example's batch cannot be
inspected there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from pyspark.sql import DataFrame

from .. import sources
from ..checks import DataCheckError, expectations, failures, record_passed
from ..config import parse_as_of
from ..features import definitions
from ..features.training_set import before
from ..runtime.context import Context
from ..runtime.side_by_side import each_at_once
from ..runtime.tables import computed_once, computes_once, deterministic


def bronze_rows(ctx: Context, table_key: str) -> DataFrame:
    """Bronze rows of ``table_key``: its source, checked, through the example module's
    :func:`..features.definitions.to_bronze`, cut at the as-of instant and the slice.

    Raises DataCheckError naming the source and column when the source breaks the contract,
    ExampleDataMissing (a ConfigError) when the example source's package or file is not
    installed (:func:`..sources.load`).
    """
    settings = ctx.settings
    stamp = settings.contract.bronze(table_key).timestamp
    frame = definitions.to_bronze(table_key, sources.load(ctx, table_key))
    frame = frame.where(before(stamp, settings.as_of))
    if settings.source.get("start"):
        frame = frame.where(~before(stamp, parse_as_of(settings.source["start"], "source.start")))
    if settings.source.get("end"):
        frame = frame.where(before(stamp, parse_as_of(settings.source["end"], "source.end")))
    return frame


@dataclass(frozen=True)
class _Batch:
    """The bronze rows of one table for its checks and its write (``rows``), and how to
    tell whether the table version its write creates holds the rows its checks read
    (``recordable()``: :func:`..checks.record_passed` may record that version as checked),
    asked only when the write creates the table."""

    rows: DataFrame
    recordable: Callable[[], bool]


@contextmanager
def _batch(ctx: Context, table_key: str, keys: Sequence[str]) -> Iterator[_Batch]:
    """The batch of ``table_key`` (:func:`bronze_rows`), whose key columns are ``keys``,
    decided once by its source.

    The example's (:func:`..sources.held_in_memory`), whose rows Spark computes again
    faster than it persists them: the rows as they are, recordable when their plan is
    deterministic (:func:`..runtime.tables.deterministic`, which has Spark analyse the
    plan: asked only for a table the write creates). A files or table source's:
    persisted while the block runs (:func:`..runtime.tables.computed_once`), recordable
    when that computes them once (:func:`..runtime.tables.computes_once`).
    """
    frame = bronze_rows(ctx, table_key)
    if sources.held_in_memory(ctx, table_key):
        yield _Batch(frame, lambda: deterministic(frame))
        return
    with computed_once(frame, keys) as rows:
        yield _Batch(rows, lambda: computes_once(frame, keys))


def run(ctx: Context) -> dict:
    """Load every source before ``settings.as_of`` and append its new rows to bronze.

    Returns ``rows`` (row count per table) and ``appended`` (rows inserted per table).
    Raises DataCheckError naming the source, column, expected and found type when a
    source breaks the contract, or naming the source and each broken expectation
    (``column distance: 2 rows below 0``, ``key flight_id: 1 value is shared by 2
    rows (e.g. ...)``) (nothing is written then), or naming the source and Spark's message
    when its files cannot be read as their schema says (a value that does not parse, a
    Parquet column of another type: :func:`..sources.unreadable`; nothing is written then).
    Of several sources refused, the first's error (``contract.bronze_tables`` order) is
    raised, with a note per other (``<table key> raised too: <its error>``).
    Raises ExampleDataMissing (a ConfigError) naming the source when the example's package
    or file is not installed (nothing is written then).
    """
    settings = ctx.settings
    contract = settings.contract
    expected = expectations(contract)
    with ExitStack() as stack:
        batches = {
            key: stack.enter_context(_batch(ctx, key, expected[key].keys))
            for key in contract.bronze_tables
        }

        def check(key: str, batch: _Batch) -> None:
            # A files source: the checks read every column, so a value that does not parse
            # stops ingest here, not in a write (the rules alone read fewer columns).
            read_all = sources.parsed_when_read(ctx, key)
            with sources.parse_errors(ctx, key):
                problems = failures(batch.rows, expected[key], read_every_column=read_all)
            if problems:
                where = sources.describe(key, settings.sources[key])
                raise DataCheckError(f"{where}: " + "; ".join(problems))

        # Every batch is checked, the tables side by side, before any is written; of
        # several refused, the first table's error (contract order) is raised, noting
        # the others'.
        each_at_once(batches, check, ctx.spark)

        def append(key: str, batch: _Batch) -> tuple[int, int]:
            name = settings.table(key)
            created = not ctx.tables.exists(name)
            keys = list(expected[key].keys)  # the keys its checks and _batch used
            with sources.parse_errors(ctx, key):
                added = ctx.tables.insert_new(batch.rows, name, keys)
            if created and batch.recordable():
                record_passed(ctx, key, added)
            return added, ctx.tables.count(name)

        # One commit per table, side by side.
        written = each_at_once(batches, append, ctx.spark)
    appended = {settings.table(key): added for key, (added, _) in written.items()}
    out = {settings.table(key): rows for key, (_, rows) in written.items()}
    return {"rows": out, "appended": appended}
