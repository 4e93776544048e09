"""MLflow tracking and model registry for one environment.

Locally both live in ``<local_root>/mlflow.db`` (SQLite) with artifacts in
``<local_root>/mlartifacts``; run ``mlflow ui --backend-store-uri sqlite:///<that file>``
to browse them. On Databricks the workspace tracking server and the Unity
Catalog registry are used.
"""

from __future__ import annotations

import logging

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ..settings_file import RuntimeSettings
from .mlflow_store import create_store


def tracking_uri(settings: RuntimeSettings) -> str:
    """``sqlite:///<local_root>/mlflow.db`` locally, ``databricks`` on Databricks."""
    if settings.runtime == "local":
        return f"sqlite:///{settings.local_root / 'mlflow.db'}"
    return "databricks"


def configure_mlflow(settings: RuntimeSettings) -> str:
    """Point MLflow at the environment's stores and select its experiment.

    Creates the local folder, the store (whole: :func:`.mlflow_store.create_store`) and the
    experiment when missing; processes doing so at once all get the same store and
    experiment. Returns the experiment id.
    """
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if settings.runtime == "local":
        create_store(settings.local_root / "mlflow.db")
        mlflow.set_tracking_uri(tracking_uri(settings))
        mlflow.set_registry_uri(tracking_uri(settings))
        name = settings.experiment
        if mlflow.get_experiment_by_name(name) is None:
            location = (settings.local_root / "mlartifacts").as_uri()
            try:
                mlflow.create_experiment(name, artifact_location=location)
            except MlflowException as error:  # another process created it meanwhile
                if error.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
        return mlflow.set_experiment(name).experiment_id
    mlflow.set_tracking_uri("databricks")
    mlflow.set_registry_uri("databricks-uc")
    name = (
        settings.experiment
        if settings.experiment.startswith("/")
        else f"/Shared/{settings.experiment}"
    )
    return mlflow.set_experiment(name).experiment_id


def client() -> MlflowClient:
    """An MlflowClient on the URIs set by :func:`configure_mlflow`."""
    return MlflowClient()
