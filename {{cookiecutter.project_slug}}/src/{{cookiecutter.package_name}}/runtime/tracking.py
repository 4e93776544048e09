"""MLflow tracking and model registry for one environment.

Locally both live in ``<local_root>/mlflow.db`` (SQLite) with artifacts in
``<local_root>/mlartifacts``; run ``mlflow ui --backend-store-uri sqlite:///<that file>``
to browse them. On Databricks the workspace tracking server and the Unity
Catalog registry are used.
"""

from __future__ import annotations

import logging
import threading
from contextlib import suppress
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ..settings_file import RuntimeSettings
from .mlflow_store import artifact_root, create_store

# Local stores being created by :func:`create_store_ahead`: store file -> its thread.
_AHEAD: dict[Path, threading.Thread] = {}
_AHEAD_LOCK = threading.Lock()


def _quiet_logs() -> None:
    """MLflow's and alembic's loggers at WARNING: no line per schema migration."""
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def local_store(local_root: Path) -> Path:
    """The local MLflow store file (SQLite, tracking and registry) of the local runtime's
    state folder ``local_root``: ``<local_root>/mlflow.db``."""
    return local_root / "mlflow.db"


def create_store_ahead(settings: RuntimeSettings) -> threading.Thread | None:
    """Locally, start creating the MLflow store (:func:`.mlflow_store.create_store`) in a
    thread and return it, so that its schema migrations (seconds on a new local root) run
    while the process waits on other work (``run-all`` starts it before ingest, which
    waits on Spark); :func:`configure_mlflow` waits for it to end.

    Returns None, starting nothing, on Databricks, when the store file exists or when a
    thread of this process is creating it already. An error in the thread is not raised
    there: :func:`configure_mlflow` then finds no store and creates it itself, raising
    the error of that second attempt, if it fails too. The thread is not a daemon: a
    process that ends first waits for it, so no temporary store file is left behind.
    """
    if settings.runtime != "local":
        return None
    store = local_store(settings.local_root)
    with _AHEAD_LOCK:
        if store.exists() or store in _AHEAD:
            return None
        thread = threading.Thread(target=_create_quietly, args=(store,), name="mlflow-store")
        _AHEAD[store] = thread
        thread.start()
    return thread


def _create_quietly(store: Path) -> None:
    _quiet_logs()
    with suppress(Exception):  # raised again, if it persists, by configure_mlflow
        create_store(store)


def _wait_for_store(store: Path) -> None:
    """Wait until the thread :func:`create_store_ahead` started for ``store`` ends."""
    with _AHEAD_LOCK:
        thread = _AHEAD.pop(store, None)
    if thread is not None:
        thread.join()


def tracking_uri(settings: RuntimeSettings) -> str:
    """``sqlite:///<local_root>/mlflow.db`` locally, ``databricks`` on Databricks."""
    if settings.runtime == "local":
        return f"sqlite:///{local_store(settings.local_root)}"
    return "databricks"


def configure_mlflow(settings: RuntimeSettings) -> str:
    """Point MLflow at the environment's stores and select its experiment.

    Creates the local folder, the store (whole: :func:`.mlflow_store.create_store`) and the
    experiment when missing; processes doing so at once all get the same store and
    experiment. First waits for the store's creation :func:`create_store_ahead` started in
    this process, if any. Returns the experiment id.
    """
    _quiet_logs()
    if settings.runtime == "local":
        store = local_store(settings.local_root)
        _wait_for_store(store)
        create_store(store)
        mlflow.set_tracking_uri(tracking_uri(settings))
        mlflow.set_registry_uri(tracking_uri(settings))
        name = settings.experiment
        if mlflow.get_experiment_by_name(name) is None:
            location = artifact_root(store).as_uri()
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
