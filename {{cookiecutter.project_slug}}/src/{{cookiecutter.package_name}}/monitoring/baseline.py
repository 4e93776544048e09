"""What the monitor compares a model version's predictions with: that version's own baseline."""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ..data_profile import PROFILE_ARTIFACT
from ..registry import verdict_tags

MAE_TAG = "validation_mean_absolute_error"


@dataclass(frozen=True)
class Baseline:
    """A model version's reference: its training-data profile and its validation MAE.

    profile: ``data_profile.json`` of the run that registered the version (see
    data_profile.py), or None when that run has none (or the version or its run is gone).
    validation_mae: the version's ``validation_mean_absolute_error`` tag (the label's unit),
    or None when its verdict has none: before validation, after a validation that scored
    nothing (mode ``disabled``), or while a verdict is incomplete (no ``validation_status``).
    """

    version: str
    profile: dict | None
    validation_mae: float | None


def load_baseline(client: MlflowClient, model_name: str, version: str) -> Baseline:
    """The :class:`Baseline` of version ``version`` of ``model_name``.

    A version the registry does not know (for example the rows of a deleted
    version) gives a Baseline without profile or MAE rather than an error, so the
    monitor reports its columns as insufficient_data. So does the profile of a
    version whose run is gone (deleted for good, e.g. by ``mlflow gc``); its MAE is
    still read from the version's tags. Other registry errors raise.
    """
    try:
        model_version = client.get_model_version(model_name, version)
    except MlflowException as err:
        if _missing(err):
            return Baseline(version, None, None)
        raise
    profile = None
    run_id = model_version.run_id
    if run_id and PROFILE_ARTIFACT in _artifact_paths(client, run_id):
        profile = mlflow.artifacts.load_dict(f"runs:/{run_id}/{PROFILE_ARTIFACT}")
    mae = verdict_tags(model_version).get(MAE_TAG)
    return Baseline(version, profile, float(mae) if mae else None)


def _missing(err: MlflowException) -> bool:
    return err.error_code == "RESOURCE_DOES_NOT_EXIST"


def _artifact_paths(client: MlflowClient, run_id: str) -> set[str]:
    """Top-level artifact paths of run ``run_id``; empty when the run no longer exists."""
    try:
        return {a.path for a in client.list_artifacts(run_id)}
    except MlflowException as err:
        if _missing(err):
            return set()
        raise
