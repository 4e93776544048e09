"""Feature tables declare their keys; the lookup is chosen by features.lookup, not by code."""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import replace
from datetime import timedelta
from types import ModuleType, SimpleNamespace

import pytest

from {{ cookiecutter.package_name }}.checks import DataCheckError
from {{ cookiecutter.package_name }}.config import ConfigError, load_settings
from {{ cookiecutter.package_name }}.features import (
    definitions,
    feature_tables,
    model_inputs,
    store,
)
from {{ cookiecutter.package_name }}.steps import features as features_step

from .conftest import (
    first_event_twice,
    private_copy,
    refuses_a_shared_key,
    synthetic_sources,
    utc,
    with_unproduced_input,
)
from .mlflow_stores import registry


def test_local_looks_up_in_spark_and_databricks_environments_use_the_feature_store():
    assert load_settings("local").features["lookup"] == "spark"
    for env in ("dev", "staging", "prod", "test"):
        assert load_settings(env).features["lookup"] == "databricks_feature_store", env


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("features:\n  lookup: feast\n", "features.lookup: Input should be 'spark' or"),
        (
            "features:\n  lookup: databricks_feature_store\n",
            "features.lookup: databricks_feature_store needs runtime databricks",
        ),
    ],
)
def test_a_bad_lookup_setting_is_refused_with_the_key_named(tmp_path, yaml_text, message):
    override = tmp_path / "bad.yml"
    override.write_text(yaml_text)
    with pytest.raises(ConfigError, match=message):
        load_settings("local", override)


class _Recorder:
    """Stands in for databricks.feature_engineering and records what the lookup asks of it."""

    def __init__(self):
        self.lookups = []
        self.training_set_args = None
        self.selected = None
        recorder = self

        class FeatureLookup:
            def __init__(self, **kwargs):
                recorder.lookups.append(kwargs)

        class Loaded:
            def select(self, *columns):
                recorder.selected = columns
                return "looked-up frame"

        class TrainingSet:
            def load_df(self):
                return Loaded()

        class FeatureEngineeringClient:
            def create_training_set(self, **kwargs):
                recorder.training_set_args = kwargs
                return TrainingSet()

        self.module = ModuleType("databricks.feature_engineering")
        self.module.FeatureLookup = FeatureLookup
        self.module.FeatureEngineeringClient = FeatureEngineeringClient


def _databricks_ctx(env="prod"):
    return SimpleNamespace(settings=load_settings(env))


def test_databricks_lookup_builds_a_training_set_from_the_feature_tables(monkeypatch):
    fake = _Recorder()
    monkeypatch.setitem(sys.modules, "databricks.feature_engineering", fake.module)
    ctx = _databricks_ctx()
    settings = ctx.settings
    spine = SimpleNamespace(columns=["flight_id", "prediction_ts", "origin", "arr_delay"])

    assert store.lookup_features(ctx, spine) == "looked-up frame"

    prefix = f"{settings.catalog}.{settings.schema}."
    assert [lk["table_name"] for lk in fake.lookups] == [
        prefix + "airport_hourly_features",
        prefix + "weather_hourly_features",
    ]
    for lookup in fake.lookups:
        assert lookup["lookup_key"] == ["origin"]
        assert lookup["timestamp_lookup_key"] == "prediction_ts"
        assert lookup["lookback_window"] == timedelta(hours=3)
    airport = [
        "departures_1h",
        "dep_delay_mean_1h",
        "departures_3h",
        "dep_delay_mean_3h",
        "departures_6h",
        "dep_delay_mean_6h",
        "departures_24h",
        "dep_delay_mean_24h",
    ]
    weather = ["temp", "dewp", "humid", "wind_speed", "wind_gust", "precip", "pressure", "visib"]
    assert fake.lookups[0]["feature_names"] == airport
    assert fake.lookups[1]["feature_names"] == weather
    args = fake.training_set_args
    assert args["df"] is spine and args["label"] == "arr_delay" and args["exclude_columns"] == []
    assert fake.selected[:4] == ("flight_id", "prediction_ts", "origin", "arr_delay")
    assert fake.selected[4:] == (*airport, *weather)


def test_databricks_lookup_without_the_client_library_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "databricks.feature_engineering", None)
    with pytest.raises(ImportError, match="needs the package databricks-feature-engineering"):
        store.lookup_features(_databricks_ctx(), SimpleNamespace(columns=[]))


def test_an_unknown_lookup_is_refused_at_use_too():
    settings = load_settings("local")
    ctx = SimpleNamespace(settings=replace(settings, features={**settings.features, "lookup": "x"}))
    with pytest.raises(ValueError, match="features.lookup: 'x' is not spark"):
        store.lookup_features(ctx, SimpleNamespace(columns=[]))


def test_on_databricks_the_keys_become_a_unity_catalog_primary_key():
    spec = feature_tables.spec_for(load_settings("local").contract, "weather_features")
    statements = store.key_statements(spec, "`prod`.`s`.`weather_hourly_features`", "databricks")
    assert statements == [
        "ALTER TABLE `prod`.`s`.`weather_hourly_features` ALTER COLUMN `origin` SET NOT NULL",
        "ALTER TABLE `prod`.`s`.`weather_hourly_features` ALTER COLUMN `feature_ts` SET NOT NULL",
        "ALTER TABLE `prod`.`s`.`weather_hourly_features` ADD CONSTRAINT "
        "`weather_hourly_features_pk` PRIMARY KEY (`origin`, `feature_ts` TIMESERIES)",
        "ALTER TABLE `prod`.`s`.`weather_hourly_features` SET TBLPROPERTIES ("
        "'feature.primary_keys' = 'origin', 'feature.timestamp_key' = 'feature_ts')",
    ]
    local = store.key_statements(spec, "delta.`/tmp/w`", "local")
    assert local == [
        statements[-1].replace("`prod`.`s`.`weather_hourly_features`", "delta.`/tmp/w`")
    ]


def test_an_unknown_feature_table_key_is_named():
    with pytest.raises(KeyError, match="training_set: not a feature table"):
        feature_tables.spec_for(load_settings("local").contract, "training_set")


@pytest.mark.spark
def test_the_features_step_declares_keys_on_both_tables(trained):
    ctx, _ = trained
    for key in ("airport_features", "weather_features"):
        assert store.declared_keys(ctx, key) == (["origin"], "feature_ts")


@pytest.mark.spark
def test_the_spark_lookup_is_the_point_in_time_join(trained):
    ctx, _ = trained
    spine = ctx.spark.createDataFrame(
        [("f1", utc(2013, 1, 3, 15, 30), "EWR", 1.0)],
        "flight_id string, prediction_ts timestamp, origin string, arr_delay double",
    )
    row = store.lookup_features(ctx, spine).collect()[0]
    # Both tables hold one row per origin and hour: the 15:00 rows are the latest known
    # at 15:30.
    at_15 = "origin = 'EWR' AND feature_ts = TIMESTAMP '2013-01-03 15:00:00'"
    weather = ctx.tables.read(ctx.settings.table("weather_features")).where(at_15).collect()
    airport = ctx.tables.read(ctx.settings.table("airport_features")).where(at_15).collect()
    assert row["flight_id"] == "f1" and row["temp"] == weather[0]["temp"]
    assert row["departures_1h"] == airport[0]["departures_1h"] > 0


def one_feature_row(ctx, table_key: str, feature_ts):
    """A one-row frame for feature table ``table_key`` (origin EWR, every feature 1.0)."""
    features = feature_tables.spec_for(ctx.settings.contract, table_key).features
    schema = ", ".join(
        ["origin string", "feature_ts timestamp", *(f"{c} double" for c in features)]
    )
    return ctx.spark.createDataFrame([("EWR", feature_ts, *[1.0] * len(features))], schema)


@pytest.mark.spark
def test_a_feature_row_with_a_null_key_is_refused_with_the_table_named(ctx):
    name = ctx.settings.table("weather_features")
    with pytest.raises(
        ValueError, match=f"{name}: key columns origin, feature_ts must not be null"
    ):
        store.write_feature_tables(
            ctx, {"weather_features": one_feature_row(ctx, "weather_features", None)}
        )
    assert not ctx.tables.exists(name)


def test_feature_frames_without_a_declared_table_is_named(monkeypatch):
    from {{ cookiecutter.package_name }}.features import definitions, training_set

    settings = load_settings("local")
    monkeypatch.setattr(training_set, "known_rows", lambda ctx, key: key)
    monkeypatch.setattr(definitions, "feature_frames", lambda bronze, c: {"weather_features": 0})
    with pytest.raises(
        ConfigError,
        match=(
            "feature_frames of features/definitions.py returns no frame for "
            "contract.feature_tables airport_features; it returns: weather_features$"
        ),
    ):
        training_set.known_feature_frames(SimpleNamespace(settings=settings))


def test_train_and_scoring_check_the_tables_they_look_up():
    from {{ cookiecutter.package_name }}.checks import step_inputs

    expected = ("flights_bronze", "airport_features", "weather_features")
    contract = load_settings("local").contract
    assert step_inputs(contract, "train") == step_inputs(contract, "batch_inference") == expected


@pytest.mark.spark
def test_train_refuses_a_model_input_nothing_produces_before_writing(trained, tmp_path):
    from {{ cookiecutter.package_name }}.steps import train

    ctx = private_copy(trained[0], tmp_path / "state")  # v1 trained, validated, deployed
    training_set = ctx.settings.table("training_set")
    before = ctx.tables.commit_stamp(training_set)
    with pytest.raises(ConfigError, match="lacks column gate_delay "):
        train.run(with_unproduced_input(ctx))
    assert ctx.tables.commit_stamp(training_set) == before
    versions = registry(ctx).search_model_versions(f"name = '{ctx.settings.model_name}'")
    assert [int(v.version) for v in versions] == [1]


@pytest.mark.spark
def test_train_refuses_two_events_of_one_flight_before_writing(trained, tmp_path):
    """A spine that makes two events of one flight is refused by train on the spine's keys
    (the lookup would keep one of them without an error), before the training set or the
    registry changes."""
    from {{ cookiecutter.package_name }}.steps import train

    ctx = private_copy(trained[0], tmp_path / "state")  # v1 trained, validated, deployed
    training_set = ctx.settings.table("training_set")
    before = ctx.tables.commit_stamp(training_set)
    with (
        first_event_twice(training_set) as shared,
        pytest.raises(DataCheckError, match=re.escape(shared)),
    ):
        train.run(ctx)
    assert ctx.tables.commit_stamp(training_set) == before
    versions = registry(ctx).search_model_versions(f"name = '{ctx.settings.model_name}'")
    assert [int(v.version) for v in versions] == [1]


@pytest.mark.spark
def test_batch_inference_refuses_a_shared_key_before_loading_the_model(trained_scored, tmp_path):
    """Scoring builds its events from bronze and looks their features up: two events of
    one flight are refused on the spine, before the model is loaded and before the
    predictions table is written."""
    from {{ cookiecutter.package_name }}.steps import batch_inference

    ctx = private_copy(trained_scored[0], tmp_path / "state")  # scored once by v1
    target = ctx.settings.table("predictions")
    before = ctx.tables.commit_stamp(target)
    refuses_a_shared_key(batch_inference, ctx, target)
    assert ctx.tables.commit_stamp(target) == before


def _training_set_library(repeat_first_row: bool) -> ModuleType:
    """Stands in for databricks.feature_engineering: its training set is the spine (only
    the spine's columns), with the first row once more when ``repeat_first_row``."""

    class TrainingSet:
        def __init__(self, spine):
            self.spine = spine

        def load_df(self):
            return self

        def select(self, *columns):
            out = self.spine
            if repeat_first_row:
                out = out.unionByName(out.orderBy("flight_id").limit(1))
            return out.select(*[c for c in columns if c in self.spine.columns])

    class FeatureEngineeringClient:
        def create_training_set(self, df, **kwargs):
            return TrainingSet(df)

    module = ModuleType("databricks.feature_engineering")
    module.FeatureLookup = lambda **kwargs: kwargs
    module.FeatureEngineeringClient = FeatureEngineeringClient
    return module


@pytest.mark.spark
def test_input_keys_are_checked_on_the_spine_and_on_a_feature_store_training_set(
    spark, monkeypatch
):
    """The Spark lookup keeps one row per flight: a unique spine is checked without a
    lookup (this context has no tables to read). The feature store's training set comes
    from a library's join, so it is checked as well."""
    flights, _ = synthetic_sources(days=1)
    rows = definitions.bronze_flights(spark.createDataFrame(flights))
    model_inputs.check_input_keys(SimpleNamespace(settings=load_settings("local")), rows, "t")
    on_databricks = _databricks_ctx()
    monkeypatch.setitem(sys.modules, "databricks.feature_engineering", _training_set_library(False))
    model_inputs.check_input_keys(on_databricks, rows, "t")
    monkeypatch.setitem(sys.modules, "databricks.feature_engineering", _training_set_library(True))
    shared = "table t: key flight_id: 1 value is shared by 2 rows (e.g. flight_id="
    with pytest.raises(DataCheckError, match=re.escape(shared)):
        model_inputs.check_input_keys(on_databricks, rows, "t")


def test_new_feature_tables_are_counted_from_the_commit_that_wrote_them(
    trained, tmp_path, monkeypatch
):
    """A feature table the step creates is counted from its first commit, before its keys
    are declared (a later commit that writes no row): no Spark job reads it back to count,
    and the counts are the tables' rows. (Here, not in test_features.py: the prepared
    variant's features step reads the feature tables to build its model_input table.)"""
    ctx = private_copy(trained[0], tmp_path / "state")
    names = [ctx.settings.table(key) for key in ctx.settings.contract.feature_tables]
    for name in names:
        shutil.rmtree(ctx.tables.path(name))
    read = []
    table_read = ctx.tables.read

    def recorded(name, *args):
        read.append(name)
        return table_read(name, *args)

    monkeypatch.setattr(ctx.tables, "read", recorded)
    counts = features_step.run(ctx)["rows"]
    assert not set(read) & set(names)
    assert counts == {name: table_read(name).count() for name in names}
    assert counts == trained[1]["features"]["rows"]
