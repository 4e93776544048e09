"""The QA pipeline as an MLflow model from code (logged by the build step with this file).

Input: a pandas DataFrame with a ``question`` column, a dict ``{"question": ...}``
or a list of such dicts. Output: one answer dict per question (see
``QAPipeline.answer``).
"""

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE
from mlflow.pyfunc import PythonModel

from {{ cookiecutter.package_name }}.rag.pipeline import pipeline_from_config


def questions_of(model_input) -> list[str]:
    """The questions in ``model_input`` (DataFrame column, dict or list of dicts).

    Raises MlflowException (INVALID_PARAMETER_VALUE: HTTP 400 when served) naming the
    ``question`` field when it is missing, empty or not a string in any row.
    """
    if isinstance(model_input, pd.DataFrame):
        rows = model_input.to_dict("records")
    elif isinstance(model_input, dict):
        rows = [model_input]
    else:
        rows = list(model_input)
    questions = [row.get("question") if isinstance(row, dict) else None for row in rows]
    if not questions or not all(isinstance(q, str) and q.strip() for q in questions):
        raise MlflowException(
            "question: every row needs a non-empty string field 'question'",
            error_code=INVALID_PARAMETER_VALUE,
        )
    return questions


class QAModel(PythonModel):
    """Loads the pipeline from the model config and the ``index`` artifact."""

    def load_context(self, context):
        """Build the pipeline once per loaded model."""
        self.pipeline = pipeline_from_config(context.model_config, context.artifacts.get("index"))

    def predict(self, context, model_input: pd.DataFrame, params=None):
        """One answer dict per question of ``model_input`` (see :func:`questions_of`).

        The type hint is what the model's signature (``pipeline.SIGNATURE``, logged by
        the build step) declares: a DataFrame with a ``question`` string column. MLflow
        checks requests against that signature and derives nothing from the hint;
        :func:`questions_of` refuses empty questions.
        """
        return [self.pipeline.answer(q) for q in questions_of(model_input)]


mlflow.models.set_model(QAModel())
