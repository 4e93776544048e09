"""Streaming inference on the synthetic flights: exactly once, across appends, restarts and
champion changes, with the same predictions as batch inference."""

from __future__ import annotations

import re
import shutil
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
from pyspark.errors import StreamingQueryException
from pyspark.sql import functions as F

from {{ cookiecutter.package_name }}.checks import DataCheckError, check_frame, expectations
from {{ cookiecutter.package_name }}.config import ConfigError, Window
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.runtime.tables import MissingTableError
from {{ cookiecutter.package_name }}.steps import (
    features,
    ingest,
    stream_inference,
)
from {{ cookiecutter.package_name }}.streaming.batches import counting_batches

from .conftest import (
    ENTITY_KEY,
    EVENT_TIME,
    NEXT_DAY,
    SYNTHETIC_WINDOWS,
    local_settings,
    private_copy,
    refusal,
    refuses_a_shared_key,
    rows_in_window,
    serve_sources,
    utc,
    with_next_day,
    with_unproduced_input,
)
from .mlflow_stores import registry, seeded
from .test_promotion import (
    champion_taking_a_dropped_input,
    dropped_input_refusal,
    register_model,
)

pytestmark = pytest.mark.spark


def private(ctx: Context, tmp_path, **streaming) -> Context:
    """A copy of ``ctx``'s state that a test may change, with ``streaming`` settings changed."""
    raw = ctx.settings.raw
    return private_copy(
        ctx, tmp_path / "state", raw={**raw, "streaming": {**raw["streaming"], **streaming}}
    )


def predictions(ctx: Context):
    """Rows of the streaming predictions table as a list of dicts."""
    return [r.asDict() for r in stream_inference.stream_predictions(ctx).collect()]


def from_scoring_start(ctx: Context):
    """The bronze entity rows that the stream is to score: event time at or after the
    scoring window's start (a Spark DataFrame of the entity table's columns)."""
    bronze = ctx.tables.read(ctx.settings.table(ctx.settings.contract.entity_table))
    return bronze.where(bronze[EVENT_TIME] >= ctx.settings.windows["scoring"].start)


def scheduled_from_scoring_start(ctx: Context) -> set[str]:
    """Keys of the bronze entity rows that the stream is to score."""
    return {r[0] for r in from_scoring_start(ctx).select(ENTITY_KEY).collect()}


@contextmanager
def progress_reports_kept(spark, count: int):
    """Inside the block, the queries of ``spark`` keep ``count`` progress reports in their
    ``recentProgress`` (``spark.sql.streaming.numRecentProgressUpdates``, 100 by default);
    the setting is put back after."""
    key = "spark.sql.streaming.numRecentProgressUpdates"
    before = spark.conf.get(key)
    spark.conf.set(key, str(count))
    try:
        yield
    finally:
        spark.conf.set(key, before)


@pytest.fixture(scope="module")
def three_files(trained, tmp_path_factory) -> Context:
    """A copy of the trained synthetic state whose bronze entity table is rewritten as three
    files, each holding rows of every day, so a stream that reads one file per
    micro-batch has three micro-batches (0, 1 and 2): one before the stopped batch 1 and
    one after it. Read-only: copy it with :func:`private_copy`."""
    ctx = private_copy(trained[0], tmp_path_factory.mktemp("three-files") / "state")
    bronze = ctx.settings.table(ctx.settings.contract.entity_table)
    ctx.tables.overwrite(ctx.tables.read(bronze).repartition(3, ENTITY_KEY).cache(), bronze)
    assert from_scoring_start(ctx).select(F.input_file_name()).distinct().count() == 3
    return ctx


def test_appended_day_is_scored_by_the_next_run_only_and_a_new_checkpoint_adds_no_flight_twice(
    trained, synthetic, tmp_path, monkeypatch
):
    """One stream across an append, a champion change and a new checkpoint (three claims,
    one ingest of a new day): the next run scores the appended day and only it, with the
    champion of that run, and every row names the version that scored it. A run on a
    deleted checkpoint reads every flight from the scoring window's start again and
    inserts only those the table lacks, with its champion; the rest keep theirs."""
    flights, _ = synthetic
    ctx = private(trained[0], tmp_path)
    first = stream_inference.run(ctx)
    until_next_day = Window(SYNTHETIC_WINDOWS["scoring"].start, NEXT_DAY.start)
    expected_first = rows_in_window(flights, until_next_day)
    assert first["rows_scored"] == expected_first > 100 and first["model_version"] == 1
    assert stream_inference.run(ctx)["rows_scored"] == 0  # nothing new: nothing scored

    newer = register_model(ctx)
    name = ctx.settings.model_name
    registry(ctx).set_registered_model_alias(name, "champion", str(newer))
    longer_flights, longer_weather = with_next_day(synthetic)
    serve_sources(monkeypatch, longer_flights, longer_weather)
    entity_table = ctx.settings.table(ctx.settings.contract.entity_table)
    appended = ingest.run(ctx)["appended"][entity_table]
    assert appended == rows_in_window(longer_flights, NEXT_DAY) > 50
    features.run(ctx)
    second = stream_inference.run(ctx)
    assert (second["rows_scored"], second["model_version"]) == (appended, newer) == (appended, 2)
    rows = predictions(ctx)
    keys = [r[ENTITY_KEY] for r in rows]
    assert len(keys) == len(set(keys)) == expected_first + appended
    assert set(keys) == scheduled_from_scoring_start(ctx)
    assert all(r["prediction"] is not None for r in rows)
    assert versions_by_day(rows) == {False: {"1"}, True: {"2"}}

    # A new checkpoint: the flights of one scoring day lost from the table meanwhile are
    # scored again, by today's champion (2); no other flight is written twice.
    lost_day = Window(utc(2013, 1, 10), utc(2013, 1, 11))
    target = ctx.tables.sql_name(ctx.settings.table("stream_predictions"))
    ctx.spark.sql(f"DELETE FROM {target} WHERE {lost_day.predicate(EVENT_TIME)}")
    lost = rows_in_window(flights, lost_day)
    shutil.rmtree(stream_inference.checkpoint_location(ctx.settings))
    third = stream_inference.run(ctx)
    assert (third["rows_scored"], third["model_version"]) == (lost, 2) and lost > 50
    rows = predictions(ctx)
    keys = [r[ENTITY_KEY] for r in rows]
    assert len(keys) == len(set(keys)) == expected_first + appended
    assert versions_by_day(rows) == {False: {"1", "2"}, True: {"2"}}
    start, end = (stamp.replace(tzinfo=None) for stamp in (lost_day.start, lost_day.end))
    rescored = {r["model_version"] for r in rows if start <= r[EVENT_TIME] < end}
    assert rescored == {"2"}
    # The predictions' expectations hold for the stream's table too: keys unique.
    table = ctx.settings.table("stream_predictions")
    expectation = expectations(ctx.settings.contract)["predictions"]
    assert check_frame(stream_inference.stream_predictions(ctx), table, expectation) is None


def versions_by_day(rows) -> dict[bool, set[str]]:
    """{row on :data:`NEXT_DAY`: the model versions of those rows} of prediction rows."""
    versions = {}
    for row in rows:
        day = row[EVENT_TIME] >= NEXT_DAY.start.replace(tzinfo=None)
        versions.setdefault(day, set()).add(row["model_version"])
    return versions


def test_stream_predictions_equal_batch_predictions(trained_scored, synthetic, tmp_path):
    ctx = private(trained_scored[0], tmp_path)  # its scoring window was scored by batch
    stream_inference.run(ctx)
    batch = ctx.tables.read(ctx.settings.table("predictions"))
    stream = stream_inference.stream_predictions(ctx)
    assert stream.columns == batch.columns
    window = SYNTHETIC_WINDOWS["scoring"]
    stream_rows = {
        r[ENTITY_KEY]: r["prediction"]
        for r in stream.where(stream[EVENT_TIME] < window.end).collect()
    }
    batch_rows = {r[ENTITY_KEY]: r["prediction"] for r in batch.collect()}
    assert stream_rows.keys() == batch_rows.keys()
    assert len(batch_rows) == rows_in_window(synthetic[0], window) > 100
    assert max(abs(stream_rows[k] - batch_rows[k]) for k in batch_rows) < 1e-9


@pytest.mark.parametrize("stop", ["before_write", "after_write"])
def test_a_run_stopped_after_its_first_micro_batch_loses_and_duplicates_nothing(
    three_files, tmp_path, monkeypatch, stop
):
    ctx = private(three_files, tmp_path, max_files_per_trigger=1)
    real_write = stream_inference._write_predictions
    writes = []  # one per micro-batch: the second is micro-batch 1

    def stopping_write(batch, target, context):
        writes.append(target)
        if len(writes) == 2 and stop == "before_write":
            raise RuntimeError("stopped before writing micro-batch 1")
        real_write(batch, target, context)
        if len(writes) == 2:
            raise RuntimeError("stopped after writing micro-batch 1, before its checkpoint commit")

    scheduled = scheduled_from_scoring_start(ctx)  # bronze is not written below
    monkeypatch.setattr(stream_inference, "_write_predictions", stopping_write)
    with pytest.raises(StreamingQueryException, match="stopped"):
        stream_inference.run(ctx)
    written = len(predictions(ctx))
    assert 0 < written < len(scheduled)
    monkeypatch.setattr(stream_inference, "_write_predictions", real_write)

    # The queries keep one progress report, as a run of more micro-batches than 100 keeps
    # the last 100: the run's micro-batches are counted all the same.
    with progress_reports_kept(ctx.spark, 1):
        restarted = stream_inference.run(ctx)
    keys = [r[ENTITY_KEY] for r in predictions(ctx)]
    assert len(keys) == len(set(keys))  # no duplicate
    assert set(keys) == scheduled  # no loss
    assert restarted["rows_scored"] == len(keys) - written
    # Batch 1 is replayed and reads its rows again (after the write, it finds its flights
    # written and inserts none), then batch 2.
    assert restarted["micro_batches"] == 2


def test_a_rewritten_or_recreated_entity_table_is_refused_in_one_line_naming_the_checkpoint(
    trained, tmp_path
):
    """Bronze overwritten (not appended to) after a run, or dropped and created again: the
    checkpoint cannot follow it. The next run says so in one line naming the setting, the
    table and the remedy, and writes nothing."""
    ctx = private(trained[0], tmp_path)
    stream_inference.run(ctx)
    scored = sorted(predictions(ctx), key=lambda row: row[ENTITY_KEY])
    bronze = ctx.settings.table(ctx.settings.contract.entity_table)
    checkpoint = stream_inference.checkpoint_location(ctx.settings)
    kept = tmp_path / "bronze"
    shutil.copytree(ctx.tables.path(bronze), kept)
    same_rows = ctx.spark.read.format("delta").load(str(kept))
    ctx.tables.overwrite(same_rows, bronze)  # rewritten in place: the same rows, new files
    remedy = (
        "delete the checkpoint or set a new path; the next run scores again from the scoring "
        "window's start and inserts only the rows whose keys the predictions table lacks"
    )
    with pytest.raises(ConfigError) as rewritten:
        stream_inference.run(ctx)
    assert str(rewritten.value) == (
        f"streaming.checkpoint: {checkpoint} follows {bronze} as it was before a commit "
        f"that rewrote or deleted rows (only appends can be followed): {remedy}"
    )
    shutil.rmtree(ctx.tables.path(bronze))  # dropped, and created again by the next write
    ctx.tables.overwrite(same_rows, bronze)
    with pytest.raises(ConfigError) as recreated:
        stream_inference.run(ctx)
    assert str(recreated.value) == (
        f"streaming.checkpoint: {checkpoint} follows another table than {bronze} (it was "
        f"created again, or the checkpoint is another query's): {remedy}"
    )
    assert sorted(predictions(ctx), key=lambda row: row[ENTITY_KEY]) == scored


def test_without_a_champion_nothing_is_written(trained, tmp_path):
    """The trained synthetic tables with a new, empty MLflow store (no model at all)."""
    trained_ctx = trained[0]
    root = tmp_path / "state"
    shutil.copytree(trained_ctx.settings.local_root / "warehouse", root / "warehouse")
    ctx = Context(replace(trained_ctx.settings, local_root=seeded(root)))
    with pytest.raises(LookupError, match="no 'champion' alias"):
        stream_inference.run(ctx)
    assert not ctx.tables.exists(ctx.settings.table("stream_predictions"))


def test_shared_keys_an_unproduced_model_input_or_a_missing_feature_table_are_refused_first(
    trained, tmp_path
):
    """Each is refused with its own one-line error, batch inference's, before the query
    starts (inside a micro-batch it would come wrapped in a StreamingQueryException, after
    the checkpoint is made and the earlier micro-batches written): events two of which
    share a flight (a micro-batch would score one of them, chosen by no rule), before the
    model is loaded, and a flight held twice by bronze."""
    copy = private_copy(trained[0], tmp_path / "state")
    target = copy.settings.table("stream_predictions")
    refuses_a_shared_key(stream_inference, copy, target)
    bronze = copy.settings.table(copy.settings.contract.entity_table)
    from_scoring_start(copy).limit(1).write.format("delta").mode("append").save(
        str(copy.tables.path(bronze))
    )
    shared = f"input table {bronze}: key {ENTITY_KEY}: 1 value is shared by 2 rows (e.g. "
    with pytest.raises(DataCheckError, match=re.escape(shared)):
        stream_inference.run(copy)
    ctx = with_unproduced_input(copy)
    with pytest.raises(ConfigError, match="lacks column gate_delay "):
        stream_inference.run(ctx)
    name = copy.settings.table(next(iter(copy.settings.contract.feature_tables)))
    shutil.rmtree(copy.tables.path(name))  # dropped, or renamed in the settings
    with pytest.raises(MissingTableError) as missing:
        stream_inference.run(copy)
    assert str(missing.value) == f"input table {name} does not exist: run the features step first"
    assert not ctx.tables.exists(ctx.settings.table("stream_predictions"))
    assert not Path(stream_inference.checkpoint_location(ctx.settings)).exists()


def test_a_champion_taking_an_input_the_contract_dropped_is_refused_before_the_query_starts(
    trained, tmp_path
):
    """Stream inference builds its model UDF as batch inference does: a champion that
    takes a model input the contract no longer lists is refused in batch inference's one
    line, before the query starts (no table, no checkpoint)."""
    ctx = private_copy(trained[0], tmp_path / "state")
    champion = champion_taking_a_dropped_input(ctx)
    with pytest.raises(ConfigError) as error:
        stream_inference.run(ctx)
    assert str(error.value) == dropped_input_refusal(ctx, champion)
    assert not ctx.tables.exists(ctx.settings.table("stream_predictions"))
    assert not Path(stream_inference.checkpoint_location(ctx.settings)).exists()


def test_checkpoint_setting_is_checked(tmp_path):
    settings = local_settings(tmp_path)
    assert stream_inference.checkpoint_location(settings) == str(
        tmp_path / "checkpoints" / "stream_inference"
    )
    on_databricks = replace(settings, runtime="databricks", local_root=None)
    with pytest.raises(ConfigError, match="streaming.checkpoint: .* absolute"):
        stream_inference.checkpoint_location(on_databricks)
    volume = replace(
        on_databricks,
        raw={**on_databricks.raw, "streaming": {"checkpoint": "/Volumes/c/s/checkpoints/x"}},
    )
    assert stream_inference.checkpoint_location(volume) == "/Volumes/c/s/checkpoints/x"
    with pytest.raises(ConfigError, match="streaming.checkpoint: required"):
        stream_inference.checkpoint_location(
            replace(settings, raw={**settings.raw, "streaming": {}})
        )


def test_the_streaming_rules_are_checked_when_the_settings_load(tmp_path):
    # Not only when stream-inference starts, after run-all's batch steps wrote.
    assert refusal(tmp_path, "streaming:\n  max_files_per_trigger: 0\n") == (
        "settings of environment 'local': streaming.max_files_per_trigger: must be a positive "
        "integer, got 0"
    )
    assert refusal(tmp_path, "streaming:\n  checkpoint: checkpoints/x\n", "dev") == (
        "settings of environment 'dev': streaming.checkpoint: 'checkpoints/x' must be an "
        "absolute (volume) path on Databricks"
    )


def test_the_streaming_section_is_typed_when_the_settings_load(tmp_path):
    assert refusal(tmp_path, "streaming:\n  max_files_per_trigger: lots\n") == (
        "settings of environment 'local': streaming.max_files_per_trigger: Input should be a "
        "valid integer (got 'lots')"
    )


def test_a_session_that_refuses_the_listener_counts_from_the_progress_reports():
    """A runtime without Python listeners still runs the stream: the count is the query's
    own progress reports' (batches that read rows), with no wait for events."""

    class Refusing:
        def addListener(self, listener):
            raise RuntimeError("Python listeners are not supported here")

        def removeListener(self, listener):
            raise AssertionError("no listener was added")

    reports = [SimpleNamespace(batchId=b, numInputRows=n) for b, n in ((0, 5), (1, 0), (2, 7))]
    query = SimpleNamespace(id="q", recentProgress=reports)
    with counting_batches(SimpleNamespace(streams=Refusing())) as counter:
        assert counter.listening is False
        assert counter.batches(query) == {0, 2}
