"""The tests' local MLflow stores, for both use cases: a migrated empty store made once per
test process and copied into each test's root, and a client on a context's store."""

from __future__ import annotations

import atexit
import functools
import shutil
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.runtime.context import Context
from {{ cookiecutter.package_name }}.runtime.mlflow_store import create_store
from {{ cookiecutter.package_name }}.runtime.tracking import local_store, tracking_uri

# SQLite's own files beside a WAL store that a connection has open (runtime/mlflow_store.py).
WAL_FILES = ("mlflow.db-wal", "mlflow.db-shm")


def files_of(folder: Path) -> list[str]:
    """The names of the files in ``folder``, sorted, without SQLite's :data:`WAL_FILES`."""
    return sorted(p.name for p in folder.iterdir() if p.name not in WAL_FILES)


@functools.cache
def empty_store() -> Path:
    """An MLflow SQLite store with MLflow's schema migrations applied and nothing in it.

    Made once per test process (:func:`.mlflow_store.create_store`, as the pipeline makes
    its own): opening a new store runs every migration, which costs seconds; a copy of this
    file is the same empty store at the same schema version. Removed when the process ends.
    """
    folder = Path(tempfile.mkdtemp(prefix="empty-mlflow-store-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    store = folder / "mlflow.db"
    create_store(store)
    return store


def moved(store: Path, old: Path, new: Path) -> None:
    """Rewrite the SQLite MLflow store ``store``, copied from folder ``old`` to folder
    ``new`` (relative ones taken from the working directory), so that every location it
    records under ``old`` (artifact locations of experiments, runs, logged models and
    model versions, as paths or ``file://`` URIs) names the same place under ``new``:
    every text value holding ``<old>/`` or ``<old's file URI>/`` gets ``new``'s instead."""
    old, new = Path(old).absolute(), Path(new).absolute()
    pairs = [(f"{old.as_uri()}/", f"{new.as_uri()}/"), (f"{old}/", f"{new}/")]
    with closing(sqlite3.connect(store)) as connection, connection:
        tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        for (table,) in tables.fetchall():
            for column in connection.execute(f"PRAGMA table_info('{table}')").fetchall():
                if not column[2].upper().startswith(("VARCHAR", "TEXT")):
                    continue
                name = column[1]
                for before, after in pairs:
                    connection.execute(
                        f'UPDATE "{table}" SET "{name}" = replace("{name}", ?, ?) '
                        f'WHERE instr("{name}", ?) > 0',
                        (before, after, before),
                    )


def seeded(root) -> Path:
    """``root`` (created when missing) holding an empty MLflow store where the local
    runtime looks for it (``<root>/mlflow.db``, see runtime/tracking.py), unless it
    already has one, which is kept as it is. The copy's Default experiment keeps its
    artifacts under ``root``, as a store the runtime makes there would (:func:`moved`).
    Returns ``root`` as a Path."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    store = local_store(root)
    if not store.exists():
        shutil.copyfile(empty_store(), store)
        moved(store, empty_store().parent, root)
    return root


def registry(ctx: Context) -> MlflowClient:
    """An MlflowClient on the local store of ``ctx`` (independent of the process-wide URI)."""
    uri = tracking_uri(ctx.settings)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)
