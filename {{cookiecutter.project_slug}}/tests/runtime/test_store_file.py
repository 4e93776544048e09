"""The local MLflow store file (runtime/mlflow_store.py), for both use cases: made once, in
full or not at all, in SQLite's write-ahead-log mode where SQLite allows it, also on a file
system without hard links."""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.runtime import mlflow_store
from {{ cookiecutter.package_name }}.runtime.mlflow_store import create_store

from ..mlflow_stores import files_of


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


def refused(source, target):
    """``os.link`` on a file system without hard links (FAT refuses with EPERM)."""
    raise PermissionError(1, "Operation not permitted", str(target))


@pytest.mark.parametrize("link", [os.link, refused], ids=["hard-links", "no-hard-links"])
def test_a_store_another_process_puts_in_place_first_is_kept(tmp_path, monkeypatch, link):
    """The race lost: the file appears between the check and the link (without hard
    links: before the rename, which this process makes with the folder locked); the
    other process's store stays as it is, and this call's temporary file is removed."""
    monkeypatch.setattr(mlflow_store, "TrackingStore", _Built)
    path = tmp_path / "mlflow.db"

    def other_process_first(source, target):
        path.write_bytes(b"the other process's store")
        link(source, target)

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


def test_without_hard_links_the_store_is_renamed_into_place_whole(tmp_path, monkeypatch):
    """A file system that refuses hard links: the store is built beside the path as with
    them and renamed into place, whole, in WAL mode, its Default experiment's artifacts in
    ``mlartifacts``, nothing else left; a second call leaves it as it is."""
    monkeypatch.setattr(mlflow_store.os, "link", refused)
    path = tmp_path / "state" / "mlflow.db"
    assert create_store(path) is True
    assert journal_mode(path) == "wal"
    (default,) = MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    artifacts = (path.parent / "mlartifacts" / "0").as_uri()
    assert (default.name, default.artifact_location) == ("Default", artifacts)
    made = path.read_bytes()
    assert create_store(path) is False and path.read_bytes() == made
    assert files_of(path.parent) == ["mlflow.db"]


@pytest.mark.parametrize("meanwhile", [False, True], ids=["no-store-meanwhile", "store-meanwhile"])
def test_without_hard_links_the_store_waits_for_the_folders_lock_and_looks_again_under_it(
    tmp_path, monkeypatch, meanwhile
):
    """Another process putting its store in place holds the folder's ``flock``: this one
    asks for the lock and puts nothing in place until it is released. Then it puts its
    store in place, or, when the other process put one there meanwhile, keeps that one and
    says it made none (the name is checked under the lock, not before it)."""
    fcntl = pytest.importorskip("fcntl")
    monkeypatch.setattr(mlflow_store, "TrackingStore", _Built)
    monkeypatch.setattr(mlflow_store.os, "link", refused)
    real_flock, asked = fcntl.flock, threading.Event()

    def flock(descriptor, operation):
        asked.set()
        return real_flock(descriptor, operation)

    monkeypatch.setattr(fcntl, "flock", flock)
    path = tmp_path / "mlflow.db"
    made = []
    thread = threading.Thread(target=lambda: made.append(create_store(path)))
    # A lock on another open of the folder excludes this process's own, as another's does.
    descriptor = os.open(tmp_path, os.O_RDONLY)
    try:
        real_flock(descriptor, fcntl.LOCK_EX)
        thread.start()
        assert asked.wait(60), "the store was put in place without asking for the lock"
        while_locked = (list(made), path.exists())
        if meanwhile:
            path.write_bytes(b"the other process's store")
    finally:
        os.close(descriptor)  # releases the lock
    thread.join(60)
    assert while_locked == ([], False)
    if meanwhile:
        assert made == [False] and path.read_bytes() == b"the other process's store"
    else:
        assert made == [True] and path.read_bytes() == _Built.content
    assert files_of(tmp_path) == ["mlflow.db"]


def test_without_fcntl_a_rename_refused_for_a_name_that_exists_keeps_the_other_store(
    tmp_path, monkeypatch
):
    """Windows has no ``fcntl``, so no lock is held: there ``os.rename`` refuses a name that
    exists (FileExistsError), and the store another process put there between the check
    and the rename is kept; this call says it made none and leaves no file of its own."""
    monkeypatch.setattr(mlflow_store, "fcntl", None)  # as the import left it on Windows
    monkeypatch.setattr(mlflow_store, "TrackingStore", _Built)
    monkeypatch.setattr(mlflow_store.os, "link", refused)
    path = tmp_path / "mlflow.db"

    def other_process_first(source, target):
        path.write_bytes(b"the other process's store")
        raise FileExistsError(17, "Cannot create a file when that file already exists", target)

    monkeypatch.setattr(mlflow_store.os, "rename", other_process_first)
    assert create_store(path) is False
    assert path.read_bytes() == b"the other process's store"
    assert files_of(tmp_path) == ["mlflow.db"]


def test_a_link_failing_for_another_reason_than_no_hard_links_is_raised(tmp_path, monkeypatch):
    """A full disk is not a file system without hard links: the error is raised, no rename
    is tried, and nothing is left in the folder."""
    monkeypatch.setattr(mlflow_store, "TrackingStore", _Built)

    def full(source, target):
        raise OSError(errno.ENOSPC, "No space left on device", str(target))

    def no_rename(source, target):
        raise AssertionError("renamed after a link failed on a full disk")

    monkeypatch.setattr(mlflow_store.os, "link", full)
    monkeypatch.setattr(mlflow_store.os, "rename", no_rename)
    with pytest.raises(OSError, match="No space left on device"):
        create_store(tmp_path / "mlflow.db")
    assert files_of(tmp_path) == []


def test_a_folder_that_cannot_be_locked_is_one_line_naming_it(tmp_path, monkeypatch):
    """Without hard links, a folder whose lock is refused (a network file system, say):
    one line naming the folder, the reason and the rule; no store is put in place."""
    fcntl = pytest.importorskip("fcntl")
    monkeypatch.setattr(mlflow_store, "TrackingStore", _Built)
    monkeypatch.setattr(mlflow_store.os, "link", refused)

    def lock_refused(descriptor, operation):
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(fcntl, "flock", lock_refused)
    with pytest.raises(OSError) as error:
        create_store(tmp_path / "mlflow.db")
    assert str(error.value) == (
        f"[Errno {errno.EBADF}] cannot lock {tmp_path} to put the MLflow store in place: "
        "Bad file descriptor (keep local_root on a local disk)"
    )
    assert files_of(tmp_path) == []


def test_threads_of_one_process_build_their_stores_one_at_a_time(tmp_path, monkeypatch):
    """MLflow's schema migrations (alembic) keep one migration context per process, so two
    threads building stores at once crossed statements and connections ("Cannot operate
    on a closed database", or a crash in SQLite). Builds of different stores wait for each
    other; each store comes out whole."""
    active, most = [], []

    class Watched(mlflow_store.TrackingStore):
        """MLflow's tracking store, counting the builds under way while one runs."""

        def __init__(self, *args, **kwargs):
            active.append(self)
            most.append(len(active))
            time.sleep(0.2)  # a build in progress that another thread could overlap
            try:
                super().__init__(*args, **kwargs)
            finally:
                active.remove(self)

    monkeypatch.setattr(mlflow_store, "TrackingStore", Watched)
    paths = [tmp_path / name / "mlflow.db" for name in ("a", "b", "c")]
    made, errors = [], []

    def build(path):
        try:
            made.append(create_store(path))
        except Exception as error:  # a crossed migration: the test's failure
            errors.append(error)

    threads = [threading.Thread(target=build, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert (errors, made, most) == ([], [True] * 3, [1] * 3)
    for path in paths:
        client = MlflowClient(tracking_uri=f"sqlite:///{path}")
        assert [e.name for e in client.search_experiments()] == ["Default"]
        assert files_of(path.parent) == ["mlflow.db"]
