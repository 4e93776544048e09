"""The local MLflow store is created whole: processes opening a new one at once all get it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }} import entry
from {{ cookiecutter.package_name }}.cli import run_pipeline
from {{ cookiecutter.package_name }}.config import load_settings
from {{ cookiecutter.package_name }}.runtime import mlflow_store
from {{ cookiecutter.package_name }}.runtime.mlflow_store import create_store
from {{ cookiecutter.package_name }}.runtime.tracking import (
    configure_mlflow,
    create_store_ahead,
    local_store,
    tracking_uri,
)

from .conftest import local_settings

# SQLite's own files beside a WAL store that a connection has open (runtime/mlflow_store.py).
WAL_FILES = ("mlflow.db-wal", "mlflow.db-shm")


def files_of(folder: Path) -> list[str]:
    """The names of the files in ``folder``, sorted, without SQLite's :data:`WAL_FILES`."""
    return sorted(p.name for p in folder.iterdir() if p.name not in WAL_FILES)


# One process of the race: imports done, it says it is ready, waits for the others, then
# opens the store the local runtime's way and prints the experiment id.
OPEN_AT_ONCE = textwrap.dedent(
    """
    import sys, time
    from dataclasses import replace
    from pathlib import Path
    from {{ cookiecutter.package_name }}.config import load_settings
    from {{ cookiecutter.package_name }}.runtime.tracking import configure_mlflow

    root, gate, me, count = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    settings = replace(load_settings("local"), local_root=root)
    (gate / me).touch()
    deadline = time.monotonic() + 60
    while len(list(gate.iterdir())) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    print(configure_mlflow(settings))
    """
)


def test_processes_opening_one_new_store_at_once_all_get_the_same_store(tmp_path):
    """Processes configure MLflow on one new local root at the same instant (MLflow alone:
    each migrates the new file, they fail, and it stays broken). All succeed, with the same
    experiment, and only the store is left in the folder."""
    root, gate = tmp_path / "state", tmp_path / "gate"
    gate.mkdir()
    count = 2
    children = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT_ONCE, str(root), str(gate), str(n), str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(count)
    ]
    results = [(child.wait(timeout=300), *child.communicate()) for child in children]
    assert [code for code, _, _ in results] == [0] * count, [err[-2000:] for _, _, err in results]
    assert {out.strip() for _, out, _ in results} == {"1"}
    assert files_of(root) == ["mlflow.db"]
    uri = f"sqlite:///{root / 'mlflow.db'}"
    names = [e.name for e in MlflowClient(tracking_uri=uri).search_experiments()]
    assert sorted(names) == ["Default", "flight-delays"]


class _Unused:
    """Stands in for MLflow's SQLite tracking store where no store may be built."""

    def __init__(self, *args, **kwargs):
        raise AssertionError("a store was built for a path that exists")


def test_a_store_is_made_once_and_an_existing_file_is_left_as_it_is(tmp_path, monkeypatch):
    path = tmp_path / "new" / "mlflow.db"
    assert create_store(path) is True
    made = path.read_bytes()
    uri = f"sqlite:///{path}"
    assert [e.name for e in MlflowClient(tracking_uri=uri).search_experiments()] == ["Default"]
    monkeypatch.setattr(mlflow_store, "TrackingStore", _Unused)  # no store is built again
    assert create_store(path) is False
    assert path.read_bytes() == made
    other = tmp_path / "mlflow.db"
    other.write_bytes(b"not a store")
    assert create_store(other) is False and other.read_bytes() == b"not a store"
    assert files_of(path.parent) == ["mlflow.db"]


class _Built:
    """Stands in for MLflow's SQLite tracking store in :mod:`.mlflow_store`: "builds" the
    store by writing ``content`` into the file its URI names, then raises ``error`` when
    one is given (a migration that stops half-way)."""

    content = b"a store"
    error: Exception | None = None

    def __init__(self, db_uri: str, default_artifact_root: str):
        with open(db_uri.removeprefix("sqlite:///"), "wb") as file:
            file.write(self.content)
        if self.error:
            raise self.error


def test_a_store_another_process_links_first_is_kept(tmp_path, monkeypatch):
    """The race lost: the file appears between the check and the link; the other
    process's store stays as it is, and this call's temporary file is removed."""
    monkeypatch.setattr(mlflow_store, "TrackingStore", _Built)
    path = tmp_path / "mlflow.db"
    real_link = os.link

    def other_process_first(source, target):
        path.write_bytes(b"the other process's store")
        real_link(source, target)

    monkeypatch.setattr(mlflow_store.os, "link", other_process_first)
    assert create_store(path) is False
    assert path.read_bytes() == b"the other process's store"
    assert files_of(tmp_path) == ["mlflow.db"]


def test_a_store_mlflow_stops_building_half_way_leaves_no_file(tmp_path, monkeypatch):
    class HalfWay(_Built):
        content = b"half of a store"
        error = RuntimeError("injected: migration failed")

    monkeypatch.setattr(mlflow_store, "TrackingStore", HalfWay)
    with pytest.raises(RuntimeError, match="injected"):
        create_store(tmp_path / "state" / "mlflow.db")
    assert list((tmp_path / "state").iterdir()) == []


def test_an_experiment_another_process_creates_first_is_the_one_used(tmp_path, monkeypatch):
    """The experiment was missing when this process looked and exists when it creates
    it: MLflow refuses the second one, and the first is selected."""
    settings = local_settings(tmp_path / "state")
    first = configure_mlflow(settings)
    monkeypatch.setattr(mlflow, "get_experiment_by_name", lambda name: None)
    assert configure_mlflow(settings) == first
    names = [e.name for e in mlflow.search_experiments()]
    assert sorted(names) == ["Default", settings.experiment]


def test_without_hard_links_mlflow_creates_the_store_itself(tmp_path, monkeypatch):
    """A file system that refuses hard links: the temporary store is dropped, nothing is
    left beside the store, and MLflow creates the store when it opens it, as before."""

    def refused(source, target):
        raise PermissionError(1, "Operation not permitted", str(target))

    monkeypatch.setattr(mlflow_store.os, "link", refused)
    settings = local_settings(tmp_path / "state")
    (settings.local_root / "mlflow.db").unlink()  # a new folder: no store yet
    assert create_store(settings.local_root / "mlflow.db") is False
    assert list(settings.local_root.iterdir()) == []
    assert configure_mlflow(settings) == "1"
    assert files_of(settings.local_root) == ["mlflow.db"]


def test_run_all_makes_a_new_store_while_its_first_step_runs(ctx, monkeypatch):
    """run_pipeline starts building a new local store before its first step: the step sees
    the store file appear (it waits up to 60 s for it, and scores no row), MLflow then
    opens that store, and no temporary store file is left."""
    store = ctx.settings.local_root / "mlflow.db"
    store.unlink()  # the fixture's root comes with a store (conftest.seeded): a new root has none
    seen = []

    def first_step(step, context, **kwargs):
        deadline = time.monotonic() + 60
        while not store.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        seen.append((step, store.exists()))
        return {}

    monkeypatch.setattr(entry, "run_step", first_step)
    run_pipeline(ctx, steps=("ingest",))
    assert seen == [("ingest", True)]
    assert configure_mlflow(ctx.settings) == "1"
    assert MlflowClient(tracking_uri=f"sqlite:///{store}").get_experiment("1").name == (
        ctx.settings.experiment
    )
    assert list(store.parent.glob(".mlflow.db.*")) == []


def test_a_store_the_early_thread_fails_to_make_is_made_or_refused_by_configure_mlflow(
    tmp_path, monkeypatch
):
    """``create_store_ahead``'s thread meets a real error (a file stands where the state
    folder's parent should be): the thread neither raises nor reports it, and leaves
    nothing. ``configure_mlflow`` then tries itself and raises its own attempt's error;
    once the folder can be made, a new early thread fails the same way, and
    ``configure_mlflow`` creates the store itself."""
    reported = []
    monkeypatch.setattr(threading, "excepthook", reported.append)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    settings = replace(load_settings("local"), local_root=blocker / "state")

    create_store_ahead(settings).join()
    assert reported == [] and blocker.read_text() == "a file, not a folder"
    with pytest.raises(NotADirectoryError, match="blocker/state"):
        configure_mlflow(settings)

    create_store_ahead(settings).join()
    blocker.unlink()
    assert configure_mlflow(settings) == "1"
    assert reported == []
    assert files_of(settings.local_root) == ["mlflow.db"]


def test_every_local_store_use_names_the_one_file_of_the_root(tmp_path):
    """The early thread, the tracking URI and configure_mlflow all use ``local_store`` of
    the root: ``<local_root>/mlflow.db``, as README and ``mlflow ui`` expect."""
    settings = replace(load_settings("local"), local_root=tmp_path / "state")
    store = local_store(settings.local_root)
    assert store == tmp_path / "state" / "mlflow.db"
    assert tracking_uri(settings) == f"sqlite:///{store}"
    create_store_ahead(settings).join()
    assert store.is_file()  # the thread made it there
    configure_mlflow(settings)
    assert mlflow.get_tracking_uri() == mlflow.get_registry_uri() == f"sqlite:///{store}"
    assert files_of(settings.local_root) == ["mlflow.db"]
    assert MlflowClient(tracking_uri=f"sqlite:///{store}").get_experiment("1").name == (
        settings.experiment
    )


def journal_mode(path: Path) -> str:
    """The journal mode SQLite reports for the database file ``path`` (a new connection)."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        connection.close()


def test_a_new_store_keeps_the_write_ahead_log_for_every_connection(tmp_path):
    """The store is made in WAL mode, which every later connection sees; MLflow's writes
    then go through ``mlflow.db-wal`` and read back whole from a new client."""
    path = tmp_path / "mlflow.db"
    assert create_store(path) is True
    assert journal_mode(path) == "wal"
    uri = f"sqlite:///{path}"
    writer = MlflowClient(tracking_uri=uri)
    run = writer.create_run(writer.create_experiment("wal")).info.run_id
    writer.log_metric(run, "rmse", 12.5)
    assert (tmp_path / "mlflow.db-wal").is_file()  # a connection of the writer is open
    assert MlflowClient(tracking_uri=uri).get_run(run).data.metrics == {"rmse": 12.5}
    assert files_of(tmp_path) == ["mlflow.db"]


def test_a_store_where_sqlite_refuses_wal_is_made_in_its_default_journal(tmp_path, monkeypatch):
    """SQLite answers a journal mode it cannot use with the mode it keeps (as on a file
    system without shared memory): the store is made all the same, in that mode."""
    monkeypatch.setattr(mlflow_store, "JOURNAL_MODE", "bogus")  # no such mode
    path = tmp_path / "mlflow.db"
    assert create_store(path) is True
    assert journal_mode(path) == "delete"
    uri = f"sqlite:///{path}"
    assert [e.name for e in MlflowClient(tracking_uri=uri).search_experiments()] == ["Default"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlflow.db"]
