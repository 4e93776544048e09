"""Spark DataFrames to pandas, the same on classic Spark and over Spark Connect."""

from __future__ import annotations

import pandas as pd
from pyspark.sql import DataFrame


def to_pandas(df: DataFrame) -> pd.DataFrame:
    """``df`` collected to the driver as a pandas DataFrame (``df.toPandas()``), with empty
    ``attrs``.

    Over Spark Connect (Databricks serverless, ``MLOPS_SPARK_REMOTE``) PySpark puts the
    query's plan metrics in the frame's ``attrs`` (keys ``metrics`` and
    ``observed_metrics``, PySpark objects). pandas copies ``attrs`` into frames made from
    this one and writes them into Parquet files as JSON, which raises TypeError on
    those objects: a step that saved such a frame ran on classic Spark and failed on
    serverless. Every step collects Spark data through this function.
    """
    frame = df.toPandas()
    frame.attrs = {}
    return frame
