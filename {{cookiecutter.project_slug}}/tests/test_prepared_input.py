"""Without the feature-store option, training and scoring read one prepared table."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import replace

import pytest

from {{ cookiecutter.package_name }}.checks import DataCheckError, check_inputs, step_inputs
from {{ cookiecutter.package_name }}.features.model_inputs import build_model_input
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.steps import batch_inference, features, ingest, train

from .conftest import (
    CONTRACT,
    ENTITY_KEY,
    fail_on,
    first_event_twice,
    private_copy,
    rows_in_window,
    utc,
)

pytestmark = pytest.mark.spark


def test_the_feature_store_module_is_not_part_of_this_project():
    features_package = build_model_input.__module__.rsplit(".", 1)[0]
    assert importlib.util.find_spec(f"{features_package}.store") is None
    assert importlib.util.find_spec(f"{features_package}.point_in_time") is not None


def test_model_input_is_prepared_once_per_flight_and_read_by_window(trained, synthetic):
    ctx, results = trained
    name = ctx.settings.table("model_input")
    prepared = ctx.tables.read(name)
    flights = ctx.tables.read(ctx.settings.table("flights_bronze")).count()
    assert prepared.count() == prepared.select("flight_id").distinct().count() == flights
    assert results["features"]["rows"][name] == flights
    window = ctx.settings.windows["scoring"]
    assert build_model_input(ctx, window).count() == rows_in_window(synthetic[0], window) > 0
    training = ctx.tables.read(ctx.settings.table("training_set"))
    labelled = prepared.where("arr_delay IS NOT NULL").join(
        training.select("flight_id"), "flight_id"
    )
    assert labelled.count() == training.count() > 0


def test_train_and_scoring_check_the_table_they_read():
    expected = ("model_input",)
    assert step_inputs(CONTRACT, "train") == step_inputs(CONTRACT, "batch_inference") == expected


def test_a_repeated_flight_in_model_input_stops_train_and_scoring(ctx, use_synthetic_source):
    ingest.run(ctx)
    features.run(ctx)
    name = ctx.settings.table("model_input")
    prepared = ctx.tables.read(name)
    ctx.tables.overwrite(prepared.unionByName(prepared.limit(1)), name)  # no keys: let it in
    message = f"input table {name}: key flight_id: 1 value is shared by 2 rows"
    with pytest.raises(DataCheckError, match=message):
        train.run(ctx)
    with pytest.raises(DataCheckError, match=message):
        check_inputs(ctx, "batch_inference")
    assert not ctx.tables.exists(ctx.settings.table("training_set"))


def test_features_refuses_two_events_of_one_flight_before_writing(ctx, use_synthetic_source):
    """A spine that makes two events of one flight would lose one of them in
    ``model_input`` without an error (the lookup keeps one row per flight): the features
    step refuses it on the spine's keys, before it writes a feature table or
    ``model_input``."""
    ingest.run(ctx)
    name = ctx.settings.table("model_input")
    written = [ctx.settings.table(key) for key in (*CONTRACT.feature_tables, "model_input")]
    with (
        first_event_twice(name) as shared,
        pytest.raises(DataCheckError, match=re.escape(shared)),
    ):
        features.run(ctx)
    assert [table for table in written if ctx.tables.exists(table)] == []


def test_batch_inference_refuses_a_model_input_holding_a_key_twice_before_loading_the_model(
    trained_scored, tmp_path, monkeypatch
):
    """Scoring reads its events from the prepared table: a ``model_input`` holding a
    flight of the scoring window twice is refused with the table, key and counts named,
    before the model is loaded and before the predictions table is written."""
    ctx = private_copy(trained_scored[0], tmp_path / "state")  # scored once by v1
    name, target = ctx.settings.table("model_input"), ctx.settings.table("predictions")
    scoring = build_model_input(ctx, ctx.settings.windows["scoring"])
    twice = scoring.orderBy(ENTITY_KEY).limit(1)
    key = twice.first()[ENTITY_KEY]
    ctx.tables.overwrite(ctx.tables.read(name).unionByName(twice), name)  # no keys: let it in
    before = ctx.tables.commit_stamp(target)

    def no_model(*args):
        raise AssertionError("the model was loaded for input that is refused")

    monkeypatch.setattr(batch_inference, "model_udf", no_model)
    shared = f"input table {name}: key {ENTITY_KEY}: 1 value is shared by 2 rows "
    with pytest.raises(DataCheckError, match=re.escape(f"{shared}(e.g. {ENTITY_KEY}={key})")):
        batch_inference.run(ctx)
    assert ctx.tables.commit_stamp(target) == before


def test_features_failing_on_model_input_keeps_its_version_and_a_rerun_repairs(
    ctx, use_synthetic_source, monkeypatch
):
    flights, _ = use_synthetic_source
    earlier = Context(replace(ctx.settings, as_of=utc(2013, 1, 6)))
    ingest.run(earlier)
    features.run(earlier)
    name = ctx.settings.table("model_input")
    version, before = ctx.tables.version(name), ctx.tables.count(name)
    ingest.run(ctx)
    with monkeypatch.context() as patch:
        fail_on(patch, name)
        with pytest.raises(RuntimeError, match="simulated failure"):
            features.run(ctx)
    assert (ctx.tables.version(name), ctx.tables.count(name)) == (version, before)
    assert features.run(ctx)["rows"][name] == len(flights) > before
