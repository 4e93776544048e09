"""Ingest writes bronze tables with UTC timestamps; a rerun does not duplicate rows."""

from __future__ import annotations

import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.features import definitions
from {{ cookiecutter.package_name }}.steps import ingest

from .conftest import private_copy, utc

pytestmark = pytest.mark.spark


def test_scheduled_departure_is_time_hour_plus_minute(spark):
    raw = spark.createDataFrame(
        pd.DataFrame(
            {
                "carrier": ["UA"],
                "flight": [1545],
                "origin": ["EWR"],
                "minute": [15],
                "time_hour": ["2013-01-01T10:00:00Z"],
            }
        )
    )
    row = definitions.bronze_flights(raw).collect()[0]
    # 05:15 in New York (EST, UTC-5) is 10:15 UTC; the session and the tests run in UTC.
    assert row["sched_dep_ts"] == utc(2013, 1, 1, 10, 15).replace(tzinfo=None)
    assert row["flight_id"] == "UA-1545-EWR-20130101T1015"
    assert "time_hour" not in row.asDict()


def test_ingest_writes_every_source_row_once_and_reruns_cleanly(
    trained, tmp_path, use_synthetic_source
):
    flights, weather = use_synthetic_source
    ctx = private_copy(trained[0], tmp_path / "state")
    first = trained[1]["ingest"]  # the first run, from the same synthetic source
    second = ingest.run(ctx)
    names = ctx.settings.table("flights_bronze"), ctx.settings.table("weather_bronze")
    assert first["rows"] == second["rows"] == {names[0]: len(flights), names[1]: len(weather)}
    bronze = ctx.tables.read(names[0])
    assert bronze.select("flight_id").distinct().count() == len(flights)
