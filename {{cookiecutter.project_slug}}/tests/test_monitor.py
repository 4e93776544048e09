"""The monitor step: each version against its own profile, kinds of violation, the report."""

from __future__ import annotations

import base64
import math
import re
import threading
from dataclasses import replace
from pathlib import Path
from xml.etree import ElementTree

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml

from {{ cookiecutter.package_name }}.checks import DataCheckError
from {{ cookiecutter.package_name }}.config import ConfigError, Window, load_settings
from {{ cookiecutter.package_name }}.data_profile import build_profile, log_data_profile
from {{ cookiecutter.package_name }}.modeling import build_pipeline, log_model
from {{ cookiecutter.package_name }}.monitoring import cli as monitoring_cli
from {{ cookiecutter.package_name }}.monitoring.baseline import Baseline, load_baseline
from {{ cookiecutter.package_name }}.monitoring.drift import Comparison
from {{ cookiecutter.package_name }}.monitoring.figures import (
    error_figures,
    figure,
    source_count_figure,
)
from {{ cookiecutter.package_name }}.monitoring.report import distribution_chart, render_report
from {{ cookiecutter.package_name }}.monitoring.settings import monitoring_settings
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.steps import batch_inference, monitor
from {{ cookiecutter.package_name }}.steps.monitor import group_figures

from .conftest import (
    CONTRACT,
    ENTITY_KEY,
    EVENT_TIME,
    FEATURES,
    LABEL,
    local_settings,
    private_copy,
    recorded_task_values,
    rows_in_window,
    utc,
)
from .mlflow_stores import registry

pytestmark = pytest.mark.spark

MONITORING_JOB = Path(__file__).resolve().parents[1] / "resources" / "monitoring-job.yml"


@pytest.fixture
def scored(trained_scored, tmp_path) -> Context:
    """A private copy, for one test, of the trained synthetic state with the scoring window
    scored by v1 and not yet monitored."""
    return private_copy(trained_scored[0], tmp_path / "state")


@pytest.fixture(scope="module")
def monitored(trained_scored, tmp_path_factory) -> tuple[Context, dict]:
    """(Context, result) of one monitor run with the configured settings on its own copy of
    the scored state (not of :func:`scored`, a copy per test).
    Read-only: copy it with :func:`private_copy` before changing it."""
    ctx = private_copy(trained_scored[0], tmp_path_factory.mktemp("monitored") / "state")
    return ctx, monitor.run(ctx)


@pytest.fixture(scope="module")
def warm_champion(monitored, tmp_path_factory) -> tuple[Context, str]:
    """(Context, version): a copy of :func:`monitored`'s state where a version trained on
    warmer data (:func:`register_warm_model`) is the champion; the predictions are still
    v1's. Read-only: copy it with :func:`private_copy` before changing it."""
    ctx = private_copy(monitored[0], tmp_path_factory.mktemp("warm") / "state")
    warm = register_warm_model(ctx)
    registry(ctx).set_registered_model_alias(ctx.settings.model_name, "champion", warm)
    return ctx, warm


def with_monitoring(ctx: Context, **changes) -> Context:
    """``ctx`` with keys of the ``monitoring`` section changed (same tables and store)."""
    raw = {**ctx.settings.raw, "monitoring": {**ctx.settings.raw["monitoring"], **changes}}
    return Context(replace(ctx.settings, raw=raw))


@pytest.fixture(scope="module")
def loud(trained_scored, tmp_path_factory) -> tuple[Context, dict, list]:
    """(Context, result, published) of one monitor run, on its own copy of the scored
    state, with a PSI limit of 0, so that every column with figures drifts; published: the
    (key, value) task values the run published. Read-only: copy it with
    :func:`private_copy` before changing it."""
    scored = private_copy(trained_scored[0], tmp_path_factory.mktemp("loud") / "state")
    ctx = with_monitoring(scored, psi_threshold=0.0)
    with pytest.MonkeyPatch.context() as patch:
        published = recorded_task_values(patch, monitor)
        result = monitor.run(ctx)
    return ctx, result, published


def metrics(ctx: Context) -> pd.DataFrame:
    """The whole metrics table as pandas."""
    return ctx.tables.read(ctx.settings.table("monitoring_metrics")).toPandas()


def register_warm_model(ctx: Context) -> str:
    """Register a version trained on the train split with every temperature 30 °F higher.

    Its run holds the profile of that warmer data, as the train step logs it.
    Returns the new version (str).
    """
    columns = FEATURES
    train = ctx.tables.read(ctx.settings.table("training_set")).toPandas()
    train = train[train.split == "train"].copy()
    train["temp"] = train["temp"] + 30
    model = build_pipeline(CONTRACT, dict(ctx.settings.training))
    model.fit(train[columns], train[LABEL])
    ctx.mlflow()
    with mlflow.start_run(run_name="warm"):
        log_data_profile(train[columns], model.predict(train[columns]))
        info = log_model(model, train[columns].head(5), ctx.settings.model_name)
    return str(info.registered_model_version)


def test_train_logs_the_profile_of_its_training_data(trained):
    ctx, results = trained
    ctx.mlflow()
    profile = mlflow.artifacts.load_dict(f"runs:/{results['train']['run_id']}/data_profile.json")
    columns = FEATURES
    assert list(profile["columns"]) == [*columns, "prediction"]
    train = ctx.tables.read(ctx.settings.table("training_set")).where("split = 'train'").toPandas()
    assert profile["rows"] == len(train)
    gust = profile["columns"]["wind_gust"]
    assert gust["null_share"] == pytest.approx(train["wind_gust"].isna().mean())
    assert gust["count"] == train["wind_gust"].notna().sum()
    assert gust["mean"] == pytest.approx(train["wind_gust"].mean())
    assert sum(gust["shares"]) == pytest.approx(1.0)
    assert len(gust["shares"]) == len(gust["edges"]) + 2
    assert profile["columns"]["origin"]["shares"] == pytest.approx(
        train["origin"].value_counts(normalize=True).to_dict()
    )


def test_each_version_is_compared_with_its_own_profile_and_a_rerun_leaves_only_its_rows(
    monitored, warm_champion, tmp_path
):
    """v1 scored the window, then the warm champion scores it again: the monitor's rerun
    compares the warm version with its own profile, and the window's rows are that run's
    only. v1's figures (read from the first run) described predictions the window no
    longer holds: kept beside the new ones, v1's row count and the source's would disagree."""
    scored = private_copy(warm_champion[0], tmp_path / "state")  # this test scores and monitors
    warm = warm_champion[1]
    first = monitored[1]
    assert list(first["groups"]) == ["batch/v1"]
    before = metrics(scored)
    assert set(before.source) == {"batch"} and set(before.model_version) == {"1", "*"}
    assert first["metrics_written"] == len(before)
    # At a PSI limit of 0 every v1 column drifts, but v1 no longer serves: no retraining.
    again = monitor.run(with_monitoring(scored, psi_threshold=0.0))
    assert again["metrics_written"] == len(metrics(scored)) == len(before)  # replaced, not added
    assert again["violations_by_kind"]["drift"] > 0 and not again["retraining_required"]

    batch_inference.run(scored)  # the warm champion scores the window
    second = monitor.run(scored)
    assert list(second["groups"]) == [f"batch/v{warm}"]

    table = metrics(scored)
    assert set(table.model_version) == {warm, "*"}
    assert len(table) == second["metrics_written"] and table.computed_at.nunique() == 1
    counts = table[(table.metric == "row_count") & table.day.isna()].set_index("model_version")
    assert counts.at[warm, "value"] == counts.at["*", "value"] == second["groups"][f"batch/v{warm}"]

    def temp(version: str, metric: str) -> pd.Series:
        frame = before if version == "1" else table
        rows = frame[(frame.model_version == version) & (frame.column == "temp")]
        return rows[rows.metric == metric].iloc[0]

    # The synthetic window has the training temperatures: for v1 only the noise of a
    # 156-row window; the warm version's own profile is 30 °F warmer, so the same
    # temperatures drift far for it.
    assert temp("1", "psi").value < 1 and temp("1", "ks_statistic").value < 0.3
    assert temp(warm, "psi").value > 5 and temp(warm, "psi").violation
    assert temp(warm, "psi").kind == temp(warm, "ks_statistic").kind == "drift"
    assert temp(warm, "ks_statistic").value > 0.9 and temp(warm, "ks_statistic").violation
    assert second["retraining_required"]
    # v1's window figures stay in the first run's MLflow metrics (README).
    logged = registry(scored).get_run(first["mlflow_run_id"]).data.metrics
    assert logged["batch/v1/psi.temp"] == pytest.approx(temp("1", "psi").value)


def test_a_champion_moved_inside_the_window_splits_its_rows_and_the_row_rule_counts_them_all(
    warm_champion, synthetic, tmp_path
):
    """README: the rows-per-day rule is checked on a source's rows over all its versions.
    A deploy halfway through the scoring window leaves the first day scored by v1 and the
    second by the new champion; at 60 rows a day each half is under the window's limit of
    120, the source's 156 rows are not, and no version is flagged for its share."""
    ctx = private_copy(warm_champion[0], tmp_path / "state")  # this test scores and monitors
    warm = warm_champion[1]
    window = ctx.settings.windows["scoring"]
    middle = window.start + (window.end - window.start) / 2
    second_half = {**ctx.settings.windows, "scoring": Window(middle, window.end)}
    batch_inference.run(Context(replace(ctx.settings, windows=second_half)))

    result = monitor.run(with_monitoring(ctx, min_rows_per_day={"batch": 60}))
    flights = synthetic[0]
    halves = {
        "1": rows_in_window(flights, Window(window.start, middle)),
        warm: rows_in_window(flights, Window(middle, window.end)),
    }
    total = rows_in_window(flights, window)
    assert result["groups"] == {f"batch/v{v}": rows for v, rows in halves.items()}
    assert max(halves.values()) < 120 <= total  # each half alone would break the rule
    assert not [v for v in result["violations"] if "row_count" in v]
    table = metrics(ctx)
    counts = table[(table.metric == "row_count") & table.day.isna()].set_index("model_version")
    assert counts.at["*", "value"] == total and counts.at["*", "threshold"] == 120
    assert counts.at["*", "kind"] == "data_quality" and not counts.at["*", "violation"]
    assert {v: counts.at[v, "value"] for v in halves} == halves
    assert not counts.violation.any()


def test_the_monitor_run_logs_the_window_figures_and_the_mae_limit_comes_from_validate(
    monitored,
):
    ctx, result = monitored
    client = registry(ctx)
    run = client.get_run(result["mlflow_run_id"])
    assert run.info.run_name == "monitor"
    table = metrics(ctx)
    window_level = table[table.day.isna() & table.value.notna()]

    def figure(column: str, metric: str) -> pd.Series:
        return window_level[(window_level.column == column) & (window_level.metric == metric)]

    logged = run.data.metrics
    assert logged["batch/v1/psi.temp"] == pytest.approx(figure("temp", "psi").value.iloc[0])
    of_v1 = window_level[window_level.model_version == "1"]
    assert len([name for name in logged if name.startswith("batch/v1/")]) == len(of_v1)
    (source_wide,) = window_level[window_level.model_version == "*"].itertuples()
    own = of_v1.loc[of_v1.metric == "row_count", "value"].item()  # v1 scored every row
    assert logged["batch/row_count.window"] == source_wide.value == own
    broken = table[table.violation]
    for kind in ("drift", "data_quality", "insufficient_data"):
        assert logged[f"violations.{kind}"] == (broken.kind == kind).sum()
    assert logged["violations.drift"] > 0  # the synthetic window drifts on some inputs
    # The MAE limit is v1's validation MAE, as validate tagged it, plus max_mae_increase
    # (0.25 in conf/config.yml).
    tags = client.get_model_version(ctx.settings.model_name, "1").tags
    mae = figure("prediction", "mae").iloc[0]
    assert mae.threshold == pytest.approx(float(tags["validation_mean_absolute_error"]) * 1.25)
    assert mae.value > 0 and logged["batch/v1/mae.prediction"] == pytest.approx(mae.value)


def test_too_few_values_is_an_explicit_status_not_a_nan(monitored):
    ctx, result = monitored
    (group,) = result["groups"]  # the version that scored the window
    table = metrics(ctx)
    table = table[table.model_version == group.split("/v")[1]]
    # wind_gust is reported in about one hour in five: fewer than min_rows values.
    values = table[(table.column == "wind_gust") & (table.metric == "values")].value
    assert 0 < values.iloc[0] < 100
    gust = table[(table.column == "wind_gust") & table.metric.isin(["psi", "ks_statistic"])]
    assert len(gust) == 2
    assert gust.value.isna().all() and gust.violation.all()
    assert set(gust.kind) == {"insufficient_data"}
    assert any("wind_gust.psi=null (insufficient_data)" in v for v in result["violations"])


def test_an_empty_window_reports_insufficient_data_and_does_not_retrain(scored):
    empty = Window(utc(2013, 3, 1), utc(2013, 3, 2))
    ctx = Context(replace(scored.settings, windows={**scored.settings.windows, "scoring": empty}))
    result = monitor.run(ctx)
    assert list(result["groups"]) == ["batch/vnone"]
    assert not result["retraining_required"]
    assert result["violations_by_kind"]["drift"] == 0
    assert result["violations_by_kind"]["insufficient_data"] > 0
    table = metrics(ctx)
    rows = table[table.window_start == pd.Timestamp("2013-03-01")]
    drift = rows[rows.metric == "psi"]
    assert len(drift) == len(FEATURES) + 1  # every model input and the prediction
    assert drift.value.isna().all() and (drift.kind == "insufficient_data").all()
    counts = rows[rows.metric == "row_count"].set_index("model_version")
    assert sorted(counts.index) == ["*", "none"]  # the source's rule, and the empty group's count
    assert counts.value.tolist() == [0, 0]
    assert counts.at["*", "kind"] == "data_quality" and counts.at["*", "violation"]
    assert counts.kind.isna()["none"] and not counts.at["none", "violation"]


def test_a_rerun_drops_the_none_figures_of_a_source_that_now_has_rows_in_the_window(
    trained_scored, tmp_path
):
    """A source without rows in the window is reported as model version ``none``; once it
    has rows there, the rerun replaces those figures: the table no longer says both."""
    ctx = private_copy(trained_scored[0], tmp_path / "state")  # this test rewrites its table
    name = ctx.settings.table("predictions")
    scored_rows, version = ctx.tables.count(name), ctx.tables.version(name)
    target = ctx.tables.sql_name(name)
    ctx.spark.sql(f"DELETE FROM {target}")  # as before batch inference scored the window
    assert list(monitor.run(ctx)["groups"]) == ["batch/vnone"]
    ctx.spark.sql(f"RESTORE TABLE {target} TO VERSION AS OF {version}")  # then it did
    assert monitor.run(ctx)["groups"] == {"batch/v1": scored_rows}
    assert set(metrics(ctx).model_version) == {"1", "*"}


def test_a_prediction_source_breaking_its_expectations_stops_the_monitor_before_it_writes(
    trained_scored, tmp_path
):
    """README: before monitor, each prediction source is checked against the predictions
    table's expectations; the first that fails stops the step, before it writes."""
    ctx = private_copy(trained_scored[0], tmp_path / "state")  # this test breaks its table
    predictions = ctx.settings.table("predictions")
    row = ctx.tables.read(predictions).orderBy(ENTITY_KEY).limit(1)
    (shared,) = row.select(ENTITY_KEY).first()
    row.write.format("delta").mode("append").save(str(ctx.tables.path(predictions)))
    table = ctx.settings.table("monitoring_metrics")
    assert not ctx.tables.exists(table)  # the scored state was never monitored
    client = registry(ctx)

    def runs() -> list[str]:
        experiments = [e.experiment_id for e in client.search_experiments()]
        return sorted(r.info.run_id for r in client.search_runs(experiments))

    before = runs()
    with pytest.raises(DataCheckError) as error:
        monitor.run(ctx)
    assert str(error.value) == (
        f"input table batch predictions: key {ENTITY_KEY}: 1 value is shared by 2 rows "
        f"(e.g. {ENTITY_KEY}={shared})"
    )
    assert not ctx.tables.exists(table)
    assert runs() == before


def test_prediction_sources_are_checked_side_by_side_and_every_refusal_is_named(
    trained_scored, monkeypatch
):
    """README: the monitor's prediction sources are checked side by side; of several that
    fail, the first (in the order of the sources) stops the step, and each other one is
    named in a note. (window_rows only reads: the shared state stays as it was.)"""
    ctx = trained_scored[0]
    checked_in = {}

    def check_frame(frame, target, expected):
        checked_in[target] = threading.current_thread().name
        return real_check_frame(frame, target, expected)

    real_check_frame = monitor.check_frame
    monkeypatch.setattr(monitor, "check_frame", check_frame)
    rows = ctx.tables.read(ctx.settings.table("predictions"))
    first, second = rows.orderBy(ENTITY_KEY).limit(2).select(ENTITY_KEY).collect()
    one_shared = rows.unionByName(rows.where(rows[ENTITY_KEY] == first[0]))
    two_shared = rows.unionByName(rows.where(rows[ENTITY_KEY].isin(first[0], second[0])))
    window = ctx.settings.windows["scoring"]
    columns = ctx.settings.contract.feature_columns
    sources = {"batch": one_shared, "streaming": two_shared}

    with pytest.raises(DataCheckError) as error:
        monitor.window_rows(ctx, sources, window, columns)
    assert str(error.value) == (
        f"input table batch predictions: key {ENTITY_KEY}: 1 value is shared by 2 rows "
        f"(e.g. {ENTITY_KEY}={first[0]})"
    )
    (note,) = error.value.__notes__
    assert note.startswith(
        "streaming raised too: DataCheckError: input table streaming predictions: "
        f"key {ENTITY_KEY}: 2 values are shared by 4 rows"
    )
    # Each source in a thread of its own (runtime/side_by_side.each_at_once), not this one.
    threads = {checked_in["batch predictions"], checked_in["streaming predictions"]}
    assert len(threads) == 2 and threading.current_thread().name not in threads
    # The other order: the first source's error leads.
    with pytest.raises(DataCheckError) as error:
        monitor.window_rows(ctx, {"streaming": two_shared, "batch": one_shared}, window, columns)
    assert str(error.value).startswith("input table streaming predictions: ")
    (note,) = error.value.__notes__
    assert note.startswith("batch raised too: DataCheckError: input table batch predictions: ")


def test_the_row_count_rule_is_rows_per_day_times_the_days_of_the_window(monitored, synthetic):
    """README: ``row_count`` is a data_quality violation below ``min_rows_per_day[source]``
    times the window's days. The synthetic scoring window is two days (156 flights); at 100
    rows per day (conf/config.yml): the limit is 200, so its 156 rows break it."""
    ctx, _ = monitored
    window = ctx.settings.windows["scoring"]
    assert (window.end - window.start).days == 2
    assert ctx.settings.raw["monitoring"]["min_rows_per_day"] == {"batch": 100}
    table = metrics(ctx)
    counts = table[(table.metric == "row_count") & table.day.isna()]
    (count,) = counts[counts.model_version == "*"].itertuples()
    assert (count.source, count.value, count.threshold) == ("batch", 156, 200)
    assert (count.kind, count.violation) == ("data_quality", True)
    assert count.value == rows_in_window(synthetic[0], window)
    (own,) = counts[counts.model_version == "1"].itertuples()  # v1 scored them all: no rule
    assert (own.value, own.kind, own.violation) == (156, None, False)
    assert math.isnan(own.threshold)
    assert "batch *.row_count=156 (data_quality)" in monitored[1]["violations"]


def test_an_override_changes_a_sources_row_limit_but_cannot_remove_it(tmp_path):
    """README (Replace the example, step 5): a ``--config`` file merges
    ``monitoring.min_rows_per_day`` key by key, so ``{}`` there keeps ``batch: 100``;
    ``0`` there keeps the source with a limit no row count is under."""
    override = tmp_path / "rows.yml"
    override.write_text("monitoring:\n  min_rows_per_day: {}\n")
    assert monitoring_settings(load_settings("local", override)).min_rows_per_day == {
        "batch": 100.0
    }
    override.write_text("monitoring:\n  min_rows_per_day: {batch: 5}\n")
    changed = monitoring_settings(load_settings("local", override))
    assert changed.min_rows_per_day == {"batch": 5.0}
    override.write_text("monitoring:\n  min_rows_per_day: {batch: 0}\n")
    off = monitoring_settings(load_settings("local", override)).min_rows_per_day["batch"]
    assert source_count_figure(0, 2.0, off)["violation"] is False
    assert source_count_figure(9, 2.0, changed.min_rows_per_day["batch"])["violation"] is True


def retraining_condition() -> dict:
    """The condition task of the monitoring job (resources/monitoring-job.yml) that starts
    the training job."""
    tasks = yaml.safe_load(MONITORING_JOB.read_text(encoding="utf-8"))["resources"]["jobs"][
        "monitoring_job"
    ]["tasks"]
    (condition,) = [t["condition_task"] for t in tasks if "condition_task" in t]
    return condition


def test_only_drift_sets_retraining_required_and_the_job_retrains_on_its_task_value(
    scored, loud, monkeypatch
):
    """A quiet run (a data-quality violation, no drift) on a copy of the scored state, and
    the :func:`loud` run (every column drifts) on another copy of it."""
    published = recorded_task_values(monkeypatch, monitor)
    quiet = with_monitoring(
        scored, psi_threshold=1e9, ks_statistic_threshold=1.0, min_rows_per_day={"batch": 1e6}
    )
    result = monitor.run(quiet)
    assert result["violations_by_kind"]["drift"] == 0
    assert result["violations_by_kind"]["data_quality"] == 1  # the row count
    assert not result["retraining_required"]
    _, result, loud_published = loud
    assert result["violations_by_kind"]["drift"] > 0 and result["retraining_required"]
    # The job's condition task compares the published task value as a string.
    condition = retraining_condition()
    assert condition["left"] == "{{ '{{' }}tasks.monitor.values.retraining_required{{ '}}' }}"
    assert published == [("retraining_required", "false")]
    assert loud_published == [("retraining_required", condition["right"])]
    assert condition["op"] == "EQUAL_TO"


def test_the_report_embeds_a_chart_per_column_in_violation_and_the_error_by_day(loud, tmp_path):
    ctx, result, _ = loud
    client = registry(ctx)
    path = client.download_artifacts(result["mlflow_run_id"], "drift_report.html", str(tmp_path))
    page = Path(path).read_text(encoding="utf-8")
    images = re.findall(r"<img alt='([^']+)' src='data:image/svg\+xml;base64,([^']+)'>", page)
    charts = {alt: base64.b64decode(data) for alt, data in images}
    drifted = {
        m.group(1)
        for v in result["violations"]
        if (m := re.match(r"batch/v\d+ (\w+)\.(psi|ks_statistic)=[-\d.e]+ \(drift\)", v))
    }
    assert "temp" in drifted  # with a PSI limit of 0 every column with figures drifts
    # alt text -> the start of the chart's drawn title
    expected = {f"distribution of {c} in batch/v1": f"{c}: PSI " for c in drifted}
    expected["error by day of batch"] = "batch: error by day of the event timestamp"
    assert set(charts) == set(expected) and len(charts) == page.count("<img")
    svg = "{http://www.w3.org/2000/svg}"
    for alt, chart in charts.items():
        root = ElementTree.fromstring(chart)  # each chart is one well-formed SVG document
        assert root.tag == f"{svg}svg", alt
        # text is kept as text: the chart's title, as drawn, can be read in the SVG
        texts = [t.text or "" for t in root.iter(f"{svg}text")]
        assert any(t.startswith(expected[alt]) for t in texts), (alt, texts)
        links = re.findall(rb"href=\"([^\"]*)\"", chart)
        assert all(link.startswith(b"#") for link in links), alt  # in-chart references only
    assert "http" not in page and "<script" not in page  # nothing to fetch


def test_a_chart_is_the_same_bytes_on_every_draw():
    comparison = Comparison(["EWR", "JFK"], [0.5, 0.5], [0.2, 0.8], 10, 0.42, None)
    first = distribution_chart("origin", comparison, "batch/v1")
    assert first.startswith("<img alt='distribution of origin in batch/v1' src='data:image/svg")
    assert distribution_chart("origin", comparison, "batch/v1") == first


def test_a_column_in_violation_for_two_sources_gets_a_chart_named_for_each():
    settings = load_settings("local")
    training = pd.DataFrame({"origin": ["EWR", "JFK"] * 500})  # half and half
    baseline = Baseline("1", build_profile(training, np.zeros(len(training))), None)
    window = pd.DataFrame(
        {
            "origin": ["EWR"] * 200 + ["JFK"] * 800,  # a fifth and four fifths: PSI 0.416
            "prediction": 0.0,
            LABEL: np.nan,
            EVENT_TIME: utc(2013, 1, 10, 12),
        }
    )
    config = monitoring_settings(settings)
    figures, comparisons = [], {}
    for source in ("batch", "online"):  # the figures of each group, as the monitor step makes them
        found, compared = group_figures(source, "1", window, baseline, ["origin"], config, settings)
        figures += found
        comparisons.update({(source, "1", c): v for c, v in compared.items()})
    drifted = [f["source"] for f in figures if f["column"] == "origin" and f["violation"]]
    assert drifted == ["batch", "online"]
    assert comparisons[("online", "1", "origin")].psi == pytest.approx(0.416, abs=1e-3)

    page = render_report(figures, comparisons, "run")
    assert re.findall(r"<img alt='(distribution of [^']+)'", page) == [
        "distribution of origin in batch/v1",
        "distribution of origin in online/v1",
    ]


def test_the_report_lists_versions_in_numeric_order_then_the_figures_over_all_versions():
    # Versions are strings of digits: as text, "10" comes before "9".
    counts = [
        {**figure("*", "row_count", 5), "source": "batch", "model_version": v} for v in ("10", "9")
    ]
    wide = source_count_figure(10, days=2.0, min_rows_per_day=100)
    page = render_report([*counts, {**wide, "source": "batch", "model_version": "*"}], {}, "run")
    assert re.findall(r"<h2>Source batch, ([^<]+)</h2>", page) == [
        "model version 9",
        "model version 10",
        "all model versions",
    ]
    assert "<p>Violations: batch *.row_count (data_quality)</p>" in page
    # The source's own table: 10 rows against 2 days at 100 a day, marked as a violation.
    source_table = page.split("all model versions</h2>")[1].split("</table>")[0]
    assert re.findall(r"<tr class='(\w*)'>((?:<td>[^<]*</td>)+)</tr>", source_table) == [
        ("bad", "<td>row_count</td><td>10</td><td>200</td>")
    ]


def test_bad_monitoring_settings_name_the_key(scored):
    with pytest.raises(ConfigError, match="monitoring.ks_statistic_threshold: must be between"):
        monitoring_settings(with_monitoring(scored, ks_statistic_threshold=3).settings)
    with pytest.raises(ConfigError, match="monitoring.psi_threshold: must be a number"):
        monitoring_settings(with_monitoring(scored, psi_threshold="high").settings)


def test_error_figures_per_day():
    frame = pd.DataFrame(
        {
            "prediction": [10.0, 20.0, 0.0],
            "arr_delay": [12.0, 16.0, 3.0],
            "sched_dep_ts": pd.to_datetime(
                ["2013-12-01 10:00", "2013-12-01 23:59", "2013-12-02 00:00"], utc=True
            ),
        }
    )
    figures = error_figures(frame, mae_limit=2.5, label=LABEL, event_timestamp=EVENT_TIME)
    overall = {f["metric"]: f for f in figures if f["day"] is None}
    assert overall["mae"]["value"] == pytest.approx(3.0) and overall["mae"]["violation"]
    assert overall["mae"]["kind"] == "drift"
    daily = {(str(f["day"]), f["metric"]): f["value"] for f in figures if f["day"] is not None}
    assert daily[("2013-12-01", "mae")] == pytest.approx(3.0)
    assert daily[("2013-12-01", "rmse")] == pytest.approx(np.sqrt(10.0))
    assert daily[("2013-12-02", "labelled_rows")] == 1.0


def fake_steps(
    monkeypatch, retraining_required: bool, violations: list[str] | None = None
) -> list[str]:
    """Replace the steps run by the CLI with stubs; returns the list of steps called.

    monitor reports ``violations``; by default one drift violation when
    ``retraining_required``, none otherwise.
    """
    from {{ cookiecutter.package_name }} import entry

    calls = []
    if violations is None:
        violations = ["batch/v1 temp.psi=0.9 (drift)"] if retraining_required else []

    def run_step(step, ctx, **kwargs):  # validate and deploy also get version=
        calls.append(step)
        if step == "monitor":
            return {"violations": violations, "retraining_required": retraining_required}
        result = {"model_version": len(calls), "status": "PASSED", "champion_version": len(calls)}
        if step == "validate":
            result["metrics"] = {"mean_absolute_error": 12.3456, "r2_score": 0.25}
        return result

    monkeypatch.setattr(entry, "run_step", run_step)
    return calls


@pytest.mark.parametrize(
    ("argv", "drifted", "status"),
    [(["--fail-on-violation"], True, 2), ([], True, 0), (["--fail-on-violation"], False, 0)],
)
def test_monitor_exit_status(monkeypatch, argv, drifted, status):
    fake_steps(monkeypatch, drifted)
    assert monitoring_cli.monitor(["--env", "local", *argv]) == status


def test_a_violation_without_retraining_fails_on_violation(monkeypatch):
    """Any violation fails ``--fail-on-violation``, also one that does not call for
    retraining (too few rows); no violation passes (test_monitor_exit_status)."""
    fake_steps(monkeypatch, False, ["batch/row_count.window=10 (insufficient_data)"])
    assert monitoring_cli.monitor(["--env", "local", "--fail-on-violation"]) == 2


@pytest.mark.parametrize(("flag", "drifted"), [(True, True), (False, True), (True, False)])
def test_run_all_retrains_only_on_drift_with_the_flag(monkeypatch, ctx, flag, drifted):
    from {{ cookiecutter.package_name }} import cli

    calls = fake_steps(monkeypatch, drifted)
    summary = monitoring_cli.run_pipeline(ctx, retrain_on_drift=flag)
    steps = [*cli.STEPS, "monitor"]
    if flag and drifted:
        assert calls == [*steps, "train", "validate", "deploy"]
        n = len(steps)
        assert summary["retrained"] == {
            "model_version": n + 2,
            "status": "PASSED",
            "metrics": {"mean_absolute_error": 12.3456, "r2_score": 0.25},
            "reasons": None,
            "champion_version": n + 3,
            # Retrained as of the monitored date (2014-01-01, the local pin): the
            # validation window ends there, and the training window before it.
            "windows": {
                "window_train": "2013-03-03..2013-12-01",
                "window_validation": "2013-12-01..2014-01-01",
                "window_scoring": "2013-11-01..2014-01-01",
                "as_of": "2014-01-01",
                "training_as_of": "2014-01-01",
            },
        }
        assert summary["champion_version"] == n + 3
        assert "retrain_train" in summary["seconds"]
    else:
        assert calls == steps
        assert summary["retrained"] is None
    assert summary["monitoring_violations"] == (1 if drifted else 0)


def test_the_run_all_summary_text_after_a_retraining_names_each_figure(monkeypatch, ctx):
    """The text run-all prints (``format_summary`` of the pipeline's summary) after a
    retraining: rows per table, the model and its champion version, the validation
    metrics, seconds per step (total last), monitoring violations and the retrained
    version."""
    from {{ cookiecutter.package_name }} import cli

    fake_steps(monkeypatch, True)
    predictions = ctx.settings.table("predictions")
    ctx.tables.overwrite(ctx.spark.range(1234), predictions)
    summary = monitoring_cli.run_pipeline(ctx, retrain_on_drift=True)
    lines = monitoring_cli.format_summary(summary).splitlines()
    tables = [ctx.settings.table(key) for key in ctx.settings.tables]
    assert lines[0] == "environment: local"
    assert lines[2 : 3 + len(tables)] == [
        "rows per table:",
        *(f"  {name}: {'1,234' if name == predictions else 0}" for name in tables),
    ]
    validated = cli.STEPS.index("validate") + 1  # the fake's version: its step's number
    monitored = len(cli.STEPS) + 1  # the retraining's train, validate, deploy follow
    rest = lines[3 + len(tables) :]
    seconds = rest[2]
    assert rest == [
        f"model: {ctx.settings.model_name}  champion version: {monitored + 3}",
        f"validation of v{validated}: PASSED (mean_absolute_error=12.346, r2_score=0.250)",
        seconds,
        "monitoring violations: 1",
        "retrained on drift (train 2013-03-03..2013-12-01, validation 2013-12-01..2014-01-01):",
        f"  validation of v{monitored + 2}: PASSED (mean_absolute_error=12.346, r2_score=0.250)",
    ]
    steps = [*cli.STEPS, "monitor", "retrain_train", "retrain_validate", "retrain_deploy"]
    assert re.fullmatch(
        "seconds per step: " + ", ".join(rf"{step}=\d+\.\d+" for step in [*steps, "total"]),
        seconds,
    ), seconds


def test_a_retrained_version_rejected_is_summarised_with_its_own_figures_and_failed_gates(
    monkeypatch, ctx
):
    """After a retraining, the summary's ``retrained`` holds the retrained version's own
    verdict (status, metrics, reasons) and the text lists them under the retraining's
    windows, failed gates included; ``validation`` keeps the first run's verdict."""
    from {{ cookiecutter.package_name }} import entry

    fake_steps(monkeypatch, True)
    stub, validated = entry.run_step, []

    def second_validate_rejects(step, ctx, **kwargs):
        result = stub(step, ctx, **kwargs)
        if step == "validate":
            validated.append(result["model_version"])
            if len(validated) == 2:
                result.update(
                    status="FAILED",
                    metrics={"mean_absolute_error": 30.5},
                    reasons=["mean_absolute_error 30.500 above the limit 20.000"],
                )
        return result

    monkeypatch.setattr(entry, "run_step", second_validate_rejects)
    summary = monitoring_cli.run_pipeline(ctx, retrain_on_drift=True)
    first, again = validated
    assert summary["validation"]["model_version"] == first
    assert (summary["validation"]["status"], summary["validation"]["reasons"]) == ("PASSED", None)
    retrained = summary["retrained"]
    assert {k: retrained[k] for k in ("model_version", "status", "metrics", "reasons")} == {
        "model_version": again,
        "status": "FAILED",
        "metrics": {"mean_absolute_error": 30.5},
        "reasons": ["mean_absolute_error 30.500 above the limit 20.000"],
    }
    lines = monitoring_cli.format_summary(summary).splitlines()
    assert f"validation of v{first}: PASSED (mean_absolute_error=12.346, r2_score=0.250)" in lines
    assert lines[lines.index("monitoring violations: 1") + 1 :] == [
        "retrained on drift (train 2013-03-03..2013-12-01, validation 2013-12-01..2014-01-01):",
        f"  validation of v{again}: FAILED (mean_absolute_error=30.500)",
        "    failed gate: mean_absolute_error 30.500 above the limit 20.000",
    ]


def test_the_validation_mae_is_read_only_from_a_version_holding_a_whole_verdict(tmp_path):
    """A verdict cut off while being written (see test_registry.py) has figures but no
    ``validation_status``: its MAE may be an earlier verdict's, so none is read."""
    ctx = Context(local_settings(tmp_path))
    ctx.mlflow()
    client, name = registry(ctx), ctx.settings.model_name
    client.create_registered_model(name)
    client.create_model_version(name, source="file:///nowhere", run_id=None)
    client.set_model_version_tag(name, "1", "validation_mean_absolute_error", "20")
    assert load_baseline(client, name, "1").validation_mae is None
    client.set_model_version_tag(name, "1", "validation_status", "PASSED")
    assert load_baseline(client, name, "1").validation_mae == 20.0


def test_a_version_or_its_run_gone_gives_a_baseline_without_profile(tmp_path):
    """A deleted version, or one whose run was deleted for good (``mlflow gc``), has no
    profile: its columns are insufficient_data instead of the monitor stopping for all."""
    ctx = Context(local_settings(tmp_path))
    ctx.mlflow()
    client, name = registry(ctx), ctx.settings.model_name
    client.create_registered_model(name)
    assert load_baseline(client, name, "1") == Baseline("1", None, None)  # no such version
    client.create_model_version(name, source="file:///nowhere", run_id="f" * 32)  # no such run
    for key, value in (("validation_mean_absolute_error", "20"), ("validation_status", "PASSED")):
        client.set_model_version_tag(name, "1", key, value)
    assert load_baseline(client, name, "1") == Baseline("1", None, 20.0)  # the tags remain
