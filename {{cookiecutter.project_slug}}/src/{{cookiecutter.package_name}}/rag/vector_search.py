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


def ensure_index(workspace, settings, source_table: str) -> dict:
    """Create the index on ``source_table`` when missing, else trigger a sync.

    ``workspace``: a databricks-sdk WorkspaceClient (or a fake with
    ``vector_search_indexes.get_index/create_index/sync_index``). Returns index
    (full name), endpoint and action (``created`` or ``synced``).
    """
    vector_search = settings.embedding["vector_search"]
    name = index_name(settings)
    indexes = workspace.vector_search_indexes
    try:
        indexes.get_index(name)
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
        indexes.sync_index(name)
        action = "synced"
    return {"index": name, "endpoint": vector_search["endpoint"], "action": action}
