"""Retrievers: the top-k chunks for a question, each with its similarity score.

A retrieved chunk is a dict with ``chunk_id``, ``doc_id``, ``title``, ``text``
(str) and ``score`` (float, cosine similarity in [0, 1], higher is closer).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .embedding import embed, from_columns


class HashingRetriever:
    """Exact cosine search over the hashed chunk vectors held in memory.

    ``chunks``: the chunk table's columns chunk_id, doc_id, title, text,
    embedding_indices and embedding_values (see the index step).
    """

    def __init__(self, chunks: pd.DataFrame, n_features: int):
        self.chunks = chunks.reset_index(drop=True)
        self.n_features = n_features
        self.matrix = from_columns(
            list(chunks.embedding_indices), list(chunks.embedding_values), n_features
        )

    def scores(self, question: str) -> np.ndarray:
        """Cosine similarity of ``question`` to every chunk, in chunk order."""
        query = embed([question], self.n_features)
        return np.asarray((self.matrix @ query.T).todense()).reshape(-1)

    def _rows(self, positions, scores) -> list[dict]:
        columns = ["chunk_id", "doc_id", "title", "text"]
        return [
            {**{c: str(self.chunks.at[int(p), c]) for c in columns}, "score": float(scores[p])}
            for p in positions
        ]

    def retrieve(self, question: str, k: int) -> list[dict]:
        """The ``k`` chunks closest to ``question``, best first (ties by chunk order)."""
        scores = self.scores(question)
        order = np.argsort(-scores, kind="stable")[:k]
        return self._rows(order, scores)


class RandomRetriever(HashingRetriever):
    """A floor for the evaluation gate: ``k`` chunks drawn at random (true scores attached)."""

    def __init__(self, chunks: pd.DataFrame, n_features: int, seed: int = 0):
        super().__init__(chunks, n_features)
        self.rng = np.random.default_rng(seed)

    def retrieve(self, question: str, k: int) -> list[dict]:
        """``k`` distinct chunks chosen at random, whatever the question."""
        positions = self.rng.choice(len(self.chunks), size=min(k, len(self.chunks)), replace=False)
        return self._rows(positions, self.scores(question))


class VectorSearchRetriever:
    """Mosaic AI Vector Search: the index synced from the chunk table (Databricks only).

    ``workspace`` is a ``databricks.sdk.WorkspaceClient`` (tests pass a fake with
    ``vector_search_indexes.query_index``); ``index_name`` the full index name.
    """

    COLUMNS = ["chunk_id", "doc_id", "title", "text"]

    def __init__(self, workspace, index_name: str):
        self.workspace = workspace
        self.index_name = index_name

    def retrieve(self, question: str, k: int) -> list[dict]:
        """The ``k`` best chunks by the index's similarity (the score is its last column)."""
        response = self.workspace.vector_search_indexes.query_index(
            self.index_name, self.COLUMNS, query_text=question, num_results=k
        )
        rows = (response.result.data_array if response.result else None) or []
        return [
            {**dict(zip(self.COLUMNS, map(str, row[:4]), strict=True)), "score": float(row[-1])}
            for row in rows
        ]
