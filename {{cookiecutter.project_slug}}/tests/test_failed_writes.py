"""A step that fails between two writes: the unfinished table keeps its version, a rerun repairs."""

from __future__ import annotations

from dataclasses import replace

import pytest
from mlflow import MlflowClient
from pyspark.sql import functions as F

from {{ cookiecutter.package_name }}.config import Window
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.steps import ingest, train, validate

from .conftest import (
    SYNTHETIC_WINDOWS,
    fail_on,
    local_settings,
    private_copy,
    rows_in_window,
    serve_sources,
    utc,
    with_next_day,
)
from .mlflow_stores import registry

pytestmark = pytest.mark.spark


def test_ingest_failing_on_weather_keeps_its_version_and_a_rerun_repairs(
    trained, synthetic, tmp_path, monkeypatch
):
    """On a copy of the trained state (the synthetic Jan 1-11 ingested), sources that
    gained a day: flights gain its rows, then the weather write fails."""
    ctx = private_copy(trained[0], tmp_path / "state")
    flights, weather = with_next_day(synthetic)
    serve_sources(monkeypatch, flights, weather)
    settings = ctx.settings
    names = settings.table("flights_bronze"), settings.table("weather_bronze")
    # (version, commit identity) from each table's newest commit file, without Spark.
    stamps = [ctx.tables.commit_stamp(n) for n in names]
    jan_1_to_11 = 11 * 24 * 3  # every hour, three airports
    assert ctx.tables.count(names[1]) == jan_1_to_11

    with monkeypatch.context() as patch:
        fail_on(patch, names[1])
        with pytest.raises(RuntimeError, match="simulated failure"):
            ingest.run(ctx)  # flights gain their new rows, then the weather write fails
    after = [ctx.tables.commit_stamp(n) for n in names]
    assert [after[0][0], after[1]] == [stamps[0][0] + 1, stamps[1]]  # weather: the same commit
    assert ctx.tables.count(names[1]) == jan_1_to_11  # the previous version, whole

    result = ingest.run(ctx)  # the rerun appends the missing weather rows only
    assert result["rows"][names[1]] == len(weather) > jan_1_to_11
    assert result["appended"][names[1]] == len(weather) - jan_1_to_11
    assert result["appended"][names[0]] == 0
    assert (
        result["rows"][names[0]]
        == rows_in_window(flights, Window(utc(2013, 1, 1), settings.as_of))
        > trained[1]["ingest"]["rows"][names[0]]
    )


def test_train_failing_before_registering_is_repaired_by_a_rerun_with_a_tagged_version(
    trained, tmp_path, monkeypatch
):
    ctx = private_copy(trained[0], tmp_path / "state")  # v1 trained, validated, deployed
    first = trained[1]["train"]
    name = ctx.settings.model_name
    later_windows = {
        **SYNTHETIC_WINDOWS,
        "train": Window(utc(2013, 1, 2), utc(2013, 1, 9)),
        "validation": Window(utc(2013, 1, 9), utc(2013, 1, 11)),
    }
    later = Context(replace(ctx.settings, windows=later_windows))

    def no_registry(*args, **kwargs):
        raise RuntimeError("simulated registry outage")

    with monkeypatch.context() as patch:
        patch.setattr(train, "log_model", no_registry)
        with pytest.raises(RuntimeError, match="registry outage"):
            train.run(later)
    # The training set holds the new windows, the newest version the old ones: validate refuses.
    client = registry(ctx)
    assert [int(v.version) for v in client.search_model_versions(f"name='{name}'")] == [1]
    with pytest.raises(ValueError, match="trained with validation window 2013-01-08..2013-01-10"):
        validate.run(later)

    # The version is created with its window tags: a separate tag write never happens,
    # so a failure after registering cannot leave an untagged version.
    with monkeypatch.context() as patch:
        patch.setattr(MlflowClient, "set_model_version_tag", no_registry)
        second = train.run(later)
    assert second["model_version"] == first["model_version"] + 1
    tags = client.get_model_version(name, str(second["model_version"])).tags
    assert {key: tags.get(key) for key in later.settings.window_tags()} == (
        later.settings.window_tags()
    )
    assert tags["window_validation"] == "2013-01-09..2013-01-11"
    assert validate.run(later)["model_version"] == second["model_version"]


def test_train_refuses_a_window_without_labelled_rows_before_it_replaces_the_training_set(
    trained, tmp_path
):
    ctx = private_copy(trained[0], tmp_path / "state")  # v1 trained on SYNTHETIC_WINDOWS
    name = ctx.settings.table("training_set")
    before = ctx.tables.commit_stamp(name)
    past_the_data = {  # the synthetic flights end on 2013-01-12
        **SYNTHETIC_WINDOWS,
        "train": Window(utc(2013, 1, 5), utc(2013, 1, 12)),
        "validation": Window(utc(2013, 1, 12), utc(2013, 1, 14)),
    }

    with pytest.raises(ValueError) as refused:
        train.run(Context(replace(ctx.settings, windows=past_the_data)))
    assert str(refused.value) == (
        "windows.validation: no labelled rows in this window (2013-01-12..2013-01-14, UTC)"
    )

    assert ctx.tables.commit_stamp(name) == before  # v1's holdout is still there to validate


def test_inputs_null_in_every_train_row_name_the_lookup_tolerance_when_looked_up(tmp_path):
    """The refusal of model inputs null in every train row: for those the feature tables
    hold, it names features.lookup_tolerance_hours, the likely cause (a table whose rows
    are older than it at the lookup timestamp)."""
    settings = local_settings(tmp_path)
    contract = settings.contract
    looked_up = next(iter(contract.feature_tables.values())).features[0]
    in_tables = {c for t in contract.feature_tables.values() for c in t.features}
    own = next(c for c in contract.feature_columns if c not in in_tables)
    hours = settings.features["lookup_tolerance_hours"]
    assert train.empty_inputs_message([own], contract, settings.features) == (
        f"training set: columns ['{own}'] are null in every train row"
    )
    assert train.empty_inputs_message([own, looked_up], contract, settings.features) == (
        f"training set: columns ['{own}', '{looked_up}'] are null in every train row "
        f"(['{looked_up}'] come from the feature tables: is a feature row within "
        f"features.lookup_tolerance_hours ({hours}) before the lookup timestamp?)"
    )


def test_train_refuses_looked_up_inputs_null_in_every_row_before_it_replaces_the_training_set(
    trained, tmp_path, monkeypatch
):
    """A looked-up input that the point-in-time lookup left null in every row (no feature
    row within the tolerance) stops train before it writes, naming the setting."""
    ctx = private_copy(trained[0], tmp_path / "state")
    name = ctx.settings.table("training_set")
    before = ctx.tables.commit_stamp(name)
    looked_up = next(iter(ctx.settings.contract.feature_tables.values())).features[0]
    real = train.build_model_input

    def none_found(ctx, window):  # as a lookup that found no row within the tolerance
        rows = real(ctx, window)
        return rows.withColumn(looked_up, F.lit(None).cast(rows.schema[looked_up].dataType))

    monkeypatch.setattr(train, "build_model_input", none_found)
    with pytest.raises(ValueError) as refused:
        train.run(ctx)
    assert str(refused.value) == train.empty_inputs_message(
        [looked_up], ctx.settings.contract, ctx.settings.features
    )
    assert "features.lookup_tolerance_hours" in str(refused.value)
    assert ctx.tables.commit_stamp(name) == before


def test_ingest_failing_on_flights_still_appends_weather_and_a_rerun_repairs(
    trained, synthetic, tmp_path, monkeypatch
):
    """The bronze tables are written side by side: when the flights write fails, weather
    bronze still commits its new day; a rerun appends the flights only."""
    ctx = private_copy(trained[0], tmp_path / "state")
    flights, weather = with_next_day(synthetic)
    serve_sources(monkeypatch, flights, weather)
    names = ctx.settings.table("flights_bronze"), ctx.settings.table("weather_bronze")
    stamps = [ctx.tables.commit_stamp(n) for n in names]  # from the commit files, no Spark
    rows = [ctx.tables.count(n) for n in names]

    with monkeypatch.context() as patch:
        fail_on(patch, names[0])
        with pytest.raises(RuntimeError, match=f"simulated failure writing {names[0]}"):
            ingest.run(ctx)
    after = [ctx.tables.commit_stamp(n) for n in names]
    assert [after[0], after[1][0]] == [stamps[0], stamps[1][0] + 1]  # flights: the same commit
    assert [ctx.tables.count(n) for n in names] == [rows[0], len(weather)]

    result = ingest.run(ctx)
    assert result["appended"][names[1]] == 0
    assert result["appended"][names[0]] == result["rows"][names[0]] - rows[0] > 0


@pytest.mark.parametrize(
    ("write_fails", "fit_fails"),
    [(True, False), (True, True), (False, True)],
    ids=["write", "write-and-fit", "fit"],
)
def test_a_failed_training_set_write_or_fit_logs_no_run_and_registers_nothing(
    trained, tmp_path, monkeypatch, write_fails, fit_fails
):
    """train writes the training set while it fits: a failed write's error is raised (a
    failed fit's chained to it), a failed fit's when the write committed; either way before
    any run is logged or version registered."""
    ctx = private_copy(trained[0], tmp_path / "state")  # v1 trained, validated, deployed
    name = ctx.settings.table("training_set")
    before = ctx.tables.commit_stamp(name)
    client = registry(ctx)

    def runs() -> list[str]:
        experiments = [e.experiment_id for e in client.search_experiments()]
        return sorted(r.info.run_id for r in client.search_runs(experiments))

    logged = runs()

    class FailingFit:
        def fit(self, *args):
            raise ValueError("simulated fit failure")

    with monkeypatch.context() as patch:
        if write_fails:
            fail_on(patch, name)
        if fit_fails:
            patch.setattr(train, "build_pipeline", lambda *args: FailingFit())
        expected = (RuntimeError, f"simulated failure writing {name}")
        if not write_fails:
            expected = (ValueError, "simulated fit failure")
        with pytest.raises(expected[0], match=expected[1]) as error:
            train.run(ctx)
    assert isinstance(error.value.__context__, ValueError) is (write_fails and fit_fails)
    assert (ctx.tables.commit_stamp(name) == before) is write_fails
    assert runs() == logged
    versions = client.search_model_versions(f"name='{ctx.settings.model_name}'")
    assert [int(v.version) for v in versions] == [1]
