"""The local MLflow store file (``<local_root>/mlflow.db``), created whole or not at all.

MLflow creates a SQLite store's tables and runs its schema migrations in the first process
that opens a file without them. Two processes doing that on one new file at once (two
steps, a step and the tests, parallel test runs) both migrate it: at least one fails, and
the file stays half-migrated, so every later process fails on it too. The local runtime
therefore never lets MLflow open a missing store: :func:`create_store` builds the store in
a file of its own in the same folder and hard-links it into place. Linking fails when the
name exists, so the first process to finish wins and the others open its complete store.
On a file system without hard links (FAT, say) the file is renamed into place instead,
while the process holds a lock on the folder (``flock``) and only while the name is free:
a rename would replace a store another process has put there.

The store is made in SQLite's write-ahead-log journal mode (WAL), which the file keeps for
every later connection: a commit then appends to ``mlflow.db-wal`` instead of rewriting a
rollback journal (a bare commit measured 16 against 1 ms on a local disk). MLflow commits
once per logged span, assessment, metric batch and tag, which is much of an evaluation's
time with tracing. Keep ``local_root`` on a local disk: WAL does not work over a network
file system.
While a process has the store open, SQLite keeps ``mlflow.db-wal`` and ``mlflow.db-shm``
beside it; copy the store with ``sqlite3 mlflow.db ".backup copy.db"``, not a file copy,
while anything may have it open.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from pathlib import Path

from mlflow.store.model_registry.sqlalchemy_store import SqlAlchemyStore as RegistryStore
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore as TrackingStore

try:
    import fcntl
except ImportError:  # Windows: no lock; its rename refuses a name that exists
    fcntl = None


def _close_engines(uri: str) -> None:
    """Close the database engines MLflow keeps for ``uri`` for the rest of the process
    (one per store class, in its ``_engine_map``), so no connection stays open on the
    temporary file. Does nothing when a MLflow version keeps them elsewhere."""
    for store in (TrackingStore, RegistryStore):
        engines = getattr(store, "_engine_map", None)
        engine = engines.pop(uri, None) if isinstance(engines, dict) else None
        if engine is not None:
            engine.dispose()


# One store built at a time in a process. MLflow builds a store by running its schema
# migrations with alembic, whose migration context is one per process (module state):
# two built at once by two threads (the early thread of one local root and a test's or
# step's of another) run each other's statements on each other's connections, which
# raises "Cannot operate on a closed database" or crashes the process in SQLite.
_BUILDING = threading.Lock()


# SQLite's journal mode of a new store (see the module's docstring).
JOURNAL_MODE = "wal"


def _use_wal(database: Path) -> None:
    """Switch the SQLite file ``database`` to :data:`JOURNAL_MODE`, which it keeps for every
    later connection. Where SQLite refuses WAL (a file system without shared memory, say),
    answering with the mode it keeps or with an error, the file stays in its old mode and
    nothing is raised: the store works, only slower (``PRAGMA journal_mode`` on the store
    tells its mode)."""
    with closing(sqlite3.connect(database)) as connection, suppress(sqlite3.Error):
        connection.execute(f"PRAGMA journal_mode={JOURNAL_MODE}").fetchone()


# What os.link raises on a file system without hard links (FAT refuses with EPERM, others
# say the operation is not supported); any other error (a full disk, say) is raised.
NO_HARD_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS})


@contextmanager
def _folder_locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the folder ``folder`` for the block: the block of any
    other process or thread on the same folder waits until this one ends. Without
    ``fcntl`` (Windows) nothing is held: there a rename refuses a name that exists itself.
    Raises OSError "cannot lock <folder> to put the MLflow store in place: <reason> (keep
    local_root on a local disk)" when the folder cannot be opened or locked."""
    if fcntl is None:
        yield
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError as err:
        raise _lock_error(folder, err) from err
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        except OSError as err:
            raise _lock_error(folder, err) from err
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _lock_error(folder: Path, err: OSError) -> OSError:
    """The one-line error of :func:`_folder_locked` for ``err``, raised locking ``folder``."""
    return OSError(
        err.errno,
        f"cannot lock {folder} to put the MLflow store in place: "
        f"{err.strerror or err} (keep local_root on a local disk)",
    )


def _no_hard_links(err: OSError) -> bool:
    """Whether ``err``, raised by ``os.link``, says the file system has no hard links
    (:data:`NO_HARD_LINKS`, or Windows' "incorrect function" on FAT)."""
    return err.errno in NO_HARD_LINKS or getattr(err, "winerror", None) == 1


def _put_in_place(temporary: Path, path: Path) -> bool:
    """Give the finished store file ``temporary`` the name ``path`` unless a file has it;
    True when it did. A hard link (refused when the name exists); where the file system
    has no hard links (:func:`_no_hard_links`), a rename with the folder locked
    (:func:`_folder_locked`), only while the name is free. Raises OSError when the link
    fails otherwise or the folder cannot be locked."""
    try:
        os.link(temporary, path)
        return True
    except FileExistsError:  # another process won
        return False
    except OSError as err:
        if not _no_hard_links(err):
            raise
    with _folder_locked(path.parent):
        if path.exists():
            return False
        try:
            os.rename(temporary, path)
        except FileExistsError:  # Windows refuses a name that exists (no lock held there)
            return False
        return True


# The folder beside the store file that holds the artifacts of its experiments.
ARTIFACTS = "mlartifacts"


def artifact_root(path: Path) -> Path:
    """The artifact folder of the local store file ``path``: ``mlartifacts`` beside it
    (absolute: a relative ``path`` is taken from the working directory)."""
    return path.absolute().parent / ARTIFACTS


def create_store(path: Path) -> bool:
    """Create the MLflow SQLite store ``path`` (every table, every schema migration) when
    no file has that name; other processes never see it half-made.

    MLflow's ``Default`` experiment (id 0), which every store has, keeps its artifacts in
    ``<artifact_root(path)>/0``, inside the folder of the project's experiment
    (:func:`.tracking.configure_mlflow`), whose runs have folders named by their 32-digit
    ids. (MLflow's own default is a ``mlruns`` folder of whichever directory the process
    making the store ran in.)

    ``path``: the store file, e.g. ``<local_root>/mlflow.db``; its folder is created when
    missing. Returns True when this call created the store, False when the file existed
    already or another process created it meanwhile (then nothing here touched it). The
    store is built in a temporary file beside ``path`` (``.mlflow.db.*.tmp``), removed
    whatever happens unless the process is killed meanwhile, and put in place whole
    (:func:`_put_in_place`: a hard link, or on a file system without them a rename under a
    lock of the folder); threads of one process build their stores one at a time
    (:data:`_BUILDING`).
    The store is in WAL journal mode (:data:`JOURNAL_MODE`) from its creation on, where
    SQLite allows it. Raises OSError when the folder cannot be written or locked, and
    MLflow's own error when it cannot build the store; ``path`` is not created then.
    """
    if path.exists():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    # An empty file is a SQLite database without tables: MLflow builds the store in it.
    uri = f"sqlite:///{temporary}"
    try:
        with _BUILDING:
            TrackingStore(uri, artifact_root(path).as_uri())  # tables, migrations, Default
        _close_engines(uri)  # no MLflow connection stays open while the journal mode changes
        _use_wal(temporary)
        return _put_in_place(temporary, path)
    finally:
        _close_engines(uri)
        temporary.unlink(missing_ok=True)
