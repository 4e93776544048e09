"""Spark data reaches pandas without what Spark Connect attaches to the frame."""

from __future__ import annotations

import pandas as pd
import pytest
from pyspark.sql.metrics import MetricValue, PlanMetrics

from {{ cookiecutter.package_name }}.runtime.frames import to_pandas

ROWS = {"doc_id": ["a", "b"], "chunks": [3, 1]}


class ConnectFrame:
    """A Spark Connect DataFrame as far as ``to_pandas`` sees it: its ``toPandas`` returns
    the rows with the query's plan metrics in ``attrs["metrics"]``, as PySpark's Connect
    client does (``pyspark/sql/connect/client/core.py``). The unit tier has no Connect
    server; the integration tier runs the pipelines over one."""

    def toPandas(self) -> pd.DataFrame:  # noqa: N802 (PySpark's name)
        frame = pd.DataFrame(ROWS)
        scan = PlanMetrics("LocalTableScan", 0, -1, [MetricValue("numOutputRows", 2, "sum")])
        frame.attrs["metrics"] = [scan]
        return frame


# pandas warns that it cannot serialize the attrs, then fails to write them.
@pytest.mark.filterwarnings("ignore:Could not serialize pd.DataFrame.attrs")
def test_a_frame_collected_over_spark_connect_saves_to_parquet(tmp_path):
    with pytest.raises(TypeError, match="PlanMetrics"):  # pandas writes attrs as JSON
        ConnectFrame().toPandas().to_parquet(tmp_path / "bare.parquet")
    frame = to_pandas(ConnectFrame())
    assert frame.attrs == {}
    frame.to_parquet(tmp_path / "frame.parquet", index=False)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "frame.parquet"), pd.DataFrame(ROWS))
