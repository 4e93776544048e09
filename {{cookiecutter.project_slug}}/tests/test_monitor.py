"""Monitoring writes drift and error figures per window and replaces them on rerun."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.steps import monitor

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
    assert second["retraining_required"] == bool(second["violations"])
