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
batch, never one per request.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime

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
    """

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.table = ctx.settings.table("inference_table")
        self.flush_rows = int(_positive(ctx.settings, "log_flush_rows"))
        self.flush_seconds = float(_positive(ctx.settings, "log_flush_seconds"))
        self.commits = 0
        self.written = 0
        self._rows: list[dict] = []
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
        return len(rows)

    def _loop(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            try:
                self.flush()
            except Exception as err:  # keep serving; the rows stay queued
                print(f"inference table {self.table}: write failed, will retry: {err}")

    def close(self) -> None:
        """Stop the background thread and write the rows still queued."""
        self._closed.set()
        self._wake.set()
        self._thread.join()
        self.flush()
