"""Step 1, ingest-documents: the configured documents into the bronze document table.

One row per document: doc_id, title, text, source (str), text_hash (SHA-256 of
the text) and loaded_at (UTC timestamp of the run that first saw this text). The
table is replaced in one commit with what the source holds now; an unchanged
document keeps its loaded_at, so a rerun on the same source changes nothing.
Documents that break a rule of :func:`..corpus.check_documents` (such as a NULL
``text`` in a ``table`` source) or a missing source table stop the step with one
line naming the setting, before anything is written.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pandas as pd

from ...runtime.context import Context
from ...runtime.frames import to_pandas
from .. import corpus

WRITTEN_BY = "ingest-documents"


def load_documents(ctx: Context) -> pd.DataFrame:
    """The documents of ``source`` in the config, checked (see :mod:`..corpus`).

    Raises ValueError (one line naming the setting) when they break a rule of
    :func:`..corpus.check_documents`, and LookupError when the table of kind
    ``table`` does not exist; both before anything is written.
    """
    source = ctx.settings.source
    if source["kind"] == "python_stdlib":
        frame = corpus.python_stdlib(list(source["modules"]))
        origin = "source.modules"
    elif source["kind"] == "files":
        frame = corpus.files(source["path"])
        origin = f"source.path {source['path']}"
    else:
        name = source["table"]
        origin = f"source.table {name}"
        if not ctx.spark.catalog.tableExists(name):
            raise LookupError(f"{origin}: no such table (or not visible to this principal)")
        frame = to_pandas(ctx.spark.read.table(name))
    return corpus.check_documents(frame, origin)


def run(ctx: Context) -> dict:
    """Load, check and write the documents; returns table, documents, new_or_changed, removed."""
    settings = ctx.settings
    name = settings.table("documents_bronze")
    documents = load_documents(ctx)
    documents["text_hash"] = [hashlib.sha256(t.encode()).hexdigest() for t in documents.text]
    now = pd.Timestamp(datetime.now(UTC)).tz_convert(None)
    previous = pd.DataFrame(columns=["doc_id", "text_hash", "loaded_at"])
    if ctx.tables.exists(name):
        previous = to_pandas(ctx.tables.read(name).select("doc_id", "text_hash", "loaded_at"))
    merged = documents.merge(previous, on=["doc_id", "text_hash"], how="left")
    changed = int(merged.loaded_at.isna().sum())
    merged["loaded_at"] = pd.to_datetime(merged.loaded_at).fillna(now)
    removed = len(set(previous.doc_id) - set(documents.doc_id))
    if changed or removed or not ctx.tables.exists(name):
        schema = (
            "doc_id string, title string, text string, source string, "
            "text_hash string, loaded_at timestamp"
        )
        ctx.tables.overwrite(ctx.spark.createDataFrame(merged, schema=schema), name)
    return {
        "table": name,
        "documents": len(documents),
        "new_or_changed": changed,
        "removed": removed,
    }
