"""Independent Spark work run side by side: one thread per item, one Spark session.

A local session on few cores leaves them partly idle while one query's driver waits
(planning, a Delta commit, Python between jobs); a second query of another table fills
that time. Spark runs jobs of several threads of one session at once, classic or over
Spark Connect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")


def each_at_once(items: Mapping[K, V], call: Callable[[K, V], R]) -> dict[K, R]:
    """``call(key, value)`` for every item of ``items``, each in a thread of its own, and
    wait until every call has ended.

    Returns {key: result}, in the order of ``items``. When calls raise, the others still
    run to their end (no write is cut off half-way), then the error of the first key (in
    the order of ``items``) whose call raised is raised, carrying one note per later key
    whose call raised too (``<key> raised too: <type>: <message>``, in the order of
    ``items``; ``str()`` of the error, the one line a console script prints, is unchanged).
    One item or none: called in this thread.
    """
    if len(items) <= 1:
        return {key: call(key, value) for key, value in items.items()}
    with ThreadPoolExecutor(max_workers=len(items), thread_name_prefix="side-by-side") as pool:
        futures = {key: pool.submit(call, key, value) for key, value in items.items()}
    errors = {key: future.exception() for key, future in futures.items()}
    raised = [(key, err) for key, err in errors.items() if err is not None]
    if raised:
        _, first = raised[0]
        for key, err in raised[1:]:
            first.add_note(f"{key} raised too: {type(err).__name__}: {err}")
        raise first
    return {key: future.result() for key, future in futures.items()}
