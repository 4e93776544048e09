"""The model of the contract's problem type and how it is logged to MLflow.

``regression``: a gradient-boosted regressor; ``binary_classification``: a
gradient-boosted classifier whose ``predict`` returns the positive-class probability
(:class:`.estimators.PositiveClassProbability`), so the logged model, ``spark_udf``,
serving and every reader of predictions get one number per row. A logged model whose
estimator is a class of this package carries the package in its ``code`` folder, so
it loads where the package is not installed (a model server).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
import skops.io
from mlflow.models import infer_signature
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from .contract import Contract
from .estimators import estimator_class


def build_pipeline(contract: Contract, params: dict[str, Any]) -> Pipeline:
    """The contract's model on its categorical (strings) and numeric model inputs.

    A gradient-boosted regressor for ``regression``,
    :class:`.estimators.PositiveClassProbability` for ``binary_classification``.

    Numeric columns may be float or integer, including pandas ``Int64`` with missing
    values (the encoder hands the regressor a DataFrame, so ``pd.NA`` arrives as a
    missing value). Categories unseen in training and missing values go to the
    model's missing-value branch. ``params`` are HistGradientBoosting* parameters
    (the settings' ``training`` section, checked at load against
    :func:`.estimators.settable_parameters`).
    """
    categorical = contract.categorical
    encode = ColumnTransformer(
        [
            (
                "categorical",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=-1,
                    encoded_missing_value=-1,
                ),
                categorical,
            ),
            ("numeric", "passthrough", contract.numeric),
        ],
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")
    estimator = estimator_class(contract.is_classification)
    model = estimator(categorical_features=list(range(len(categorical))), **params)
    return Pipeline([("encode", encode), ("model", model)])


def pip_requirements() -> list[str]:
    """Pinned requirements of the logged model (given explicitly: inferring them is slow)."""
    return [
        f"{name}=={metadata.version(name)}"
        for name in ("mlflow", "scikit-learn", "skops", "pandas", "numpy", "scipy")
    ]


def _as_float(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with integer columns (numpy or pandas nullable) as float64, missing as NaN."""
    ints = [c for c, dtype in frame.dtypes.items() if pd.api.types.is_integer_dtype(dtype)]
    return frame.astype(dict.fromkeys(ints, "float64"))


def schema_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` that decide the schema MLflow infers from it, dtypes kept.

    The first five rows and, for each column, its first row holding a value and its
    first row missing one (where it has such rows). ``infer_signature`` reads every
    value of object (string) columns and looks for a missing value in every column,
    which costs seconds per 100,000 rows; from these rows it infers the schema of the
    whole frame when each column holds values of one type, as ``toPandas`` returns
    them. In: any pandas DataFrame (an empty one is returned as it is).
    """
    missing = frame.isna().to_numpy()
    rows = set(range(min(5, len(frame))))
    for column in missing.T:
        if column.any():
            rows.add(int(column.argmax()))
        if not column.all():
            rows.add(int((~column).argmax()))
    return frame.iloc[sorted(rows)]


def own_code_paths(model: Pipeline) -> list[str] | None:
    """``[this package's folder]`` when ``model``'s estimator is a class of this package
    (the classifier, :class:`.estimators.PositiveClassProbability`), else None.

    MLflow copies the folder into the logged model's ``code`` folder and puts that on
    ``sys.path`` when the model is loaded, so loading needs no installed package.
    """
    if type(model[-1]).__module__.split(".")[0] != __package__.split(".")[0]:
        return None
    return [str(Path(__file__).resolve().parent)]


def log_model(
    model: Pipeline, frame: pd.DataFrame, registered_name: str, tags: dict[str, str] | None = None
):
    """Log ``model`` in the active run and register it as a new version of ``registered_name``.

    ``tags`` (tag name to string value; none when None) are the new version's tags,
    written by the call that creates the version, so no version exists without them;
    the logged model carries them too.

    ``frame`` holds the model inputs the model was fit on; its first five rows are
    the input example. The signature's input schema is inferred from its
    :func:`schema_rows`, which give the schema of all its rows, with integer columns
    declared as double (an integer cannot hold a missing value): a column missing a
    value in any row (a pandas ``Int64`` column with ``pd.NA``, say) is an optional
    double, and a row missing it is scored. The
    classifier is logged with :func:`own_code_paths`: it loads without the package.
    Returns MLflow's ModelInfo; ``registered_model_version`` is the new version.
    """
    payload = skops.io.dumps(model)
    trusted = skops.io.get_untrusted_types(data=payload)
    example = frame.head(5)
    return mlflow.sklearn.log_model(
        model,
        name="model",
        signature=infer_signature(_as_float(schema_rows(frame)), model.predict(example)),
        input_example=example,
        pip_requirements=pip_requirements(),
        registered_model_name=registered_name,
        tags=tags,
        code_paths=own_code_paths(model),
        serialization_format="skops",
        skops_trusted_types=trusted,
    )
