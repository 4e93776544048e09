"""Model registry by aliases (no stages): a challenger (validated candidate) and a champion.

The alias names come from ``registry`` in the config (``Settings.champion_alias``,
``Settings.challenger_alias``); the constants below are their defaults.
"""

from __future__ import annotations

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

CHALLENGER = "challenger"
CHAMPION = "champion"
STATUS_TAG = "validation_status"
PASSED, FAILED = "PASSED", "FAILED"
PREVIOUS_CHAMPION_TAG = "previous_champion"
ROLLED_BACK_FROM_TAG = "rolled_back_from"
ROLLED_BACK_TO_TAG = "rolled_back_to"
ROLLED_BACK_AT_TAG = "rolled_back_at"


def version_by_alias(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version of model ``name`` that ``alias`` points at, or None when it points nowhere."""
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def latest_version(client: MlflowClient, name: str) -> ModelVersion:
    """The highest-numbered version of model ``name``.

    Raises LookupError when the model has no version (run the train step first).
    """
    versions = client.search_model_versions(f"name = '{name}'")
    if not versions:
        raise LookupError(f"model {name} has no registered version: run the train step first")
    return max(versions, key=lambda v: int(v.version))


def model_uri(name: str, version: str | int) -> str:
    """``models:/<name>/<version>``."""
    return f"models:/{name}/{version}"
