"""Independent Spark work run side by side: one thread per item, one Spark session.

A local session on few cores leaves them partly idle while one query's driver waits
(planning, a Delta commit, Python between jobs); a second query of another table fills
that time. Spark runs jobs of several threads of one session at once, classic or over
Spark Connect. Given the session, each call's thread carries the caller's job tags and,
on classic Spark, its local properties (job group, job description, scheduler pool), so
its jobs count and cancel with the caller's (:func:`inheriting_local_properties`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from .errors import error_line

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")


def inheriting_local_properties(spark: SparkSession, call: Callable[..., R]) -> Callable[..., R]:
    """``call`` wrapped to run, in whichever thread calls it, with the job tags ``spark``
    has in this thread (``SparkSession.addTag``) and, on classic Spark, the Spark local
    properties this thread has now (a copy of its own: job group, job description,
    scheduler pool, as ``SparkContext.setLocalProperty`` set them); the result and any
    error of ``call`` pass through unchanged.

    A thread Python starts does not inherit them (PySpark's pinned thread mode, its
    default on classic Spark), so without this a Spark job started there is outside the
    caller's job group and tags, which ``SparkContext.cancelJobGroup``,
    ``SparkSession.interruptTag`` and ``statusTracker().getJobIdsForGroup`` go by. Over
    Spark Connect (no job groups there) the wrapped call's thread also gets ``spark`` as
    its active session (and as the process's default one when none is set). With pinned
    thread mode off (``PYSPARK_PIN_THREAD=false``), ``call`` is returned as it is.
    Wrap once per thread: two threads given one wrapped call would share one properties
    object (PySpark's ``inheritable_thread_target``, which this uses, copies them when it
    is called). Raises what that raises for a session that has stopped.
    """
    from pyspark import inheritable_thread_target

    wrap = inheritable_thread_target(spark)
    # With pinned thread mode off PySpark hands back its argument, here the session,
    # rather than a decorator (SPARK-56247): the call then runs as it is.
    return call if wrap is spark else wrap(call)


def each_at_once(
    items: Mapping[K, V], call: Callable[[K, V], R], spark: SparkSession | None = None
) -> dict[K, R]:
    """``call(key, value)`` for every item of ``items``, each in a thread of its own, and
    wait until every call has ended. Given ``spark``, each call runs with this thread's
    Spark local properties and job tags (:func:`inheriting_local_properties`, applied to
    every call before the first starts: what it raises is raised before any call runs).

    Returns {key: result}, in the order of ``items``. When calls raise, the others still
    run to their end (no write is cut off half-way), then the error of the first key (in
    the order of ``items``) whose call raised is raised, carrying one note per later key
    whose call raised another error (``<key> raised too: <type>: <message>``, the message
    as one line: :func:`.errors.error_line`; in the order of ``items``, whichever raised
    first in time). ``str()`` of the error is unchanged; a console script prints each note
    on a line of its own after it (:func:`.entry_status.run_entry`). One item or none:
    called in this thread.
    """
    if len(items) <= 1:
        return {key: call(key, value) for key, value in items.items()}
    calls = {key: _in_thread(spark, call) for key in items}
    with ThreadPoolExecutor(max_workers=len(items), thread_name_prefix="side-by-side") as pool:
        futures = {key: pool.submit(calls[key], key, value) for key, value in items.items()}
    errors = {key: future.exception() for key, future in futures.items()}
    raised = [(key, err) for key, err in errors.items() if err is not None]
    if not raised:
        return {key: future.result() for key, future in futures.items()}
    first = raised[0][1]
    _note_others(first, raised[1:])
    del errors, raised, futures, calls  # the raised error's traceback keeps this frame, not them
    raise first


def _in_thread(spark: SparkSession | None, call: Callable[..., R]) -> Callable[..., R]:
    """``call`` as one thread of :func:`each_at_once` runs it: with this thread's local
    properties when ``spark`` is given (a wrapper of its own per thread)."""
    return call if spark is None else inheriting_local_properties(spark, call)


def _note_others(first: BaseException, others: list[tuple[object, BaseException]]) -> None:
    """Add to ``first`` a note per (key, error) of ``others``: ``<key> raised too: <type>:
    <message>``; an error that is ``first`` itself (one object raised by two calls) is
    not noted."""
    for key, err in others:
        if err is not first:
            first.add_note(f"{key} raised too: {type(err).__name__}: {_text(err)}")


def _text(err: BaseException) -> str:
    """:func:`.errors.error_line` of ``err`` (a Py4J error's message without its Java
    stack), or a placeholder when reading its message raises (a Py4J error reads it from
    the JVM, which may be gone)."""
    try:
        return error_line(err)
    except Exception:
        return "(its message could not be read)"
