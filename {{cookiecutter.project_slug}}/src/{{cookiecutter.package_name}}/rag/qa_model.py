"""The QA pipeline as an MLflow model from code (logged by the build step with this file).

Input: a pandas DataFrame with a ``question`` column, a dict ``{"question": ...}``
or a list of such dicts. Output: one answer dict per question (see
``QAPipeline.answer``).
"""

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel

from {{ cookiecutter.package_name }}.rag.pipeline import pipeline_from_config


def questions_of(model_input) -> list[str]:
    """The questions in ``model_input`` (DataFrame column, dict or list of dicts)."""
    if isinstance(model_input, pd.DataFrame):
        return [str(q) for q in model_input["question"]]
    if isinstance(model_input, dict):
        return [str(model_input["question"])]
    return [str(item["question"]) for item in model_input]


class QAModel(PythonModel):
    """Loads the pipeline from the model config and the ``index`` artifact."""

    def load_context(self, context):
        """Build the pipeline once per loaded model."""
        self.pipeline = pipeline_from_config(context.model_config, context.artifacts.get("index"))

    def predict(self, context, model_input, params=None):
        """One answer dict per question."""
        return [self.pipeline.answer(q) for q in questions_of(model_input)]


mlflow.models.set_model(QAModel())
