"""Online serving seen by the monitor: a planted shift in the requests the local server
logged raises a drift alarm on the online source (projects with online serving and
monitoring)."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.features.definitions import WEATHER_COLUMNS
from {{ cookiecutter.package_name }}.monitoring.inference_sources import inference_sources
from {{ cookiecutter.package_name }}.serving import server
from {{ cookiecutter.package_name }}.steps import monitor

from .conftest import private_copy
from .test_serving import payload, post

pytestmark = pytest.mark.spark


def test_a_planted_shift_in_online_requests_raises_a_drift_alarm(
    november_scored, tmp_path, monkeypatch
):
    """The monitor, given the inference table as its only source, flags the shifted column."""
    ctx = private_copy(november_scored[0], tmp_path / "state")  # Nov 5 scored by batch
    rows = [r.asDict() for r in ctx.tables.read(ctx.settings.table("predictions")).collect()]
    shifted_column = WEATHER_COLUMNS[0]
    for row in rows:
        if row[shifted_column] is not None:
            row[shifted_column] += 40.0
    running = server.start(ctx, port=0)
    try:
        for start in range(0, len(rows), 100):
            assert post(running, payload(rows[start : start + 100])).status_code == 200
    finally:
        running.stop()
    monkeypatch.setattr(monitor, "prediction_sources", inference_sources)
    result = monitor.run(ctx)
    online = [v for v in result["violations"] if v.startswith("online/")]
    assert any(v.startswith(f"online/v1 {shifted_column}.psi=") for v in online), result
    assert not [v for v in result["violations"] if v.startswith("batch/")]
