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
batch, never one per request. Rows its last write could not append are kept in a
JSON-lines file (:func:`unwritten_folder`) and appended by the next log opened for
the same folder, so stopping the server while the table cannot be written loses none.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from contextlib import suppress
from datetime import UTC, date, datetime
from pathlib import Path

from pyspark.sql import types as T

from ..runtime.context import Context
from ..settings_file import ConfigError

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
    """Folder of the rows the inference log could not append when it closed:
    ``<local_root>/serving/unwritten``; with no local root (the Databricks runtime),
    ``local_runtime/serving/unwritten`` under the current directory (git-ignored)."""
    return Path(settings.local_root or "local_runtime").joinpath("serving", "unwritten")


def _to_json(row: dict) -> str:
    return json.dumps(
        {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()}, sort_keys=True
    )


def read_unwritten(path: Path) -> list[dict]:
    """The inference-table rows of a file the log kept (see :class:`InferenceLog`).

    Raises ValueError naming the file when a line is not such a row (a file edited by
    hand, say): move the file away to start without it.
    """
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            row = json.loads(line)
            row["request_date"] = date.fromisoformat(row["request_date"])
            row["request_time"] = datetime.fromisoformat(row["request_time"])
        except (ValueError, TypeError, KeyError) as err:
            raise ValueError(
                f"{path}:{number}: not an inference-table row ({err}); move the file away "
                "to start without its requests"
            ) from None
        rows.append(row)
    return rows


def _positive(settings, key: str) -> float:
    value = (settings.raw.get("serving") or {}).get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"serving.{key}: must be a positive number, got {value!r}")
    return value


class InferenceLog:
    """Buffers inference-table rows and appends them to the table in batches.

    :meth:`add` is cheap and thread-safe. A background thread writes the buffer
    when it holds ``serving.log_flush_rows`` rows or every ``serving.log_flush_seconds``
    seconds; :meth:`close` writes what is left. A failed write keeps its rows in the
    buffer for the next attempt. ``written`` counts the rows appended so far, ``commits``
    the appends. Raises ConfigError for a non-positive setting.

    When the write of :meth:`close` fails, the queued rows go to a new file
    ``<table>-<UTC stamp>-<id>.jsonl`` in :func:`unwritten_folder` (``kept`` names it)
    and the error is raised. A log opened later for the same table queues the rows of
    those files first (``recovered`` counts them) and deletes the files once a write has
    appended them, so they are written once.
    """

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.table = ctx.settings.table("inference_table")
        self.flush_rows = int(_positive(ctx.settings, "log_flush_rows"))
        self.flush_seconds = float(_positive(ctx.settings, "log_flush_seconds"))
        self.commits = 0
        self.written = 0
        self.kept: Path | None = None
        self.kept_rows = 0
        self._folder = unwritten_folder(ctx.settings)
        self._pending = sorted(self._folder.glob(f"{self.table}-*.jsonl"))
        self._rows: list[dict] = [row for path in self._pending for row in read_unwritten(path)]
        self.recovered = len(self._rows)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="inference-log", daemon=True)
        self._thread.start()

    @property
    def queued(self) -> int:
        """Rows waiting for the next write."""
        with self._lock:
            return len(self._rows)

    def add(self, row: dict) -> None:
        """Queue one row (from :func:`log_row`)."""
        with self._lock:
            self._rows.append(row)
            full = len(self._rows) >= self.flush_rows
        if full:
            self._wake.set()

    def flush(self) -> int:
        """Append the queued rows in one commit; return how many were written."""
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        try:
            frame = self.ctx.spark.createDataFrame(rows, SCHEMA)
            writer = frame.write.format("delta").mode("append")
            if self.ctx.settings.runtime == "local":
                writer.save(str(self.ctx.tables.path(self.table)))
            else:
                writer.saveAsTable(self.table)
        except Exception:
            with self._lock:
                self._rows[:0] = rows
            raise
        self.commits += 1
        self.written += len(rows)
        self._forget_pending()  # their rows were queued first, so this write held them
        return len(rows)

    def _forget_pending(self) -> None:
        for path in self._pending:
            path.unlink(missing_ok=True)
        self._pending = []

    def _keep(self) -> None:
        """Write the queued rows to a new file of the unwritten folder (temp file, then rename)."""
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self._folder / f"{self.table}-{stamp}-{uuid.uuid4().hex[:8]}.jsonl"
        part = path.with_suffix(".part")
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            part.write_text("".join(_to_json(row) + "\n" for row in rows), encoding="utf-8")
            os.replace(part, path)
        except OSError:
            part.unlink(missing_ok=True)
            with self._lock:
                self._rows[:0] = rows
            raise
        self._forget_pending()  # their rows are in the new file now
        self.kept, self.kept_rows = path, len(rows)

    def _loop(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            try:
                self.flush()
            except Exception as err:  # keep serving; the rows stay queued
                print(f"inference table {self.table}: write failed, will retry: {err}")

    def close(self) -> None:
        """Stop the background thread and write the rows still queued.

        When that write fails, the rows go to a file (``kept``, see the class) and the
        error is raised.
        """
        self._closed.set()
        self._wake.set()
        self._thread.join()
        try:
            self.flush()
        except Exception:
            with suppress(OSError):  # then the rows stay queued (``queued``)
                self._keep()
            raise
