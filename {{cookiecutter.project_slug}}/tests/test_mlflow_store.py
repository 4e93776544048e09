"""The local MLflow store is created whole: processes opening a new one at once all get it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import replace

import mlflow
import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }} import entry
from {{ cookiecutter.package_name }}.cli import run_pipeline
from {{ cookiecutter.package_name }}.config import load_settings
from {{ cookiecutter.package_name }}.runtime.tracking import (
    configure_mlflow,
    create_store_ahead,
    local_store,
    tracking_uri,
)

from .conftest import local_settings, settings_file
from .mlflow_stores import files_of

# One process of the race: imports done and the test's settings read (a file of
# conftest.settings_file), it says it is ready, waits for the others, then opens the store
# the local runtime's way and prints the experiment id. With "no-links" last, it acts as
# on a file system without hard links (os.link refused, as FAT refuses it).
OPEN_AT_ONCE = textwrap.dedent(
    """
    import os, pickle, sys, time
    from pathlib import Path
    from {{ cookiecutter.package_name }}.runtime.tracking import configure_mlflow

    stored, gate, me, count = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    if sys.argv[5] == "no-links":
        def refused(source, target):
            raise PermissionError(1, "Operation not permitted", str(target))
        os.link = refused
    settings = pickle.loads(stored.read_bytes())
    (gate / me).touch()
    deadline = time.monotonic() + 60
    while len(list(gate.iterdir())) < count and time.monotonic() < deadline:
        time.sleep(0.005)
    print(configure_mlflow(settings))
    """
)


@pytest.mark.parametrize("links", ["links", "no-links"])
def test_processes_opening_one_new_store_at_once_all_get_the_same_store(tmp_path, links):
    """Processes configure MLflow on one new local root at the same instant (MLflow alone:
    each migrates the new file, they fail, and it stays broken). All succeed, with the same
    experiment, and only the store is left in the folder; also on a file system without
    hard links, where the store is renamed into place instead."""
    root, gate = tmp_path / "state", tmp_path / "gate"
    gate.mkdir()
    stored = settings_file(replace(load_settings("local"), local_root=root), tmp_path / "settings")
    count = 2
    children = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_AT_ONCE, str(stored), str(gate), str(n), str(count), links],
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


def test_an_experiment_another_process_creates_first_is_the_one_used(tmp_path, monkeypatch):
    """The experiment was missing when this process looked and exists when it creates
    it: MLflow refuses the second one, and the first is selected."""
    settings = local_settings(tmp_path / "state")
    first = configure_mlflow(settings)
    monkeypatch.setattr(mlflow, "get_experiment_by_name", lambda name: None)
    assert configure_mlflow(settings) == first
    names = [e.name for e in mlflow.search_experiments()]
    assert sorted(names) == ["Default", settings.experiment]


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
