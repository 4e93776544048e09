"""The index version: a digest of what the retriever searches, so unchanged data keeps it."""

from __future__ import annotations

import hashlib

import pandas as pd


def index_version(chunks: pd.DataFrame) -> str:
    """12 hex digits of SHA-256 over the sorted (chunk_id, chunk_hash, spec) rows of ``chunks``.

    The same chunks embedded with the same settings give the same version; any
    added, removed or changed chunk, or new embedding settings, give a new one.
    """
    digest = hashlib.sha256()
    rows = chunks[["chunk_id", "chunk_hash", "spec"]].sort_values("chunk_id")
    for row in rows.itertuples(index=False):
        digest.update("\t".join(map(str, row)).encode() + b"\n")
    return digest.hexdigest()[:12]
