"""Split documents into overlapping chunks of about ``size`` characters."""

from __future__ import annotations

import hashlib

import pandas as pd

CHUNK_COLUMNS = ["chunk_id", "doc_id", "chunk_index", "title", "text", "source", "chunk_hash"]
# How :func:`split_text` cuts a text; part of the index version (``embedding.spec_digest``,
# beside ``size`` and ``overlap``), so a change of the rule re-chunks every document instead
# of keeping the old rule's chunks for the documents that did not change.
SPLITTER = "words at white space; pieces of at most size characters; whole-word overlap"


def split_text(text: str, size: int, overlap: int) -> list[str]:
    """``text`` cut at whitespace into pieces of at most ``size`` characters.

    Each piece after the first starts with the last ``overlap`` characters (or
    fewer, to a word boundary) of the one before, fewer still when its first new word
    needs the room: a piece never grows past ``size`` for its overlap. A single word
    longer than ``size`` becomes a piece of its own. Raises ValueError unless
    0 <= overlap < size.
    """
    if not 0 <= overlap < size:
        raise ValueError(f"chunking: overlap {overlap} must be in [0, size={size})")
    words = text.split()
    pieces: list[str] = []
    current: list[str] = []
    length = 0
    for word in words:
        if current and length + 1 + len(word) > size:
            pieces.append(" ".join(current))
            tail: list[str] = []
            kept = 0  # the tail's length plus one: its words and a blank after each
            room = min(overlap, size - len(word))  # the tail, its last blank and ``word`` fit
            for previous in reversed(current):
                if kept + len(previous) + 1 > room:
                    break
                tail.insert(0, previous)
                kept += len(previous) + 1
            current, length = tail, max(kept - 1, 0)
        current.append(word)
        length += len(word) + (1 if length else 0)
    if current:
        pieces.append(" ".join(current))
    return pieces


def chunk_documents(documents: pd.DataFrame, size: int, overlap: int) -> pd.DataFrame:
    """Chunks of ``documents`` (columns doc_id, title, text, source).

    Returns the columns of ``CHUNK_COLUMNS``: ``chunk_id`` is ``<doc_id>#<n>``
    (n from 0), ``chunk_hash`` the SHA-256 of the chunk text with its title.
    """
    rows = []
    for doc in documents.itertuples(index=False):
        for n, piece in enumerate(split_text(doc.text, size, overlap)):
            digest = hashlib.sha256(f"{doc.title}\n{piece}".encode()).hexdigest()
            rows.append((f"{doc.doc_id}#{n}", doc.doc_id, n, doc.title, piece, doc.source, digest))
    return pd.DataFrame(rows, columns=CHUNK_COLUMNS)
