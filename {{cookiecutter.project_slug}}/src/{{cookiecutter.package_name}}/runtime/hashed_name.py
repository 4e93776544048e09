"""Short file names for what a cached file depends on (local Spark's caches)."""

from __future__ import annotations

import hashlib
import json

NAME_LENGTH = 24  # hex characters: 96 bits of the hash


def hashed_name(facts: object) -> str:
    """A file name (:data:`NAME_LENGTH` lowercase hex characters) for ``facts``: the start
    of the SHA-256 of their JSON text.

    ``facts``: what ``json.dumps`` takes (dicts, lists, strings, numbers, booleans, None,
    nested), in an order of their own (a dict's keys are not sorted). Equal facts give
    the same name, and a change to any of them another. Raises TypeError for a value JSON
    cannot hold (a Path, a set).
    """
    return hashlib.sha256(json.dumps(facts).encode("utf-8")).hexdigest()[:NAME_LENGTH]
