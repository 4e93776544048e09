"""Monitoring writes drift and error figures per window and replaces them on rerun."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.steps import monitor

from .conftest import registry

pytestmark = pytest.mark.spark

SETTINGS = {"psi_threshold": 0.2, "ks_pvalue_threshold": 0.001, "bins": 10}


def test_drift_rows_flag_only_the_shifted_column():
    rng = np.random.default_rng(3)
    baseline = pd.DataFrame(
        {
            "temp": rng.normal(40, 5, 5000),
            "distance": rng.normal(800, 100, 5000),
            "origin": ["EWR"] * 5000,
        }
    )
    current = pd.DataFrame(
        {
            "temp": rng.normal(60, 5, 5000),
            "distance": rng.normal(800, 100, 5000),
            "origin": ["EWR"] * 5000,
        }
    )
    rows = monitor.drift_rows(baseline, current, ["temp", "distance", "origin"], SETTINGS)
    flagged = {r["column"] for r in rows if r["violation"]}
    assert flagged == {"temp"}
    psi = {r["column"]: r["value"] for r in rows if r["metric"] == "psi"}
    assert psi["temp"] > 1.0 and psi["distance"] < 0.05 and psi["origin"] == pytest.approx(0.0)


def test_monitor_writes_figures_once_per_window(trained):
    ctx, _ = trained
    from {{ cookiecutter.package_name }}.steps import batch_inference

    batch_inference.run(ctx)
    first = monitor.run(ctx)
    second = monitor.run(ctx)
    name = ctx.settings.table("monitoring_metrics")
    table = ctx.tables.read(name)
    assert first["metrics_written"] == second["metrics_written"] == table.count()
    metrics = {(r["column"], r["metric"]) for r in table.collect()}
    assert ("prediction", "psi") in metrics and ("temp", "ks_pvalue") in metrics
    assert ("prediction", "mae") in metrics  # the synthetic scored window has labels
    assert ("*", "row_count") in metrics and ("temp", "null_fraction") in metrics
    assert second["retraining_required"] == bool(second["violations"])
    days = table.where("day IS NOT NULL AND metric = 'labelled_rows'").collect()
    assert [str(r["day"]) for r in sorted(days, key=lambda r: r["day"])] == [
        "2013-01-10",
        "2013-01-11",
    ]
    window_rows = table.where("day IS NULL AND metric = 'labelled_rows'").first()["value"]
    assert sum(r["value"] for r in days) == window_rows > 0
    run = registry(ctx).get_run(second["mlflow_run_id"])
    written = table.where("metric = 'row_count'").first()["value"]
    assert run.data.metrics["row_count.window"] == written
    artifacts = [a.path for a in registry(ctx).list_artifacts(run.info.run_id)]
    assert "drift_report.html" in artifacts


def test_error_rows_per_day():
    frame = pd.DataFrame(
        {
            "prediction": [10.0, 20.0, 0.0],
            "arr_delay": [12.0, 16.0, 3.0],
            "sched_dep_ts": pd.to_datetime(
                ["2013-12-01 10:00", "2013-12-01 23:59", "2013-12-02 00:00"], utc=True
            ),
        }
    )
    rows = monitor.error_rows(frame, mae_limit=2.5)
    overall = {r["metric"]: r for r in rows if r["day"] is None}
    assert overall["mae"]["value"] == pytest.approx(3.0) and overall["mae"]["violation"]
    daily = {(str(r["day"]), r["metric"]): r["value"] for r in rows if r["day"] is not None}
    assert daily[("2013-12-01", "mae")] == pytest.approx(3.0)
    assert daily[("2013-12-01", "rmse")] == pytest.approx(np.sqrt(10.0))
    assert daily[("2013-12-02", "labelled_rows")] == 1.0


def fake_steps(monkeypatch, retraining_required: bool) -> list[str]:
    """Replace the steps run by the CLI with stubs; returns the list of steps called."""
    from {{ cookiecutter.package_name }} import cli

    calls = []

    def run_step(step, ctx, **kwargs):  # validate and deploy also get version=
        calls.append(step)
        if step == "monitor":
            violations = ["temp.psi=0.9"] if retraining_required else []
            return {"violations": violations, "retraining_required": retraining_required}
        return {"model_version": len(calls), "status": "PASSED", "champion_version": len(calls)}

    monkeypatch.setattr(cli, "_run_step", run_step)
    return calls


@pytest.mark.parametrize(
    ("argv", "drifted", "status"),
    [(["--fail-on-violation"], True, 2), ([], True, 0), (["--fail-on-violation"], False, 0)],
)
def test_monitor_exit_status(monkeypatch, tmp_path, argv, drifted, status):
    from {{ cookiecutter.package_name }} import cli

    fake_steps(monkeypatch, drifted)
    assert cli.monitor(["--env", "local", *argv]) == status


@pytest.mark.parametrize(("flag", "drifted"), [(True, True), (False, True), (True, False)])
def test_run_all_retrains_only_on_drift_with_the_flag(monkeypatch, ctx, flag, drifted):
    from {{ cookiecutter.package_name }} import cli

    calls = fake_steps(monkeypatch, drifted)
    summary = cli.run_pipeline(ctx, retrain_on_drift=flag)
    if flag and drifted:
        assert calls == [*cli.STEPS, "train", "validate", "deploy"]
        n = len(cli.STEPS)
        assert summary["retrained"] == {
            "model_version": n + 2,
            "status": "PASSED",
            "champion_version": n + 3,
        }
        assert summary["champion_version"] == n + 3
        assert "retrain_train" in summary["seconds"]
    else:
        assert calls == list(cli.STEPS)
        assert summary["retrained"] is None
