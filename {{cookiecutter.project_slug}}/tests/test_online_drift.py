"""Online serving seen by the monitor: a planted shift in the requests the local server
logged raises a drift alarm on the online source (projects with online serving and
monitoring)."""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.features.definitions import WEATHER_COLUMNS
from {{ cookiecutter.package_name }}.serving import server
from {{ cookiecutter.package_name }}.steps import monitor

from .conftest import private_copy
from .test_monitor import metrics, with_monitoring
from .test_serving import payload, post

pytestmark = pytest.mark.spark


def test_a_planted_shift_in_online_requests_raises_a_drift_alarm(trained_scored, tmp_path):
    """The same rows reach the monitor twice: as batch inference scored them, and from the
    online requests with one column shifted. The online PSI of that column is an alarm,
    many times the batch PSI of the same rows unshifted (the control: a small synthetic
    window can pass the PSI threshold on its own); every other model input's PSI is the
    same for both sources."""
    ctx = private_copy(trained_scored[0], tmp_path / "state")  # scored once by batch
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
    result = monitor.run(ctx)
    assert result["groups"] == {"batch/v1": len(rows), "online/v1": len(rows)}
    online = [v for v in result["violations"] if v.startswith("online/")]
    assert any(v.startswith(f"online/v1 {shifted_column}.psi=") for v in online), online
    table = metrics(ctx)
    psi = table[(table.column == shifted_column) & (table.metric == "psi")]
    assert sorted(psi.source) == ["batch", "online"]
    by_source = dict(zip(psi.source, psi.value, strict=True))
    assert by_source["online"] > 5 * max(by_source["batch"], psi.threshold.max())
    inputs = [c for c in ctx.settings.contract.feature_columns if c != shifted_column]
    others = table[table.column.isin(inputs) & (table.metric == "psi")]
    per_source = others.pivot(index="column", columns="source", values="value")
    assert sorted(per_source.index) == sorted(inputs)
    # null where a column has too few values (wind_gust): null for both sources
    online, batch = per_source.online.to_numpy(), per_source.batch.to_numpy()
    assert online == pytest.approx(batch, abs=1e-9, nan_ok=True)


def test_an_online_source_with_a_row_rule_and_no_table_yet_is_checked_with_no_rows(
    trained_scored, tmp_path
):
    """README: a source named in ``min_rows_per_day`` whose table does not exist yet
    (nothing served) is not left out of the rule: its row count over all versions is 0,
    under the limit (5 a day over the two-day window: 10)."""
    ctx = private_copy(trained_scored[0], tmp_path / "state")  # this test writes metrics
    assert not ctx.tables.exists(ctx.settings.table("inference_table"))
    result = monitor.run(with_monitoring(ctx, min_rows_per_day={"batch": 1, "online": 5}))
    assert list(result["groups"]) == ["batch/v1"]  # no version served online
    assert "online *.row_count=0 (data_quality)" in result["violations"]
    table = metrics(ctx)
    (online,) = table[table.source == "online"].itertuples()
    assert (online.model_version, online.column, online.metric) == ("*", "*", "row_count")
    assert (online.value, online.threshold, online.violation) == (0, 10, True)
