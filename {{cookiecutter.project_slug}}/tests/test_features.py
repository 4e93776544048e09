"""Feature tables: only what was known at feature_ts, and MERGE reruns add no rows."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from {{ cookiecutter.package_name }}.config import ConfigError
from {{ cookiecutter.package_name }}.features import model_inputs
from {{ cookiecutter.package_name }}.features.definitions import airport_hourly_features
from {{ cookiecutter.package_name }}.features.training_set import known_feature_frames
from {{ cookiecutter.package_name }}.steps import features

from .conftest import private_copy, utc, with_unproduced_input

pytestmark = pytest.mark.spark


def test_airport_features_count_only_flights_that_had_departed(spark):
    flights = spark.createDataFrame(
        [
            ("EWR", utc(2013, 1, 1, 10, 0), 10.0),  # departs 10:10
            ("EWR", utc(2013, 1, 1, 10, 30), 45.0),  # scheduled 10:30, departs 11:15
            ("EWR", utc(2013, 1, 1, 11, 40), 0.0),  # departs 11:40
            ("EWR", utc(2013, 1, 1, 9, 0), None),  # cancelled: never counted
        ],
        "origin string, sched_dep_ts timestamp, dep_delay double",
    )
    rows = {r["feature_ts"]: r for r in airport_hourly_features(flights, [1, 3]).collect()}
    at_11 = rows[utc(2013, 1, 1, 11).replace(tzinfo=None)]
    assert at_11["departures_1h"] == 1.0 and at_11["dep_delay_mean_1h"] == 10.0
    at_12 = rows[utc(2013, 1, 1, 12).replace(tzinfo=None)]
    assert at_12["departures_1h"] == 2.0 and at_12["dep_delay_mean_1h"] == pytest.approx(22.5)
    assert at_12["departures_3h"] == 3.0 and at_12["dep_delay_mean_3h"] == pytest.approx(55 / 3)
    at_10 = rows[utc(2013, 1, 1, 10).replace(tzinfo=None)]
    assert at_10["departures_3h"] == 0.0 and at_10["dep_delay_mean_3h"] is None


@pytest.fixture(scope="module")
def rerun(trained, tmp_path_factory):
    """(Context, result, rows, computed): the features step run again on a copy of the
    trained state, its weather frame (:func:`known_feature_frames`, ``rows`` rows) with a
    Python UDF on a key column that counts the rows Spark computes (``computed``), an
    identity on the values. Read-only: copy it with :func:`private_copy` to change it."""
    ctx = private_copy(trained[0], tmp_path_factory.mktemp("rerun") / "state")
    frames = known_feature_frames(ctx)
    rows = frames["weather_features"].count()
    computed = ctx.spark.sparkContext.accumulator(0)

    def counted(value):
        computed.add(1)
        return value

    weather = frames["weather_features"]
    frames["weather_features"] = weather.withColumn("origin", F.udf(counted, "string")("origin"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(model_inputs, "known_feature_frames", lambda _: frames)
        result = features.run(ctx)
    return ctx, result, rows, computed.value


def test_rerun_of_the_features_step_keeps_row_counts(trained, rerun):
    ctx, second, _, _ = rerun
    first = trained[1]["features"]  # the first run, on the same bronze tables
    assert first["rows"] == second["rows"]
    name = ctx.settings.table("airport_features")
    table = ctx.tables.read(name)
    assert table.select("origin", "feature_ts").distinct().count() == first["rows"][name] > 0


@pytest.mark.parametrize(
    ("broken", "rule"),
    [
        (
            lambda frame: frame.withColumn("feature_ts", F.lit(None).cast("timestamp")),
            "key columns origin, feature_ts must not be null",
        ),
        (
            lambda frame: frame.drop("temp"),
            r"feature column temp \(contract.feature_tables.weather_features.features\) "
            "is missing",
        ),
    ],
    ids=["null key", "missing feature"],
)
def test_a_bad_frame_of_the_last_feature_table_leaves_every_table_as_it_was(
    trained, tmp_path, monkeypatch, broken, rule
):
    ctx = private_copy(trained[0], tmp_path / "state")
    frames = known_feature_frames(ctx)
    assert list(frames)[-1] == "weather_features"  # written last: the others come first
    frames["weather_features"] = broken(frames["weather_features"])
    monkeypatch.setattr(model_inputs, "known_feature_frames", lambda _: frames)
    written = list(trained[1]["features"]["rows"])  # every table the features step writes
    before = {name: ctx.tables.commit_stamp(name) for name in written}
    with pytest.raises(ValueError, match=f"^{ctx.settings.table('weather_features')}: {rule}$"):
        features.run(ctx)
    assert {name: ctx.tables.commit_stamp(name) for name in written} == before


def test_features_refuses_a_model_input_nothing_produces_before_writing(trained, tmp_path):
    ctx = private_copy(trained[0], tmp_path / "state")
    written = list(trained[1]["features"]["rows"])  # every table the features step writes
    before = {name: ctx.tables.commit_stamp(name) for name in written}
    with pytest.raises(ConfigError, match="lacks column gate_delay "):
        features.run(with_unproduced_input(ctx))
    assert {name: ctx.tables.commit_stamp(name) for name in written} == before


def test_a_missing_input_table_is_named_with_the_step_to_run(ctx):
    from {{ cookiecutter.package_name }}.runtime.tables import MissingTableError

    expected = (
        f"input table {ctx.settings.table('flights_bronze')} does not exist: run the ingest step"
    )
    with pytest.raises(MissingTableError, match=expected):
        features.run(ctx)


def test_each_feature_frame_is_computed_once_for_its_check_and_its_merge(trained, rerun):
    """A Python UDF on a key column of the weather frame counts the rows Spark computes:
    each once, for the null-key check and the MERGE (twice before)."""
    _, result, rows, computed = rerun
    assert result["rows"] == trained[1]["features"]["rows"]
    assert computed == rows > 0
