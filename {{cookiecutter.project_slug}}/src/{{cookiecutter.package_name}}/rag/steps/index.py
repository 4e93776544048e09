"""Step 2, index: chunk the documents, embed the chunks, write the chunk table.

The chunk table is keyed by ``chunk_id`` (``<doc_id>#<n>``) with doc_id,
chunk_index, title, text, source, chunk_hash, doc_hash (the document's
text_hash), spec (digest of the chunking and embedding settings and rules:
:func:`..embedding.spec_digest`) and the sparse
embedding as ``embedding_indices`` (array<int>) and ``embedding_values``
(array<double>). The hashing embedding does not depend on the rest of the
corpus, so only documents whose text or settings changed are re-chunked and
re-embedded; their old chunks, and those of removed documents, are replaced in
the same commit. With ``embedding.kind: databricks_endpoint`` the vectors are
left empty here, change data feed is switched on for the table (a Delta Sync index
reads it) and the Vector Search index, synced from this table, computes them.
"""

from __future__ import annotations

import pandas as pd

from ...runtime.context import Context
from ...runtime.frames import to_pandas
from ..chunking import chunk_documents
from ..embedding import embed, spec_digest, to_columns
from ..index_version import index_version

CHUNK_SCHEMA = (
    "chunk_id string, doc_id string, chunk_index int, title string, text string, "
    "source string, chunk_hash string, doc_hash string, spec string, "
    "embedding_indices array<int>, embedding_values array<double>"
)


def _quoted(values) -> str:
    return ", ".join("'" + str(v).replace("'", "''") + "'" for v in sorted(values))


def embedded_chunks(documents: pd.DataFrame, settings, spec: str) -> pd.DataFrame:
    """Chunks of ``documents`` (with text_hash) and their vectors, as chunk-table rows."""
    chunking = settings.chunking
    chunks = chunk_documents(documents, chunking["size"], chunking["overlap"])
    hashes = dict(zip(documents.doc_id, documents.text_hash, strict=True))
    chunks["doc_hash"] = chunks.doc_id.map(hashes)
    chunks["spec"] = spec
    if settings.embedding["kind"] == "hashing" and len(chunks):
        texts = (chunks.title + "\n" + chunks.text).tolist()
        indices, values = to_columns(embed(texts, int(settings.embedding["n_features"])))
    else:
        indices, values = [[] for _ in range(len(chunks))], [[] for _ in range(len(chunks))]
    chunks["embedding_indices"], chunks["embedding_values"] = indices, values
    return chunks


def run(ctx: Context, workspace=None) -> dict:
    """Bring the chunk table up to date with the document table.

    Returns table, documents, documents_embedded (re-chunked this run),
    documents_removed, chunks (rows now), index_version (see
    :func:`..index_version.index_version`) and vector_search (None locally).
    Raises MissingTableError when the document table is missing, and ValueError
    (:func:`..vector_search.check_index`) when the Vector Search index exists with other
    settings, before anything is written.
    """
    settings = ctx.settings
    name = settings.table("chunks")
    searched = settings.embedding["kind"] == "databricks_endpoint"
    if searched:
        from .. import vector_search

        if workspace is None:
            from databricks.sdk import WorkspaceClient

            workspace = WorkspaceClient()
        found = vector_search.existing_index(workspace, settings)
        vector_search.check_index(found, settings, name)
    documents = to_pandas(
        ctx.tables.read(settings.table("documents_bronze"), "ingest-documents").select(
            "doc_id", "title", "text", "source", "text_hash"
        )
    )
    spec = spec_digest(settings.embedding, settings.chunking)
    indexed = {}
    if ctx.tables.exists(name):
        current = to_pandas(ctx.tables.read(name).select("doc_id", "doc_hash", "spec").distinct())
        indexed = {row.doc_id: (row.doc_hash, row.spec) for row in current.itertuples()}
    stale = documents[
        [
            indexed.get(d) != (h, spec)
            for d, h in zip(documents.doc_id, documents.text_hash, strict=True)
        ]
    ]
    removed = set(indexed) - set(documents.doc_id)
    if len(stale) or removed or not ctx.tables.exists(name):
        rows = ctx.spark.createDataFrame(embedded_chunks(stale, settings, spec), CHUNK_SCHEMA)
        predicate = f"doc_id IN ({_quoted(set(stale.doc_id) | removed)})"
        ctx.tables.replace_where(rows, name, predicate)
    table = to_pandas(ctx.tables.read(name).select("chunk_id", "chunk_hash", "spec"))
    result = {
        "table": name,
        "documents": len(documents),
        "documents_embedded": len(stale),
        "documents_removed": len(removed),
        "chunks": len(table),
        "index_version": index_version(table),
        "vector_search": None,
    }
    if searched:
        vector_search.enable_change_data_feed(ctx.spark, ctx.tables.sql_name(name))
        result["vector_search"] = vector_search.ensure_index(workspace, settings, name)
    return result
