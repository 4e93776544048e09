"""Mosaic AI Vector Search on Databricks: a Delta Sync index on the chunk table.

The bundle declares the vector search endpoint (resources/rag-vector-search.yml);
the index cannot be declared there because its source table, the chunk table, does
not exist at the first deploy. The index step calls :func:`ensure_index` after
writing the chunks: it creates the index the first time (which runs a first
sync) and triggers a sync on later runs. Embeddings are computed by the model
serving endpoint named in ``embedding.endpoint``. Tested with a fake client: no
workspace is reachable from the tests.
"""

from __future__ import annotations

from databricks.sdk.errors import NotFound
from databricks.sdk.service.vectorsearch import (
    DeltaSyncVectorIndexSpecRequest,
    EmbeddingSourceColumn,
    PipelineType,
    VectorIndexType,
)

SYNCED_COLUMNS = ["chunk_id", "doc_id", "title", "text", "source"]
CHANGE_DATA_FEED = "delta.enableChangeDataFeed"


def index_name(settings) -> str:
    """Full name ``<catalog>.<schema>.<embedding.vector_search.index>`` of the index."""
    return f"{settings.catalog}.{settings.schema}.{settings.embedding['vector_search']['index']}"


def enable_change_data_feed(spark, table: str) -> None:
    """Delta Sync indexes read the source table's change data feed: switch it on.

    ``table``: the table as SQL names it (``Tables.sql_name``: quoted catalog, schema
    and table on Databricks, ``delta.`<folder>``` locally). A table that has it on
    already is left alone: setting it again would commit a new table version at
    every rerun.
    """
    properties = spark.sql(f"DESCRIBE DETAIL {table}").first()["properties"] or {}
    if str(properties.get(CHANGE_DATA_FEED, "")).lower() != "true":
        spark.sql(f"ALTER TABLE {table} SET TBLPROPERTIES ({CHANGE_DATA_FEED} = true)")


def existing_index(workspace, settings):
    """The Vector Search index :func:`index_name` (a databricks-sdk ``VectorIndex``), or
    None when there is none yet."""
    try:
        return workspace.vector_search_indexes.get_index(index_name(settings))
    except NotFound:
        return None


def check_index(index, settings, source_table: str) -> None:
    """Raise ValueError (one line naming the setting) when the existing ``index`` (None:
    nothing to check) was created on another source table than ``source_table`` (from
    ``tables.chunks``), Vector Search endpoint or embedding endpoint than ``settings``
    name. A sync keeps what the index was created with, so a changed setting would be
    silently ignored: delete the index (the next index run creates it) or set it back.
    Table names are compared in lower case, as Unity Catalog stores them.
    """
    if index is None:
        return
    spec = index.delta_sync_index_spec
    columns = (spec.embedding_source_columns or []) if spec is not None else []
    found = {
        "tables.chunks": spec.source_table if spec is not None else None,
        "embedding.vector_search.endpoint": index.endpoint_name,
        "embedding.endpoint": columns[0].embedding_model_endpoint_name if columns else None,
    }
    wanted = {
        "tables.chunks": source_table,
        "embedding.vector_search.endpoint": settings.embedding["vector_search"]["endpoint"],
        "embedding.endpoint": settings.embedding["endpoint"],
    }
    # Unity Catalog keeps names in lower case: `Main.s.chunks` is the table `main.s.chunks`.
    found["tables.chunks"] = (found["tables.chunks"] or "").lower() or None
    wanted["tables.chunks"] = wanted["tables.chunks"].lower()
    for key, value in wanted.items():
        if found[key] != value:
            raise ValueError(
                f"{key}: {value!r}, but the Vector Search index {index_name(settings)} was "
                f"created with {found[key]!r}: delete the index (the next index run creates "
                "it again) or set the old value back"
            )


def ensure_index(workspace, settings, source_table: str) -> dict:
    """Create the index on ``source_table`` when missing, else trigger a sync.

    ``workspace``: a databricks-sdk WorkspaceClient (or a fake with
    ``vector_search_indexes.get_index/create_index/sync_index``). Returns index
    (full name), endpoint and action (``created`` or ``synced``). Raises ValueError
    (:func:`check_index`) when the existing index differs from the settings.
    """
    vector_search = settings.embedding["vector_search"]
    name = index_name(settings)
    indexes = workspace.vector_search_indexes
    try:
        found = indexes.get_index(name)
    except NotFound:
        indexes.create_index(
            name=name,
            endpoint_name=vector_search["endpoint"],
            primary_key="chunk_id",
            index_type=VectorIndexType.DELTA_SYNC,
            delta_sync_index_spec=DeltaSyncVectorIndexSpecRequest(
                source_table=source_table,
                pipeline_type=PipelineType.TRIGGERED,
                columns_to_sync=SYNCED_COLUMNS,
                embedding_source_columns=[
                    EmbeddingSourceColumn(
                        name="text", embedding_model_endpoint_name=settings.embedding["endpoint"]
                    )
                ],
            ),
        )
        action = "created"
    else:
        check_index(found, settings, source_table)
        indexes.sync_index(name)
        action = "synced"
    return {"index": name, "endpoint": vector_search["endpoint"], "action": action}
