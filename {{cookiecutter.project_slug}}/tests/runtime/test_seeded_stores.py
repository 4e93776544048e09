"""The tests' MLflow stores (tests/mlflow_stores.py), shared by both use cases' tests."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.runtime.mlflow_store import create_store

from ..mlflow_stores import empty_store, seeded


def schema_version(store) -> str:
    """The alembic revision MLflow recorded in the SQLite store ``store``."""
    with closing(sqlite3.connect(store)) as connection:
        return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_a_seeded_root_has_a_migrated_empty_store(tmp_path):
    """``seeded`` makes the folder and puts a store at the schema a new store gets, holding
    only MLflow's default experiment: the runtime opens it without building it again."""
    root = seeded(tmp_path / "new" / "state")
    new = tmp_path / "made" / "mlflow.db"
    create_store(new)

    assert schema_version(root / "mlflow.db") == schema_version(new)
    assert create_store(root / "mlflow.db") is False
    uri = f"sqlite:///{root / 'mlflow.db'}"
    (default,) = MlflowClient(uri, uri).search_experiments()
    assert default.name == "Default"
    # Its artifacts go under this root, as in a store made here, not the copied one's folder.
    made = f"sqlite:///{new}"
    (made_default,) = MlflowClient(made, made).search_experiments()
    assert made_default.artifact_location == (tmp_path / "made" / "mlartifacts" / "0").as_uri()
    assert default.artifact_location == (root / "mlartifacts" / "0").as_uri()


def test_seeding_a_root_that_has_a_store_keeps_that_store(tmp_path):
    """A second ``seeded`` on one root (a test building a context on a root it seeded)
    leaves what was logged there, and the empty store it copies stays empty."""
    root = seeded(tmp_path)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    MlflowClient(uri, uri).create_experiment("kept", artifact_location=tmp_path.as_uri())

    assert seeded(tmp_path) == root
    names = sorted(e.name for e in MlflowClient(uri, uri).search_experiments())
    assert names == ["Default", "kept"]
    empty = f"sqlite:///{empty_store()}"
    assert [e.name for e in MlflowClient(empty, empty).search_experiments()] == ["Default"]


def test_a_seeded_root_with_a_space_or_given_relative_keeps_artifacts_under_it(
    tmp_path, monkeypatch
):
    """The copied store's locations are file URIs (a space is ``%20`` there): they are
    re-pointed all the same, and a relative root is taken from the working directory."""
    spaced = tmp_path / "a folder" / "state"
    assert seeded(spaced) == spaced
    monkeypatch.chdir(tmp_path)
    assert seeded("relative/state") == Path("relative/state")
    assert "%20" in spaced.as_uri()
    for folder in (spaced, tmp_path / "relative" / "state"):
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        (default,) = MlflowClient(uri, uri).search_experiments()
        assert default.artifact_location == f"{folder.as_uri()}/mlartifacts/0"
