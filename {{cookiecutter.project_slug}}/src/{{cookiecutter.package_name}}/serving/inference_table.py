"""The inference table: one row per request to the online model, like Databricks inference tables.

The table and its writer serve any pyfunc model (the tabular regressor, the rag QA
pipeline). Columns (named as in Databricks' AI Gateway inference tables where they exist):
databricks_request_id (string, a UUID), client_request_id (string, from the
request's ``client_request_id`` field, else null), request_date (date, UTC),
request_time (timestamp, UTC), status_code (int), execution_duration_ms (long),
request and response (the JSON bodies as strings), served_model_name and
served_model_version (strings: what answered).

Locally :class:`InferenceLog` buffers rows and appends them to the Delta table
``tables.inference_table`` in batches (``serving.log_flush_rows`` rows or
``serving.log_flush_seconds`` seconds, whichever comes first), one commit per
batch, never one per request. When the log closes, the rows still queued are first
kept in a JSON-lines file (:func:`unwritten_folder`), then appended: if that write
fails or is cut short, the next log for the table appends them (see :class:`InferenceLog`).
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
import uuid
from contextlib import suppress
from datetime import UTC, date, datetime
from pathlib import Path

from pyspark.sql import types as T

try:
    import fcntl
except ImportError:  # Windows: no file locks; a serve starting may take a live log's file
    fcntl = None

from ..runtime.context import Context
from ..runtime.errors import error_line
from .settings import positive

SCHEMA = T.StructType(
    [
        T.StructField("databricks_request_id", T.StringType()),
        T.StructField("client_request_id", T.StringType()),
        T.StructField("request_date", T.DateType()),
        T.StructField("request_time", T.TimestampType()),
        T.StructField("status_code", T.IntegerType()),
        T.StructField("execution_duration_ms", T.LongType()),
        T.StructField("request", T.StringType()),
        T.StructField("response", T.StringType()),
        T.StructField("served_model_name", T.StringType()),
        T.StructField("served_model_version", T.StringType()),
    ]
)


def log_row(
    request: bytes,
    response: bytes,
    status_code: int,
    started: datetime,
    duration_ms: int,
    model_name: str,
    model_version: str,
) -> dict:
    """One inference-table row (see the module docstring) for a request answered at ``started``."""
    text = request.decode("utf-8", errors="replace")
    try:
        client_id = json.loads(text).get("client_request_id")
    except (ValueError, AttributeError):
        client_id = None
    # Aware, so Spark stores this instant; a naive datetime would be read as the local
    # time of the Python process (wrong wherever that is not UTC).
    stamp = started.astimezone(UTC)
    return {
        "databricks_request_id": str(uuid.uuid4()),
        "client_request_id": None if client_id is None else str(client_id),
        "request_date": stamp.date(),
        "request_time": stamp,
        "status_code": int(status_code),
        "execution_duration_ms": int(duration_ms),
        "request": text,
        "response": response.decode("utf-8", errors="replace"),
        "served_model_name": model_name,
        "served_model_version": str(model_version),
    }


def unwritten_folder(settings) -> Path:
    """Folder of the files holding the rows an inference log wrote ahead as it closed,
    left there when its last write failed (see :class:`InferenceLog`):
    ``<local_root>/serving/unwritten``; with no local root (the Databricks runtime),
    ``local_runtime/serving/unwritten`` under the current directory (git-ignored)."""
    return Path(settings.local_root or "local_runtime").joinpath("serving", "unwritten")


def _unheld(path: Path) -> bool:
    """Whether no live log holds a lock on the kept file ``path`` (always True without
    file locks, on Windows); False when it is gone (its rows were appended meanwhile)."""
    if fcntl is None:
        return True
    try:
        with path.open("rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except (BlockingIOError, FileNotFoundError):
        return False
    return True


def _to_json(row: dict) -> str:
    return json.dumps(
        {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()}, sort_keys=True
    )


# The JSON values a kept row may hold in a column of these types (null aside), and their
# name for an error; the date and timestamp columns are read from ISO text.
_JSON_TYPES = {T.StringType: (str, "text"), T.IntegerType: (int, "an integer")}
_JSON_TYPES[T.LongType] = _JSON_TYPES[T.IntegerType]


def _check_types(row: dict) -> None:
    """Raise TypeError naming the first column of :data:`SCHEMA` whose value in ``row`` (a
    kept line, parsed) is neither null nor of the column's type (:data:`_JSON_TYPES`)."""
    for field in SCHEMA.fields:
        expected, value = _JSON_TYPES.get(type(field.dataType)), row.get(field.name)
        if expected is None or value is None:
            continue
        python, kind = expected
        if isinstance(value, bool) or not isinstance(value, python):
            raise TypeError(f"{field.name}: {value!r} is not {kind}")


def read_unwritten(path: Path) -> list[dict]:
    """The inference-table rows of a file the log kept (see :class:`InferenceLog`).

    Raises ValueError naming the file, the line and the rule when a line is not such a
    row (a file edited by hand, say): no request id, a date or time that is not ISO text,
    a value of another type than its column's (which would fail every write of the log
    that queued it): move the file away to start without it.
    """
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            row = json.loads(line)
            if not isinstance(row.get("databricks_request_id"), str):  # the merge key
                raise KeyError("databricks_request_id")
            _check_types(row)
            row["request_date"] = date.fromisoformat(row["request_date"])
            row["request_time"] = datetime.fromisoformat(row["request_time"])
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            raise ValueError(
                f"{path}:{number}: not an inference-table row ({err}); move the file away "
                "to start without its requests"
            ) from None
        rows.append(row)
    return rows


class InferenceLog:
    """Buffers inference-table rows and appends them to the table in batches.

    :meth:`add` is cheap and thread-safe. A background thread writes the buffer
    when it holds ``serving.log_flush_rows`` rows or every ``serving.log_flush_seconds``
    seconds; :meth:`close` writes what is left. A failed write keeps its rows in the
    buffer for the next attempt, which merges them on ``databricks_request_id``: the
    failed write may have committed before its error (a lost reply, Ctrl-C after the
    commit), and its rows are then not added twice. ``written`` counts the rows appended
    so far (recovered ones included), ``commits`` the appends. Raises ConfigError for a
    non-positive setting.

    Rows are not lost when the last write fails: :meth:`close` first writes the queued
    rows, with those of a batch write still under way, to a new file
    ``<table>-<UTC stamp>-<id>.jsonl`` in :func:`unwritten_folder` (before it waits for
    that write and before its own, so a second Ctrl-C or a kill meanwhile loses nothing),
    then appends the queued rows and deletes the file; when the write fails, ``kept``
    names the file and the error is raised. The log holds a lock on its file until
    :meth:`close` returns (the system drops it when the process ends, killed or not), and
    :meth:`recover` leaves locked files alone: a serve starting while another stops does
    not take the file whose rows the other is appending. :meth:`recover` queues the rows
    of the other files of the table first (``recovered`` counts them). The write that
    holds recovered rows is a MERGE on ``databricks_request_id``
    (:meth:`.Tables.insert_new`), so a file two logs recover, or one a crash left after
    its rows were appended, adds no row twice.
    """

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.table = ctx.settings.table("inference_table")
        self.flush_rows = int(positive(ctx.settings, "log_flush_rows"))
        self.flush_seconds = float(positive(ctx.settings, "log_flush_seconds"))
        self.commits = 0
        self.written = 0
        self.recovered = 0
        self.kept: Path | None = None
        self._folder = unwritten_folder(ctx.settings)
        self._rows: list[dict] = []
        self._writing: list[dict] = []  # rows a write under way took from the queue
        self._files: list[Path] = []  # kept files whose rows are queued
        self._held = None  # the open, locked handle of the file _keep wrote
        self._merge_next = False  # queued rows may be in the table: recovered, or failed
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="inference-log", daemon=True)
        self._thread.start()

    @property
    def queued(self) -> int:
        """Rows not written yet: waiting for the next write, or in a write under way."""
        with self._lock:
            return len(self._rows) + len(self._writing)

    def add(self, row: dict) -> None:
        """Queue one row (from :func:`log_row`)."""
        with self._lock:
            self._rows.append(row)
            full = len(self._rows) >= self.flush_rows
        if full:
            self._wake.set()

    def kept_files(self) -> list[Path]:
        """The files of :func:`unwritten_folder` that hold rows kept for this log's table."""
        name = re.compile(re.escape(self.table) + r"-\d{8}T\d{6}-[0-9a-f]{8}\.jsonl")
        if not self._folder.is_dir():
            return []
        return sorted(p for p in self._folder.iterdir() if name.fullmatch(p.name))

    def recover(self) -> int:
        """Queue the rows of :meth:`kept_files` before the others; return how many.

        Rows are read once per request id. The files are deleted once a write has
        appended their rows. A file another live log holds (see the class) is left alone.
        Raises ValueError naming the file and line when a file does not hold such rows
        (:func:`read_unwritten`); nothing is queued then.
        """
        files = [p for p in self.kept_files() if p not in self._files and _unheld(p)]
        by_id = {row["databricks_request_id"]: row for p in files for row in read_unwritten(p)}
        with self._lock:
            self._rows[:0] = list(by_id.values())
            self._files += files
            self._merge_next = self._merge_next or bool(by_id)
        self.recovered += len(by_id)
        return len(by_id)

    def flush(self) -> int:
        """Append the queued rows in one commit; return how many were appended.

        Rows recovered from kept files are merged on ``databricks_request_id`` (a row
        already in the table is not added again), and those files are then deleted.
        On any error, Ctrl-C included, the rows stay queued, to be merged by the next
        write (this one may have committed before the error), and the error is raised.
        """
        with self._lock:
            rows, self._rows = self._rows, []
            self._writing = rows
            files, self._files = self._files, []
            merge, self._merge_next = self._merge_next, False
        try:
            appended = self._write(rows, merge=merge) if rows else 0
        except BaseException:
            with self._lock:
                self._writing = []
                self._rows[:0] = rows
                self._files[:0] = files
                self._merge_next = True  # the write may have committed its rows
            raise
        with self._lock:
            self._writing = []
        if rows:
            self.commits += 1
            self.written += appended
        self._delete(files)
        return appended

    def _write(self, rows: list[dict], merge: bool) -> int:
        frame = self.ctx.spark.createDataFrame(rows, SCHEMA)
        if merge:
            return self.ctx.tables.insert_new(frame, self.table, ["databricks_request_id"])
        writer = frame.write.format("delta").mode("append")
        if self.ctx.settings.runtime == "local":
            writer.save(str(self.ctx.tables.path(self.table)))
        else:
            writer.saveAsTable(self.table)
        return len(rows)

    def _delete(self, files: list[Path]) -> None:
        """Delete kept files whose rows are in the table (a failure is one line on stderr:
        a later write merges their rows, so none is added twice)."""
        for path in files:
            try:
                path.unlink(missing_ok=True)
            except OSError as err:
                print(
                    f"inference table {self.table}: {path} not deleted ({err}); its rows "
                    "are in the table, and a later log adds none of them again",
                    file=sys.stderr,
                    flush=True,
                )
            if path == self.kept:
                self.kept = None

    def _keep(self) -> None:
        """Write every queued row, and those of a write under way, to a new kept file
        (written to ``.part``, synced, then renamed), which replaces the queued kept files
        they came from. The rows stay queued. Raises OSError (a full disk, say); nothing
        changes then."""
        with self._lock:
            rows, files = self._writing + self._rows, list(self._files)
        if not rows:
            return
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self._folder / f"{self.table}-{stamp}-{uuid.uuid4().hex[:8]}.jsonl"
        part = path.with_suffix(".part")
        handle = None
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            handle = part.open("w", encoding="utf-8")
            if fcntl is not None:  # locked before it has its name: no log can take it
                fcntl.flock(handle, fcntl.LOCK_EX)
            handle.writelines(_to_json(row) + "\n" for row in rows)
            handle.flush()
            os.fsync(handle.fileno())
            os.replace(part, path)
        except OSError:
            if handle is not None:
                handle.close()
            part.unlink(missing_ok=True)
            raise
        with self._lock:
            self._files = [path]
        self._release()
        self._held, self.kept = handle, path
        self._delete(files)  # their rows are in the new file

    def _release(self) -> None:
        """Close (and so unlock) the file handle :meth:`_keep` holds, if any."""
        if self._held is not None:
            self._held.close()
            self._held = None

    def _loop(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            if self._closed.is_set():  # close() keeps the rows in a file, then writes them
                return
            try:
                self.flush()
            except Exception as err:  # keep serving; the rows stay queued
                print(
                    f"inference table {self.table}: write failed, will retry: {error_line(err)}",
                    file=sys.stderr,
                    flush=True,
                )

    def close(self) -> None:
        """Stop the background thread and write the rows still queued.

        They are kept in a file first, with the rows of a batch write the thread has under
        way, before waiting for that write (see the class); when the write fails, ``kept``
        names that file and the error is raised. When the file cannot be written
        either (a full disk), the rows are lost as the process ends: ``queued`` says
        how many.
        """
        self._closed.set()
        self._wake.set()
        with suppress(OSError):
            self._keep()
        try:
            self._thread.join()
            self.flush()
        finally:
            self._release()  # the file, if still there, is now for the next log
