"""A pandas Int64 feature with a missing value: the model still gets a signature and scores it.

The signature declares integer columns as double, like the model input tables
(numeric inputs are double): MLflow refuses to convert int64 to double at scoring.
"""

from __future__ import annotations

import math

import mlflow
import pandas as pd
import pytest
from mlflow.models import infer_signature
from mlflow.types import DataType
from pyspark.sql import functions as F

from {{ cookiecutter.package_name }}.modeling import build_pipeline, log_model, schema_rows
from {{ cookiecutter.package_name }}.registry import model_uri

from .conftest import CONTRACT, FEATURES, LABEL
from .test_promotion import train_split

pytestmark = pytest.mark.spark


def test_an_int64_feature_with_a_missing_value_is_an_optional_double_and_is_scored(
    trained, ctx, spark
):
    source, _ = trained
    columns = FEATURES
    frame = train_split(source)
    frame["distance"] = frame["distance"].astype("Int64")
    frame.loc[0, "distance"] = pd.NA  # in the input example too
    model = build_pipeline(CONTRACT, dict(ctx.settings.training))
    model.fit(frame[columns], frame[LABEL])
    ctx.mlflow()
    with mlflow.start_run():
        info = log_model(model, frame[columns], ctx.settings.model_name)

    spec = {c.name: c for c in info.signature.inputs.inputs}["distance"]
    assert (spec.type, spec.required) == (DataType.double, False)

    rows = spark.createDataFrame(frame[columns].head(2).astype({"distance": "float64"}))
    rows = rows.withColumn(
        "distance",
        F.when(F.isnan("distance"), F.lit(None)).otherwise(F.col("distance")),
    )
    predict = mlflow.pyfunc.spark_udf(
        spark,
        model_uri(ctx.settings.model_name, info.registered_model_version),
        result_type="double",
        env_manager="local",
    )
    scored = rows.withColumn("prediction", predict(F.struct(*columns))).collect()
    assert [r["distance"] is None for r in scored] == [True, False]
    assert all(math.isfinite(r["prediction"]) for r in scored)


def test_the_schema_rows_give_the_schema_mlflow_infers_from_every_row(trained):
    source, _ = trained
    frame = train_split(source)[FEATURES]
    frame["distance"] = frame["distance"].astype("Int64")
    late = frame.index[-1]  # missing only after the input example
    frame.loc[late, "distance"] = pd.NA
    first_carrier = frame.index[6]  # no carrier in the input example nor the row after
    frame.loc[frame.index[:6], "carrier"] = None

    rows = schema_rows(frame)
    whole = infer_signature(frame).inputs
    assert len(rows) < len(frame) and {late, first_carrier} <= set(rows.index)
    assert infer_signature(rows).inputs == whole
    required = {c.name: c.required for c in whole.inputs}
    assert (required["distance"], required["carrier"], required["origin"]) == (False, False, True)
