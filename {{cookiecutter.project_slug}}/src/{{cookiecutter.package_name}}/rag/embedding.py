"""Local embeddings: scikit-learn's HashingVectorizer, which needs no downloaded weights.

A hashing embedding does not depend on the rest of the corpus, so a chunk that
did not change keeps its vector and the index step re-embeds only changed
documents. Vectors are sparse, L2-normalised and non-negative: the dot product
of two of them is their cosine similarity, in [0, 1].
"""

from __future__ import annotations

import hashlib
import json
import re

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer

from .chunking import SPLITTER

# A dotted name: ``re.sub``, ``os.path.join``, ``json.dumps`` (not ``3.14``).
DOTTED_NAME = re.compile(r"\b[^\W\d]\w*(?:\.[^\W\d]\w*)+\b")
# What the vectorizer counts; part of the index version (:func:`spec_digest`), so a change
# here re-embeds every chunk instead of mixing vectors of two kinds in one index.
ANALYZER = "words and word bigrams, English stop words left out; dotted names also as one word"


def with_dotted_names(text: str) -> str:
    """``text`` lower-cased, followed by each dotted name in it written as one word.

    ``"Use re.sub()"`` gives ``"use re.sub() re_sub"``. Words are runs of two or more
    letters, digits or underscores, and scikit-learn's English stop words are left out,
    ``re`` among them: without the joined form, "What does re.match return?" counts
    ``match`` only and finds other modules' ``match`` first. The joined names come
    after the text, so they also form word pairs with its last word and each other.
    """
    lowered = text.lower()
    joined = [name.replace(".", "_") for name in DOTTED_NAME.findall(lowered)]
    return " ".join([lowered, *joined])


def vectorizer(n_features: int) -> HashingVectorizer:
    """The hashing vectorizer of ``n_features`` dimensions used for chunks and questions
    (:data:`ANALYZER`; text prepared by :func:`with_dotted_names`)."""
    return HashingVectorizer(
        n_features=n_features,
        preprocessor=with_dotted_names,
        alternate_sign=False,
        norm="l2",
        binary=True,
        stop_words="english",
        ngram_range=(1, 2),
    )


def spec_digest(embedding: dict, chunking: dict) -> str:
    """12 hex digits of SHA-256 over what shapes the chunks and their vectors: the
    ``embedding`` and ``chunking`` settings (size, overlap), the chunking rule
    (:data:`.chunking.SPLITTER`) and :data:`ANALYZER`; a change of any re-chunks and
    re-embeds every document."""
    spec = {
        "embedding": embedding,
        "chunking": chunking,
        "splitter": SPLITTER,
        "analyzer": ANALYZER,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]


def embed(texts: list[str], n_features: int) -> sparse.csr_matrix:
    """Sparse (len(texts) x n_features) matrix of L2-normalised hashed word and bigram counts."""
    return vectorizer(n_features).transform(texts).tocsr()


def to_columns(matrix: sparse.csr_matrix) -> tuple[list[list[int]], list[list[float]]]:
    """Each row of ``matrix`` as (indices, values) lists, for the chunk table's array columns."""
    indices, values = [], []
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        indices.append(matrix.indices[start:end].astype(int).tolist())
        values.append(matrix.data[start:end].astype(float).tolist())
    return indices, values


def from_columns(indices, values, n_features: int) -> sparse.csr_matrix:
    """The sparse matrix of rows given as (indices, values) sequences (inverse of to_columns)."""
    lengths = [len(i) for i in indices]
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    flat_i = np.concatenate([np.asarray(i, dtype=np.int64) for i in indices]) if lengths else []
    flat_v = np.concatenate([np.asarray(v, dtype=float) for v in values]) if lengths else []
    return sparse.csr_matrix((flat_v, flat_i, indptr), shape=(len(indices), n_features))
