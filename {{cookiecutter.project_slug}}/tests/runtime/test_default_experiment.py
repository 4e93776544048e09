"""A local MLflow store keeps every experiment's artifacts in its own folder (both use cases)."""

from __future__ import annotations

from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.runtime.mlflow_store import create_store


def test_the_default_experiment_keeps_its_artifacts_beside_the_store(tmp_path, monkeypatch):
    """MLflow's Default experiment, which a run lands in when no experiment is set, keeps
    its artifacts in the store's ``mlartifacts`` folder, not in a ``mlruns`` folder of
    whichever directory the process that made the store ran in."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path = tmp_path / "state" / "mlflow.db"
    assert create_store(path) is True
    client = MlflowClient(tracking_uri=f"sqlite:///{path}")
    (default,) = client.search_experiments()
    assert default.name == "Default"
    assert default.artifact_location == (tmp_path / "state" / "mlartifacts" / "0").as_uri()
    run = client.create_run(default.experiment_id).info.run_id
    client.log_text(run, "logged", "note.txt")
    (logged,) = (tmp_path / "state").rglob("note.txt")
    assert logged.read_text() == "logged"
    assert logged.relative_to(tmp_path / "state").parts[:3] == ("mlartifacts", "0", run)
    assert list(elsewhere.iterdir()) == []
