"""The local MLflow store file (``<local_root>/mlflow.db``), created whole or not at all.

MLflow creates a SQLite store's tables and runs its schema migrations in the first process
that opens a file without them. Two processes doing that on one new file at once (two
steps, a step and the tests, parallel test runs) both migrate it: at least one fails, and
the file stays half-migrated, so every later process fails on it too. The local runtime therefore
never lets MLflow open a missing store: :func:`create_store` builds the store in a file of
its own in the same folder and hard-links it into place. Linking fails when the name
exists, so the first process to finish wins and the others open its complete store.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from mlflow import MlflowClient


def create_store(path: Path) -> bool:
    """Create the MLflow SQLite store ``path`` (every table, every schema migration) when
    no file has that name; other processes never see it half-made.

    ``path``: the store file, e.g. ``<local_root>/mlflow.db``; its folder is created when
    missing. Returns True when this call created the store, False when the file existed
    already or another process created it meanwhile (then nothing here touched it).
    The store is built in a temporary file beside ``path`` (``.mlflow.db.*.tmp``), removed
    whatever happens. Raises OSError when the folder cannot be written or the file system
    has no hard links, and MLflow's own error when it cannot build the store; ``path`` is
    not created then.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        # An empty file is a SQLite database without tables: MLflow builds the store in it.
        uri = f"sqlite:///{temporary}"
        MlflowClient(tracking_uri=uri, registry_uri=uri).search_experiments(max_results=1)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        return True
    finally:
        temporary.unlink(missing_ok=True)
