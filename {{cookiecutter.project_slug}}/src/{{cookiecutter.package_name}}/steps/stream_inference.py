"""Streaming inference: follow the contract's entity table and score new rows with the champion.

A Structured Streaming query reads the bronze table ``contract.entity_table``
(append-only: the ingest step only inserts new rows) with trigger ``availableNow``:
each run scores the rows that arrived since the previous run, in micro-batches, then stops.
Its progress is the checkpoint at ``streaming.checkpoint``. Each micro-batch is
built into model inputs by the function batch inference uses (the point-in-time
lookup runs per micro-batch, in ``foreachBatch``, since streams do not support its
window functions) and scored with the champion version resolved once per run.

Once per flight: each micro-batch inserts into ``tables.stream_predictions`` the flights
(by the predictions' keys) the table does not hold yet, in one MERGE commit
(:meth:`..runtime.tables.Tables.insert_new`). A run stopped after writing a micro-batch
but before committing it to the checkpoint replays that batch when restarted, and a new
checkpoint (deleted, or a new path) reads bronze from the scoring window's start again:
both insert no flight twice, and a flight keeps the prediction and version that first
scored it. Before the query starts, bronze and the feature tables are checked as batch
inference checks its inputs, and so are the keys of the events (spine rows) of every
row the stream is to score (a micro-batch would score one of two events sharing a key,
or insert both): a failure is a one-line DataCheckError, and nothing is written.
A checkpoint cannot follow bronze past a commit that rewrote or deleted rows
(an overwrite), nor a bronze table dropped and created again: the run stops with a
ConfigError naming ``streaming.checkpoint`` (:func:`_unfollowed`), having written nothing.
"""

from __future__ import annotations

from pyspark.errors import StreamingQueryException
from pyspark.sql import DataFrame

from ..checks import check_tables, table_keys
from ..config import ConfigError, instant_sql
from ..features.model_inputs import check_input_keys, model_input_of
from ..runtime.context import Context
from ..runtime.tables import Tables
from ..streaming.batches import counting_batches
from ..streaming.settings import checkpoint_location, max_files_per_trigger
from .batch_inference import champion_version, model_udf, score


def _read_stream(ctx: Context, name: str) -> DataFrame:
    """Table ``name`` as a Delta streaming source (bounded micro-batches)."""
    reader = ctx.spark.readStream.format("delta").option(
        "maxFilesPerTrigger", max_files_per_trigger(ctx.settings)
    )
    if ctx.settings.runtime == "local":
        return reader.load(str(ctx.tables.path(name)))
    return reader.table(name)


# Delta's error classes for a source its streaming checkpoint cannot follow, with what
# the checkpoint then follows.
_REWRITTEN = (
    "{source} as it was before a commit that rewrote or deleted rows (only appends can be followed)"
)
_UNFOLLOWED = {
    "DELTA_SOURCE_TABLE_IGNORE_CHANGES": _REWRITTEN,
    "DELTA_SOURCE_IGNORE_DELETE": _REWRITTEN,
    "DIFFERENT_DELTA_TABLE_READ_BY_STREAMING_SOURCE": "another table than {source} (it was "
    "created again, or the checkpoint is another query's)",
}


def _unfollowed(error: StreamingQueryException, checkpoint: str, source: str):
    """The one-line ConfigError naming ``streaming.checkpoint`` for a query ``error`` that
    says the checkpoint cannot follow ``source`` (see :data:`_UNFOLLOWED`), else None.

    Delta raises those errors as the query plans a micro-batch, before it writes one.
    """
    text = str(error)
    for condition, follows in _UNFOLLOWED.items():
        if f"[{condition}]" in text:
            return ConfigError(
                f"streaming.checkpoint: {checkpoint} follows {follows.format(source=source)}: "
                "delete the checkpoint or set a new path; the next run scores again from the "
                "scoring window's start and inserts only the rows whose keys the predictions "
                "table lacks"
            )
    return None


def _write_predictions(batch: DataFrame, target: str, ctx: Context) -> None:
    """Insert the rows of ``batch`` (scored flights, unique on the predictions' keys) whose
    keys ``target`` does not hold yet, in one commit; create ``target`` on the first.

    Runs inside ``foreachBatch``, so it writes through the micro-batch's own session (over
    Spark Connect a Python process of the server). A replayed micro-batch finds its
    flights written and inserts none.
    """
    keys = list(table_keys(ctx.settings.contract, "predictions"))
    # New columns (a contract that gained a model input) are added to the table.
    Tables(batch.sparkSession, ctx.settings).insert_new(batch, target, keys, evolve=True)


def stream_predictions(ctx: Context) -> DataFrame:
    """The streaming predictions table, with the batch predictions table's columns.

    The contract's entity keys and event timestamp, the model inputs, prediction
    (double), model_version (string) and scored_at (timestamp, UTC). Raises MissingTableError
    before the first stream-inference run.
    """
    return ctx.tables.read(ctx.settings.table("stream_predictions"), "stream-inference")


def run(ctx: Context) -> dict:
    """Score the entity rows that arrived in bronze since the last run; stop when caught up.

    Rows whose event timestamp is before ``windows.scoring.start`` are skipped (they are the
    training and validation history). Returns rows_scored (rows this run added),
    micro_batches (batches of this run that read input, from the query's progress events,
    every one however long the run: :mod:`..streaming.batches`; a replayed batch reads its
    rows again and inserts those not written yet),
    model_version (int) and rows (row count of the streaming predictions table).
    Raises, before anything is written: LookupError when no champion exists,
    MissingTableError when bronze or the feature tables do not exist, ConfigError when
    the spine lacks a column the contract needs (:mod:`..features.spine`), when the
    champion takes a model input the contract does not list
    (:func:`.batch_inference.refuse_other_inputs`) or when the
    checkpoint cannot follow bronze (rewritten, or created again: :func:`_unfollowed`),
    DataCheckError when bronze or a feature table breaks its expectations
    (:func:`..checks.check_tables`, as batch inference checks its inputs) or when two
    events from the scoring window's start on share the predictions' keys
    (:func:`..features.model_inputs.check_input_keys`, before the model is loaded).
    """
    settings = ctx.settings
    contract = settings.contract
    source = settings.table(contract.entity_table)
    target = settings.table("stream_predictions")
    ctx.tables.require(source, "the ingest step")
    # From the scoring window's start on, with no end: a streaming source does not offer
    # a row again once the checkpoint has passed it.
    start = instant_sql(settings.windows["scoring"].start)
    scheduled = f"`{contract.event_timestamp}` >= {start}"
    # Everything is checked before the query starts: inside a micro-batch an error would
    # reach the caller wrapped in a StreamingQueryException, after the checkpoint (and
    # after the run's earlier micro-batches were written). First the spine and that the
    # feature tables exist (the model inputs are built lazily: no job runs), then the
    # input tables, as batch inference checks them, then the keys of the events (the
    # spine) of every row the stream is to score. A micro-batch's model inputs are its
    # rows' spine looked up: of two events sharing a key the Spark lookup would keep one,
    # chosen by no rule, and a lookup that kept both would insert both.
    rows = ctx.tables.read(source).where(scheduled)
    model_input_of(ctx, rows)
    check_tables(ctx, (contract.entity_table, *contract.feature_tables))
    check_input_keys(ctx, rows, target)
    checkpoint = checkpoint_location(settings)
    version = champion_version(ctx)
    predict = model_udf(ctx, version)
    columns = contract.feature_columns
    arrivals = _read_stream(ctx, source).where(scheduled)
    before = ctx.tables.count(target)

    def each_batch(batch: DataFrame, batch_id: int) -> None:
        # Over Spark Connect this runs in a Python process of the server: no side effects here.
        inputs = model_input_of(ctx, batch).select(*contract.entity_keys_and_time, *columns)
        scored = score(inputs, predict, version, columns)
        _write_predictions(scored, target, ctx)

    with counting_batches(ctx.spark) as counter:
        query = (
            arrivals.writeStream.foreachBatch(each_batch)
            .option("checkpointLocation", checkpoint)
            .trigger(availableNow=True)
            .start()
        )
        try:
            query.awaitTermination()
        except StreamingQueryException as error:
            unfollowed = _unfollowed(error, checkpoint, source)
            if unfollowed is None:
                raise
            raise unfollowed from None
        batches = counter.batches(query)
    after = ctx.tables.count(target)
    return {
        "rows_scored": after - before,
        "micro_batches": len(batches),
        "model_version": version,
        "rows": {target: after},
    }
